"""Profile one benchmarked route in-process and say where its time goes.

    python -m bench.profile_app home   # GET /home as the Today patient
    python -m bench.profile_app mood   # POST /api/v1/mood

Makes the same clinic as the benchmark (bench/prepare.py) in a temporary database, signs in
through the real forms with Flask's test client, then runs the route under cProfile. The
summary groups own time (cProfile's tottime) by where the code lives; gunicorn and the
network are not in it (the bare baseline measures those).
"""

import argparse
import cProfile
import json
import os
import pstats
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from .servers import REPO

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
# (label, test on "file:function") in order; the first that matches takes the time.
AREAS = (
    ("SQLite (sqlite3 execute, commit, fetch)", lambda where: "sqlite3." in where),
    ("peewee (building queries, reading rows)", lambda where: "peewee.py" in where or "playhouse" in where),
    ("Jinja (templates)", lambda where: "jinja2" in where or "/templates/" in where or "markupsafe" in where),
    (
        "Flask, Werkzeug, flask-login, flask-wtf",
        lambda where: re.search(r"/(flask|werkzeug|flask_login|flask_wtf)", where),
    ),
    ("aftercare's own code", lambda where: "/aftercare/" in where),
)


def parse_args(argv=None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("route", choices=("home", "mood"))
    parser.add_argument("--requests", type=int, default=500, help="profiled requests (default 500)")
    parser.add_argument("--top", type=int, default=25, help="functions to list (default 25)")
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative (default) or tottime")
    parser.add_argument(
        "--from-database",
        type=Path,
        metavar="FILE",
        help="profile on a copy of this clinic (made by `demo --scale N`) instead of bench/prepare.py's small one",
    )
    return parser.parse_args(argv)


def make_database(workdir: Path, source: Path | None = None) -> dict:
    """Migrate and fill a database like the benchmark's; set the environment to use it."""
    if source:
        # A consistent copy even if the clinic is in WAL mode with pages not yet checkpointed.
        with sqlite3.connect(source) as origin, sqlite3.connect(workdir / "profile.db") as copy:
            origin.backup(copy)
    os.environ.update(
        AFTERCARE_SECRET_KEY=secrets.token_hex(32),
        AFTERCARE_DATABASE_URL=f"sqlite:///{workdir / 'profile.db'}",
        AFTERCARE_BASE_URL="https://localhost",
        # Production, as the benchmark serves it; the test client speaks https so the Secure
        # __Host- session cookie goes back.
        AFTERCARE_ENV=os.environ.get("AFTERCARE_ENV", "production"),
        PYTHONPATH=str(REPO),
    )
    run = {"cwd": REPO, "check": True, "capture_output": True, "text": True}
    subprocess.run([sys.executable, "-m", "flask", "--app", "aftercare", "db", "migrate"], **run)
    patients = ["--patients", "0"] if source else []  # the copied clinic has its patients
    done = subprocess.run([sys.executable, "-m", "bench.prepare", "--mood-patients", "1", *patients], **run)
    return json.loads(done.stdout.strip().splitlines()[-1])


def signed_in_client(app, account: dict):
    """Return a test client signed in through the real form, and a CSRF token for the API."""
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True))[1]
    form = {"email": account["email"], "password": account["password"], "csrf_token": token, "remember_device": "y"}
    if client.post("/login", data=form).status_code != 302:
        raise SystemExit(f"could not sign in as {account['email']}")
    return client, client.get("/api/v1/csrf").get_json()["csrf_token"]


def area_of(key: tuple) -> str:
    """Return the area a profiled function belongs to."""
    where = f"{key[0]}:{key[2]}"
    return next((label for label, test in AREAS if test(where)), "other (standard library, argon2, json...)")


def summarise(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Return own time per area, largest first."""
    totals: dict[str, float] = {}
    for key, (_, _, own, _, callers) in stats.stats.items():
        if key[0] == "~" and "sqlite3." not in key[2]:
            # A builtin (isinstance, str.join...) counts where it was called from.
            shares = {}
            for caller, (_, _, caller_own, _) in callers.items():
                shares[area_of(caller)] = shares.get(area_of(caller), 0.0) + caller_own
        else:
            shares = {area_of(key): own}
        for area, seconds in shares.items():
            totals[area] = totals.get(area, 0.0) + seconds
    return sorted(totals.items(), key=lambda item: -item[1])


def main(argv=None) -> None:
    """Profile the route and print the summary."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="aftercare-profile-") as workdir:
        accounts = make_database(Path(workdir), args.from_database)
        from aftercare import create_app

        app = create_app()
        if args.route == "home":
            client, _ = signed_in_client(app, accounts["today"])

            def call():
                return client.get("/home")
        else:
            client, csrf = signed_in_client(app, accounts["mood"][0])

            def call():
                body = {"client_id": str(uuid.uuid4()), "score": 5, "note": "", "tags": []}
                return client.post("/api/v1/mood", json=body, headers={"X-CSRFToken": csrf})

        for _ in range(50):  # warm caches (templates, zoneinfo, the pool) before measuring
            assert call().status_code in (200, 201)
        started = time.perf_counter()
        for _ in range(args.requests):
            call()
        plain_ms = (time.perf_counter() - started) * 1000 / args.requests
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            call()
        profiler.disable()
        app.extensions["aftercare_db"].close_all()
    stats = pstats.Stats(profiler)
    total = sum(own for _, own in summarise(stats))
    print(f"{args.route}: {plain_ms:.2f} ms per request without the profiler (one process, test client)")
    statements = sum(v[1] for k, v in stats.stats.items() if "sqlite3." in k[2] and "execute" in k[2])
    print(f"{statements / args.requests:.1f} SQL statements per request")
    print(f"own time by area, under the profiler ({args.requests} requests; it slows Python more than C):")
    for label, own in summarise(stats):
        print(f"  {100 * own / total:5.1f}%  {label}")
    print()
    stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
