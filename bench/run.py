"""Run aftercare's HTTP benchmarks and the first-visit measurement; print a table.

    python -m bench.run [--duration 10] [--only mood,today,first-visit] [--no-pin] ...

`make bench BENCH_ARGS="..."` runs this. See bench/README.md for what each figure means.
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import report
from .baselines import create_schema
from .client import request
from .client import sign_in
from .client import SignedIn
from .load import Load
from .load import Run
from .load import run_wrk
from .load import wrk_binary
from .proxy import CountingProxy
from .servers import REPO
from .servers import Server
from .servers import system_cpu

BENCHMARKS = ("mood", "today", "first-visit", "dispatch", "clinician")
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_PATIENTS = 40


def parse_args(argv=None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of {BENCHMARKS}")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measured run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of the uncounted warm-up run (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved baseline/app rounds (default 3)")
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="rounds measured again, per benchmark, when other processes took CPU during them (default 3)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server (default 2)")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pin gunicorn to CPU 0 and wrk to CPU 1 with taskset when there are 2+ CPUs (default: on)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=2000,
        help="patients in the clinic, from `flask demo --scale N` (default 2000: a year of data, 1,000,000 mood "
        "entries); 0 for bench/prepare.py's small clinic",
    )
    parser.add_argument(
        "--mood-patients",
        type=int,
        default=20,
        help="signed-in patients the mood posts are spread over, in turn (default 20; see README)",
    )
    parser.add_argument("--weeks", type=int, default=4, help="weeks of mood history per patient (default 4)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long for other processes to leave the CPUs idle (default: don't wait)",
    )
    parser.add_argument(
        "--clinician-postgres",
        metavar="URL",
        default=None,
        help="also time the clinician's pages on this empty PostgreSQL database, filled with the same --scale "
        "(default: SQLite only)",
    )
    parser.add_argument(
        "--from-database",
        type=Path,
        metavar="FILE",
        default=None,
        help="start from a copy of this SQLite clinic, already made by `demo --scale N` (for example by "
        "`python -m bench.clinician --fill`), instead of generating one; --scale then only names it",
    )
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write the results (default {RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, server logs)")
    parser.add_argument(
        "--enforce-floors", action="store_true", help="exit non-zero when a release floor is not met, too"
    )
    args = parser.parse_args(argv)
    if args.mood_patients < 1 or args.rounds < 1:
        parser.error("--mood-patients and --rounds must be at least 1")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}")
    return args


def cpus(pin: bool) -> tuple[int | None, int | None]:
    """Return the cores for (gunicorn, wrk), or (None, None) when not pinning."""
    if pin and (os.cpu_count() or 1) >= 2:
        return 0, 1
    return None, None


def wait_for_quiet(limit: float) -> float:
    """Wait until other processes use under a tenth of a CPU for 5 s, or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while True:
        before = system_cpu()["busy"]
        time.sleep(5)
        busy = (system_cpu()["busy"] - before) / 5
        if busy < report.BUSY_MACHINE_CPUS or time.monotonic() > deadline:
            return busy
        print(f"waiting for a quiet machine: other processes use {busy:.2f} CPUs", flush=True)


def app_env(workdir: Path, port: int, secret_key: str) -> dict:
    """Return the environment aftercare runs with: production mode, the bench database."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),  # this checkout's aftercare and bench come first
        "AFTERCARE_SECRET_KEY": secret_key,
        "AFTERCARE_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "AFTERCARE_BASE_URL": f"http://127.0.0.1:{port}",
        "AFTERCARE_ENV": "production",
    }


def flask(env: dict, *args: str, debug: bool = False) -> str:
    """Run a `flask --app aftercare` command; return its output or fail with it."""
    command = [sys.executable, "-m", "flask", "--app", "aftercare", *(["--debug"] if debug else []), *args]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`flask {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def demo_has_scale(env: dict) -> bool:
    """Tell whether aftercare's demo command accepts --scale yet."""
    return "--scale" in flask(env, "demo", "--help", debug=True)


