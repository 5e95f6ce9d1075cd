"""A loopback push service in a process of its own, for the dispatch benchmark.

    python -m bench.push_service --devices 1000 --decrypt-every 100 --out subscriptions.json

It is the test suite's receiver (tests/push_receiver.py: every push's VAPID token and TTL are
checked, one in `--decrypt-every` is decrypted), on plain http, as the design's goal asks:
TLS to loopback alone caps near 800 messages/s here. It writes the subscriptions to `--out`, then
serves until SIGTERM or SIGINT and prints what it counted as one JSON line.
"""

import argparse
import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path

from tests.push_receiver import PushReceiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--decrypt-every", type=int, default=100)
    parser.add_argument("--expect-key", default=None, help="the VAPID public key every push must carry")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with PushReceiver(decrypt_every=args.decrypt_every, expect_key=args.expect_key) as receiver:
        subscriptions = [receiver.subscription(f"d{n}") for n in range(args.devices)]
        cpu_before = time.process_time()
        written = {"host_entry": receiver.host_entry, "subscriptions": subscriptions}
        partial = args.out.with_suffix(".tmp")
        partial.write_text(json.dumps(written))
        partial.rename(args.out)  # appears whole, so the benchmark never reads half a file
        stop.wait()
        statuses = Counter(attempt.status for attempt in receiver.attempts)
        decrypted = receiver.messages
        print(
            json.dumps(
                {
                    "accepted": receiver.count,
                    "decrypted": len(decrypted),
                    "decrypted_ok": sum(1 for m in decrypted if isinstance(m.json, dict) and "notification" in m.json),
                    "topics": len({m.topic for m in decrypted}),
                    "statuses": {str(k): v for k, v in statuses.items()},
                    "cpu_seconds": time.process_time() - cpu_before,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
