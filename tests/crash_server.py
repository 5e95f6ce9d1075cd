"""A real aftercare server for the crash tests, run as a process of its own so it can be SIGKILLed.

    python -m tests.crash_server

The environment names the database (AFTERCARE_DATABASE_URL, production mode as deployed), the
port (CRASH_PORT, the same after every restart), the
point at which a marked mood entry stops (CRASH_POINT) and the file to touch when it got there
(CRASH_MARKER). A request carrying `X-Crash: 1` that reaches the point touches the marker and
sleeps until the test kills the process; every other request is served as usual, so the same
server takes the phone's replay after a restart.

The points, around one mood entry:
- before-commit: inside the entry's transaction, after its row and its day's rollup are written;
- after-commit: the transaction has committed, the answer is not yet built;
- mid-response: the answer's headers and the first half of its body have been sent.
"""

import os
import time
from pathlib import Path

from flask import request
from werkzeug.serving import make_server

from aftercare import create_app
from aftercare.selfreports import mood
from aftercare.selfreports import windows

POINT = os.environ["CRASH_POINT"]
MARKER = Path(os.environ["CRASH_MARKER"])


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
