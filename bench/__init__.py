"""HTTP and first-visit benchmarks for aftercare (run with `make bench`; see bench/README.md)."""
