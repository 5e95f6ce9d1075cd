"""Scale-out on PostgreSQL: two app instances on one database, and two reminder workers on one queue.

    python -m bench.scaleout --postgres postgresql://postgres@127.0.0.1:5432/postgres [--duration 10]

`--postgres` names a server (any database on it); the benchmark makes two databases of its own
there (`aftercare_scaleout`, `aftercare_scaleout_dispatch`, dropped first if they exist).

1. **Two app instances.** Two gunicorn masters (`--workers 2` each, the same secret key, on two
   ports) serve one migrated database with the benchmark's clinic (bench/prepare.py). The 20 mood
   patients sign in once; their sessions work on either instance. Each round measures the mood API
   on one instance alone (wrk, 16 connections), then on both at once (two wrk runs, 8 connections
   each, at the same time); the ratio is the two instances' combined rate over the one's.
2. **Checks**, after every run: every entry an instance acknowledged with 201 is stored, none twice,
   no answer was a replay, and no more rows were added than requests still in flight.
3. **Two reminder workers** (bench/dispatch.py on the second database): 10,000 due reminders, two
   dispatcher processes sharing the queue, each push accepted exactly once by the loopback push
   service.

On a machine of two cores, the two instances share the same cores: the figure says that a second
instance on one database costs nothing in correctness and little in speed, not that it doubles it;
on a second machine the second instance brings its own cores.
"""

import argparse
import json
import secrets
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import psycopg

from . import dispatch
from .client import sign_in
from .load import Load
from .load import run_wrk
from .run import app_env
from .run import check_rows
from .run import flask
from .run import MoodRows
from .run import prepare_data
from .servers import Server

DATABASES = ("aftercare_scaleout", "aftercare_scaleout_dispatch")


def fresh_databases(server_url: str) -> list[str]:
    """Drop and create the benchmark's databases; return their URLs."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in DATABASES:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return [urlunsplit(parts._replace(path=f"/{name}")) for name in DATABASES]


class Rows(MoodRows):
    """The client_ids stored for the mood patients, read from PostgreSQL (settling as MoodRows does)."""

    def __init__(self, url: str, patient_ids: list[int]):
        self.url, self.patient_ids = url, patient_ids

    def ids(self) -> list[str]:
        with psycopg.connect(self.url) as conn:
            query = "SELECT client_id FROM mood_entry WHERE patient_id = ANY(%s)"
            return [row[0] for row in conn.execute(query, (self.patient_ids,))]


def measure(servers: list[Server], load: Load, connections: int, seconds: float, tmp: Path) -> list:
    """Run wrk against each server at the same time, `connections` each; return the runs."""
    runs: list = [None] * len(servers)

    def one(n: int) -> None:
        workdir = tmp / f"wrk-{n}"
        workdir.mkdir(exist_ok=True)
        runs[n] = run_wrk(
            servers[n], load, seconds=seconds, threads=1, connections=connections, cpu=None, workdir=workdir
        )

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(servers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


def checked(runs: list, rows: Rows, before: set, connections: int, problems: list) -> None:
    """Check the stored rows against every run's acknowledgements (all runs together)."""
    after = rows.settled_ids()
    everything = runs[0]
    for run in runs[1:]:
        everything.acked = everything.acked + run.acked
        for status, count in run.statuses.items():
            everything.statuses[status] = everything.statuses.get(status, 0) + count
    problems += check_rows(everything, before, after, connections * len(runs))
    for run in runs:
        bad = {s: n for s, n in run.statuses.items() if not 200 <= s < 300}
        if bad or run.socket_errors:
            problems.append(f"{run.server}: non-2xx {bad}, socket errors {run.errors}")


def run(server_url: str, *, seconds: float, rounds: int, mood_patients: int) -> dict:
    mood_url, dispatch_url = fresh_databases(server_url)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aftercare-scaleout-") as tmp_name:
        tmp = Path(tmp_name)
        secret = secrets.token_hex(32)
        env = app_env(tmp, 0, secret) | {"AFTERCARE_DATABASE_URL": mood_url}
        flask(env, "db", "migrate")
        accounts = prepare_data(env, None, mood_patients, 1)
        servers = []
        try:
            for name in ("app-a", "app-b"):
                server = Server(name, "aftercare:create_app()", env={}, workdir=tmp, workers=2)
                server.env = app_env(tmp, server.port, secret) | {"AFTERCARE_DATABASE_URL": mood_url}
                servers.append(server.start("/login"))
            patients = [sign_in(servers[0].url, a["email"], a["password"]) for a in accounts["mood"]]
            with psycopg.connect(mood_url) as conn:
                emails = [p.email for p in patients]
                ids = [r[0] for r in conn.execute('SELECT id FROM "user" WHERE email = ANY(%s)', (emails,))]
            rows = Rows(mood_url, ids)
            load = Load("/api/v1/mood", "mood", sessions=[(p.cookie_header, p.csrf_token) for p in patients])
            measure(servers, load, 8, 2, tmp)  # warm-up, both
            one, two = [], []
            for number in range(1, rounds + 1):
                before = set(rows.settled_ids())
                single = measure(servers[:1], load, 16, seconds, tmp)
                checked(single, rows, before, 16, problems)
                before = set(rows.settled_ids())
                both = measure(servers, load, 8, seconds, tmp)
                combined = sum(r.rps for r in both)
                checked(both, rows, before, 8, problems)
                one.append(single[0].rps)
                two.append(combined)
                print(
                    f"  round {number}: one instance {single[0].rps:.0f} req/s (p95 {single[0].p95_ms:.0f} ms), "
                    f"two instances {combined:.0f} req/s (p95 {max(r.p95_ms for r in both):.0f} ms)",
                    flush=True,
                )
        finally:
            for server in servers:
                server.stop()
        print("  two reminder workers on one PostgreSQL queue: 10,000 reminders", flush=True)
        (tmp / "dispatch").mkdir()
        dispatched = dispatch.run(tmp / "dispatch", database_url=dispatch_url)
        problems += [f"dispatch: {p}" for p in dispatched["problems"]]
    ratios = sorted(b / a for a, b in zip(one, two, strict=True))
    return {
        "one_instance_rps": one,
        "two_instances_rps": two,
        "ratio_median": ratios[len(ratios) // 2],
        "dispatch_seconds": dispatched["seconds"],
        "dispatch_sent": [p["sent"] for p in dispatched["passes"]],
        "problems": problems,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="a PostgreSQL server URL (any database on it)")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mood-patients", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.postgres, seconds=args.duration, rounds=args.rounds, mood_patients=args.mood_patients)
    print(
        f"one instance {', '.join(f'{x:.0f}' for x in result['one_instance_rps'])} req/s; two instances "
        f"{', '.join(f'{x:.0f}' for x in result['two_instances_rps'])} req/s; ratio (median) "
        f"{result['ratio_median']:.2f}; 10,000 reminders by two workers in {result['dispatch_seconds']:.1f} s "
        f"(sent {' + '.join(str(n) for n in result['dispatch_sent'])})"
    )
    for problem in result["problems"]:
        print(f"CORRECTNESS PROBLEM: {problem}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
