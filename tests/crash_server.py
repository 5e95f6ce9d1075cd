"""A real aftercare server for the crash tests and the scanners, run as a process of its own so it
can be SIGKILLed (`Server` below starts, waits for and kills it).

    python -m tests.crash_server

The environment names the database (AFTERCARE_DATABASE_URL, production mode as deployed), the
port (CRASH_PORT, the same after every restart), the
point at which a marked mood entry stops (CRASH_POINT) and the file to touch when it got there
(CRASH_MARKER). A request carrying `X-Crash: 1` that reaches the point touches the marker and
sleeps until the test kills the process; every other request is served as usual, so the same
server takes the phone's replay after a restart. With CRASH_POINT=none it is a plain server.

The points, around one mood entry:
- before-commit: inside the entry's transaction, after its row and its day's rollup are written;
- after-commit: the transaction has committed, the answer is not yet built;
- mid-response: the answer's headers and the first half of its body have been sent.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from flask import request
from werkzeug.serving import make_server

from aftercare import create_app
from aftercare.selfreports import mood
from aftercare.selfreports import windows
from bench.client import request as http_request

POINT = os.environ.get("CRASH_POINT", "none")
MARKER = Path(os.environ.get("CRASH_MARKER", os.devnull))
ROOT = Path(__file__).resolve().parent.parent


def stop_here() -> None:
    MARKER.write_text(POINT)
    time.sleep(120)  # the test kills the process long before this ends


def marked() -> bool:
    return request.headers.get("X-Crash") == "1"


def before_commit(original):
    def add(*args, **kwargs):
        original(*args, **kwargs)
        if marked():
            stop_here()

    return add


def after_commit(original):
    def submit(*args, **kwargs):
        result = original(*args, **kwargs)
        if marked():
            stop_here()
        return result

    return submit


def mid_response(wsgi_app):
    def app(environ, start_response):
        if environ.get("HTTP_X_CRASH") != "1":
            return wsgi_app(environ, start_response)
        body = b"".join(wsgi_app(environ, start_response))

        def halves():
            yield body[: len(body) // 2]
            stop_here()
            yield body[len(body) // 2 :]

        return halves()

    return app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """The crash server as a process: started, waited for, killed, started again on the same port."""

    def __init__(self, database_url: str, point: str = "none", marker: Path | None = None, log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
        self.env = env | {
            "AFTERCARE_DATABASE_URL": database_url,
            "AFTERCARE_ENV": "production",
            "AFTERCARE_SECRET_KEY": secrets.token_hex(32),
            "AFTERCARE_BASE_URL": self.url,
            "CRASH_POINT": point,
            "CRASH_MARKER": str(marker or os.devnull),
            "CRASH_PORT": str(self.port),
        }
        self.log = log  # where the server's request log goes (each request on a line), if anywhere
        self.process = None

    def start(self) -> None:
        log = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed below; the child keeps its own
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.crash_server"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        finally:
            if self.log:
                log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http_request(self.url, "GET", "/login")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("the crash server did not start")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def main() -> None:
    app = create_app()
    if POINT == "before-commit":
        windows.add = before_commit(windows.add)
    elif POINT == "after-commit":
        mood.submit = after_commit(mood.submit)
    elif POINT == "mid-response":
        app.wsgi_app = mid_response(app.wsgi_app)
    elif POINT != "none":  # "none": a plain server (the scanners' target)
        raise SystemExit(f"unknown CRASH_POINT {POINT!r}")
    make_server("127.0.0.1", int(os.environ["CRASH_PORT"]), app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