def prepare_data(env: dict, scale: int | None, mood_patients: int, weeks: int, *, copied: Path | None = None) -> dict:
    """Fill the bench database: aftercare's clinic generator when it can, else bench/prepare.py."""
    patients = DEFAULT_PATIENTS if not scale else scale
    note = f"bench/prepare.py: {patients} patients"
    if copied:
        patients, note = 0, f"a copy of {copied} (made by demo --scale), plus the bench accounts from bench/prepare.py"
    elif scale and demo_has_scale(env):
        # The generator is development-only; it writes the same database file.
        flask({**env, "AFTERCARE_ENV": "development"}, "demo", "--scale", str(scale), debug=True)
        patients, note = 0, f"flask demo --scale {scale}, plus the bench accounts from bench/prepare.py"
    elif scale:
        note += f" (aftercare's demo has no --scale yet, so bench/prepare.py made the {scale})"
    command = [sys.executable, "-m", "bench.prepare", "--patients", str(patients), "--weeks", str(weeks)]
    command += ["--mood-patients", str(mood_patients)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench/prepare.py failed:\n{done.stdout}{done.stderr}")
    accounts = json.loads(done.stdout.strip().splitlines()[-1])
    accounts["note"] = note
    return accounts


class MoodRows:
    """The client_ids stored for one server's mood posts, to check them against wrk's 201s."""

    def __init__(self, db_path: Path, query: str, params=()):
        self.db_path = db_path
        self.query = query
        self.params = params

    def ids(self) -> list[str]:
        """Return every stored client_id (read-only; the server keeps writing in WAL mode)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return [row[0] for row in conn.execute(self.query, self.params)]
        finally:
            conn.close()

    def settled_ids(self) -> list[str]:
        """Return the ids once the requests still queued when wrk stopped have been written."""
        ids = self.ids()
        for _ in range(50):
            time.sleep(0.1)
            again = self.ids()
            if len(again) == len(ids):
                return again
            ids = again
        return ids


def check_rows(run: Run, before: set[str], after: list[str], connections: int) -> list[str]:
    """Compare the rows a run added with the entries the server acknowledged; return problems."""
    problems = []
    added = set(after) - before
    acked = set(run.acked)
    if len(after) != len(set(after)):
        problems.append(f"{run.server}: {len(after) - len(set(after))} duplicate client_id rows")
    if len(acked) != len(run.acked):
        problems.append(f"{run.server}: {len(run.acked) - len(acked)} client_ids acknowledged twice")
    if run.statuses.get(200):
        problems.append(f"{run.server}: {run.statuses[200]} answers were replays (200), not new entries (201)")
    lost = acked - added
    if lost:
        problems.append(f"{run.server}: {len(lost)} acknowledged entries are not in the database (lost)")
    # wrk stops with up to one request in flight per connection: the server may still store
    # those, unacknowledged. More than that would be rows nobody asked for.
    unacked = len(added - acked)
    if unacked > connections:
        problems.append(f"{run.server}: {unacked} rows without an acknowledgement (at most {connections} in flight)")
    run.rows_added = len(added)
    return problems


def run_checked(server, load, rows: MoodRows | None, args, seconds: float, wrk_cpu, problems: list) -> Run:
    """Run wrk once; check statuses, socket errors and (for posts) stored rows."""
    before = set(rows.ids()) if rows else set()
    run = run_wrk(
        server, load, seconds=seconds, threads=args.threads, connections=args.connections, cpu=wrk_cpu, workdir=args.tmp
    )
    if run.non_2xx:
        bad = {s: n for s, n in run.statuses.items() if not 200 <= s < 300}
        problems.append(f"{server.name} {load.path}: {run.non_2xx} non-2xx answers {bad}")
    if run.socket_errors:
        problems.append(f"{server.name} {load.path}: socket errors {run.errors}")
    if rows:
        problems += check_rows(run, before, rows.settled_ids(), args.connections)
    return run


def bench_pair(name: str, baseline, app, args, wrk_cpu, problems: list) -> dict:
    """Warm up both servers, then interleave `rounds` runs of baseline and app; return the runs."""
    print(f"\n{name}: warm-up ({args.warmup:g} s each), then {args.rounds} rounds of {args.duration:g} s", flush=True)
    for server, load, rows in (baseline, app):
        run_checked(server, load, rows, args, args.warmup, wrk_cpu, problems)
    runs = {"baseline": [], "app": [], "discarded": []}
    retries = args.retries
    for round_number in range(1, args.rounds + 1):
        while True:
            measured = {}
            for key, (server, load, rows) in (("baseline", baseline), ("app", app)):
                measured[key] = run_checked(server, load, rows, args, args.duration, wrk_cpu, problems)
                print(f"  round {round_number} {report.run_line(measured[key])}", flush=True)
            busy = max(run.background_cpus for run in measured.values())
            # Another process taking CPU skews one side of the ratio: measure the round again.
            if busy <= report.BUSY_MACHINE_CPUS or retries == 0:
                break
            retries -= 1
            runs["discarded"] += measured.values()
            print(f"  round {round_number} again: other processes used {busy:.2f} CPUs during it", flush=True)
        runs["baseline"].append(measured["baseline"])
        runs["app"].append(measured["app"])
    return runs


def audit_verify(env: dict, problems: list) -> str:
    """Run `flask audit verify`; note a problem unless it says the chain is intact."""
    try:
        output = flask(env, "audit", "verify").strip()
    except RuntimeError as error:
        output = str(error).strip()
    if "intact" not in output:
        problems.append(f"audit verify: {output}")
    return output


def audit_mood_events(db_path: Path, patient_ids: list[int]) -> int:
    """Count the mood_logged audit events of some patients."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(patient_ids))
        query = f"SELECT COUNT(*) FROM audit_event WHERE action = 'mood_logged' AND patient_id IN ({marks})"
        return conn.execute(query, patient_ids).fetchone()[0]
    finally:
        conn.close()


def user_id(db_path: Path, email: str) -> int:
    """Return an account's id."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute('SELECT id FROM "user" WHERE email = ?', (email,)).fetchone()[0]
    finally:
        conn.close()


def check_home(app: Server, patient: SignedIn, problems: list) -> int:
    """Fetch /home once as the patient; note a problem unless it is the signed-in page."""
    status, _, _, body = request(app.url, "GET", "/home", headers={"Cookie": patient.cookie_header})
    # The greeting names the patient ("Good morning, Today"): the page of the signed-in patient.
    if status != 200 or not re.search(rb"<h1[^>]*>[^<]*, Today</h1>", body):
        problems.append(f"GET /home as the patient answered {status} ({len(body)} bytes), not the Today page")
    return len(body)


class Context:
    """What the benchmarks share: options, the temporary directory, the app and its data."""

    def __init__(self, args, stack: contextlib.ExitStack, gunicorn_cpu, wrk_cpu):
        self.args = args
        self.stack = stack
        self.gunicorn_cpu = gunicorn_cpu
        self.wrk_cpu = wrk_cpu
        self.problems: list[str] = []
        self.tmp = args.tmp
        self.db_path = self.tmp / "bench.db"
        self.secret_key = secrets.token_hex(32)
        self.base_env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.app = Server("app", "aftercare:create_app()", env={}, workdir=self.tmp, **self.server_options())
        self.app.env = app_env(self.tmp, self.app.port, self.secret_key)
        self.accounts: dict = {}

    def server_options(self) -> dict:
        """Return the gunicorn options every measured server shares."""
        return {"workers": self.args.workers, "cpu": self.gunicorn_cpu}

    def serve(self, name: str, target: str, env: dict, probe: str = "/") -> Server:
        """Start a server that is stopped when the run ends, however it ends."""
        server = Server(name, target, env=env, workdir=self.tmp, **self.server_options())
        self.stack.callback(server.stop)
        return server.start(probe)

    def start_app(self) -> None:
        """Migrate and fill the bench database, then start aftercare on it."""
        source = self.args.from_database
        if source:
            # A consistent copy even if the file is in WAL mode with pages not yet checkpointed.
            with sqlite3.connect(source) as origin, sqlite3.connect(self.tmp / "bench.db") as copy:
                origin.backup(copy)
        flask(self.app.env, "db", "migrate")
        self.accounts = prepare_data(
            self.app.env, self.args.scale, self.args.mood_patients, self.args.weeks, copied=source
        )
        self.stack.callback(self.app.stop)
        self.app.start("/login")


def bench_mood(ctx: Context) -> dict:
    """Benchmark the mood API against the insert server; check stored rows, audit events, the chain."""
    args, app, problems = ctx.args, ctx.app, ctx.problems
    insert_db = ctx.tmp / "insert.db"
    create_schema(str(insert_db))
    insert = ctx.serve("insert", "bench.baselines:insert_app()", ctx.base_env | {"BENCH_INSERT_DB": str(insert_db)})
    patients = [sign_in(app.url, a["email"], a["password"]) for a in ctx.accounts["mood"]]
    ids = [user_id(ctx.db_path, p.email) for p in patients]
    marks = ",".join("?" * len(ids))
    app_rows = MoodRows(ctx.db_path, f"SELECT client_id FROM mood_entry WHERE patient_id IN ({marks})", ids)
    audit_before = audit_mood_events(ctx.db_path, ids)
    rows_before = len(app_rows.ids())
    sessions = [(p.cookie_header, p.csrf_token) for p in patients]
    baseline = (insert, Load("/insert", mode="mood"), MoodRows(insert_db, "SELECT client_id FROM entry"))
    measured = (app, Load("/api/v1/mood", "mood", sessions=sessions), app_rows)
    runs = bench_pair(f"mood API ({len(patients)} patients)", baseline, measured, args, ctx.wrk_cpu, problems)
    posted = len(app_rows.ids()) - rows_before
    audited = audit_mood_events(ctx.db_path, ids) - audit_before
    if audited != posted:
        problems.append(f"{posted} mood entries were stored but {audited} mood_logged audit events written")
    verify = audit_verify(app.env, problems)
    print(f"  stored {posted} entries, {audited} audit events; {verify}")
    return report.pair("mood", runs) | {"stored": posted, "audited": audited, "audit_verify": verify}


def bench_today(ctx: Context) -> dict:
    """Benchmark the Today page against the bare server."""
    bare = ctx.serve("bare", "bench.baselines:bare_app()", ctx.base_env)
    account = ctx.accounts["today"]
    patient = sign_in(ctx.app.url, account["email"], account["password"])
    page_bytes = check_home(ctx.app, patient, ctx.problems)
    baseline = (bare, Load("/"), None)
    measured = (ctx.app, Load("/home", cookie=patient.cookie_header), None)
    name = f"Today page ({page_bytes:,} bytes of HTML)"
    runs = bench_pair(name, baseline, measured, ctx.args, ctx.wrk_cpu, ctx.problems)
    return report.pair("today", runs) | {"html_bytes": page_bytes}


def bench_first_visit(ctx: Context) -> dict:
    """Measure the first and repeat visit to /home in Chromium, on a server of its own."""
    from .browser import measure_visits  # Playwright loads only when needed

    # An access log lists what really reached the network; a relay counts every byte sent.
    access_log = ctx.tmp / "browser-access.log"
    server = Server("browser", "aftercare:create_app()", env={}, workdir=ctx.tmp, log=access_log)
    proxy = CountingProxy(server.port)
    ctx.stack.callback(proxy.close)
    server.env = app_env(ctx.tmp, proxy.port, ctx.secret_key)
    ctx.stack.callback(server.stop)
    server.start("/login")
    print("\nfirst visit: headless Chromium, phone viewport, fresh context", flush=True)
    return measure_visits(proxy.url, server.url, proxy, access_log, ctx.accounts["today"], ctx.problems)


def bench_dispatch(ctx: Context) -> dict:
    """Dispatch 10,000 due reminders to a loopback push service (bench/dispatch.py)."""
    from . import dispatch

    print("\nreminder dispatch: 10,000 due reminders, two workers, a loopback push service", flush=True)
    workdir = ctx.tmp / "dispatch"
    workdir.mkdir()
    result = dispatch.run(workdir)
    print(f"  {dispatch.describe(result)}", flush=True)
    ctx.problems.extend(f"dispatch: {problem}" for problem in result["problems"])
    return result


def bench_clinician(ctx: Context) -> dict:
    """Time the panel, the record and the cohort in-process beside plain aggregates (bench/clinician.py)."""
    from . import clinician

    if not ctx.args.scale:
        print("\nclinician's pages: skipped (they need --scale)", flush=True)
        return {}
    result = {}
    print(f"\nclinician's pages on SQLite ({ctx.args.scale} patients), server time in-process", flush=True)
    result["sqlite"] = _in_child(clinician, ["--database-url", ctx.app.env["AFTERCARE_DATABASE_URL"]], ctx)
    if ctx.args.clinician_postgres:
        print(f"clinician's pages on PostgreSQL: filling it with demo --scale {ctx.args.scale} first", flush=True)
        url = ctx.args.clinician_postgres
        result["postgresql"] = _in_child(clinician, ["--database-url", url, "--fill", str(ctx.args.scale)], ctx)
    return result


def _in_child(module, args: list[str], ctx: Context) -> dict:
    """Run a benchmark module in a process of its own (its own app and database connection); return its JSON."""
    out = ctx.tmp / f"{module.__name__.rsplit('.', 1)[-1]}-{len(list(ctx.tmp.iterdir()))}.json"
    command = [sys.executable, "-m", module.__name__, *args, "--json", str(out)]
    env = {**ctx.app.env, "AFTERCARE_ENV": "development"}
    subprocess.run(command, cwd=REPO, env=env, check=True, timeout=3600)
    return json.loads(out.read_text())


def main(argv=None) -> int:
    """Run the chosen benchmarks; return the exit status."""
    args = parse_args(argv)
    wrk_binary()
    gunicorn_cpu, wrk_cpu = cpus(args.pin)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    results = {"started": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "machine": report.machine()}
    with contextlib.ExitStack() as stack:
        args.tmp = Path(tempfile.mkdtemp(prefix="aftercare-bench-"))
        if args.keep:
            print(f"keeping {args.tmp}")
        else:
            stack.callback(shutil.rmtree, args.tmp, ignore_errors=True)
        results["config"] = report.config(args, gunicorn_cpu, wrk_cpu)
        print(report.config_line(results["config"]), flush=True)
        ctx = Context(args, stack, gunicorn_cpu, wrk_cpu)
        ctx.start_app()
        accounts = ctx.accounts
        print(f"data: {accounts['note']}; {accounts['patients']} patients, {accounts['mood_entries']} mood entries")
        results["data"] = accounts | {"today": accounts["today"]["email"], "mood": len(accounts["mood"])}
        if "mood" in args.only:
            results["mood"] = bench_mood(ctx)
        if "today" in args.only:
            results["today"] = bench_today(ctx)
        if "first-visit" in args.only:
            results["first_visit"] = bench_first_visit(ctx)
        if "dispatch" in args.only:
            results["dispatch"] = bench_dispatch(ctx)
        if "clinician" in args.only:
            results["clinician"] = bench_clinician(ctx)
    results["problems"] = ctx.problems
    results["goals"] = report.goals(results)
    print()
    print(report.table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults: {args.json}")
    return report.exit_status(results, enforce_floors=args.enforce_floors)


if __name__ == "__main__":
    sys.exit(main())
