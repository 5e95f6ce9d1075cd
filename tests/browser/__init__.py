"""Real-browser tests: headless Chromium (Debian's build) against a live aftercare server."""
