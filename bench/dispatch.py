"""Reminder dispatch: due reminders sent to a loopback push service, against the raw encrypt-and-sign rate.

    python -m bench.dispatch [--reminders 10000] [--devices 1000] [--threads 4]

(`python -m bench.run --only dispatch` runs the same and adds it to the table.)

1. **Raw rate**, in this process: encrypt a reminder's payload for a device (pywebpush,
   aes128gcm with a fresh ECDH key, as every send does) and sign a VAPID token, one after the
   other, on one core; then the same with the token signed once per push service and reused, as
   the dispatcher does. Nothing is sent.
2. **Dispatch**: a fresh SQLite database with `--devices` patients, one device each (a
   subscription of the push service), and `--reminders` reminders due now, spread over them.
   The push service (bench/push_service.py, the test suite's receiver) runs in a process of its
   own on plain http, checks every push's VAPID token and TTL and decrypts one in 100. One
   `Dispatcher.run_once()`, the pass `flask --app aftercare reminders dispatch` makes, is timed.
3. **Checks**: the push service accepted exactly one push per reminder, every decrypted sample
   is a notification, every reminder is stored as sent with one delivered row, nothing else.

Reported: the dispatch time (goal: under 15 s for 10,000 on 2 cores), reminders per second, and
the ratio of that rate to the raw encrypt-and-sign rate measured in the same run.
"""

import argparse
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher

REPO = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 15.0
GOAL_REMINDERS = 10_000
SAMPLE = 100  # the push service decrypts one push in this many


def payload() -> bytes:
    notification = {
        "title": "aftercare",
        "body": "Something for today, whenever you are ready.",
        "navigate": "https://care.example-clinic.org/home",
        "tag": "x" * 32,
        "lang": "en",
    }
    return json.dumps({"web_push": 8030, "notification": notification}, separators=(",", ":")).encode()


def raw_rate(subscriptions: list[dict], seconds: float = 3.0, *, cached: bool) -> float:
    """Messages per second one core encrypts and signs (nothing sent)."""
    from aftercare.push.vapid import Keys
    from aftercare.push.vapid import public_key_of
    from aftercare.push.vapid import Signer

    private = ec.generate_private_key(ec.SECP256R1())
    vapid = Vapid02(private)
    signer = Signer(Keys(private, public_key_of(private), "mailto:bench@example.org"))
    data = payload()
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        subscription = subscriptions[count % len(subscriptions)]
        WebPusher(subscription).encode(data, content_encoding="aes128gcm")
        audience = "http://" + subscription["endpoint"].split("/")[2]
        if cached:
            signer.authorization(audience)
        else:
            vapid.sign({"aud": audience, "exp": int(time.time()) + 43200, "sub": "mailto:bench@example.org"})
        count += 1
    return count / (time.perf_counter() - started)


def start_push_service(tmp: Path, devices: int, public_key: str) -> tuple[subprocess.Popen, dict]:
    out = tmp / "subscriptions.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.push_service",
            "--devices",
            str(devices),
            "--decrypt-every",
            str(SAMPLE),
            "--expect-key",
            public_key,
            "--out",
            str(out),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not out.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the push service did not start")
        time.sleep(0.05)
    return process, json.loads(out.read_text())


def stop_push_service(process: subprocess.Popen) -> dict:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    return json.loads(output.strip().splitlines()[-1])


def fill(app, subscriptions: list[dict], reminders: int, now: dt.datetime) -> None:
    """Patients with one device each, and `reminders` due reminders spread over them."""
    from aftercare.db import db
    from aftercare.models import Device
    from aftercare.models import PATIENT
    from aftercare.models import Reminder
    from aftercare.models import User
    from aftercare.passwords import hash_password

    password = hash_password(secrets.token_urlsafe(16))
    with app.app_context(), db.atomic():
        User.insert_many(
            [
                {"email": f"bench{n}@example.org", "name": f"Patient {n}", "role": PATIENT, "password_hash": password}
                for n in range(len(subscriptions))
            ]
        ).execute()
        ids = [u.id for u in User.select(User.id).order_by(User.id)]
        Device.insert_many(
            [
                {
                    "user": user_id,
                    "endpoint": sub["endpoint"],
                    "p256dh": sub["keys"]["p256dh"],
                    "auth": sub["keys"]["auth"],
                    "name": "Bench",
                }
                for user_id, sub in zip(ids, subscriptions, strict=True)
            ]
        ).execute()
        rows = [
            {
                "user": ids[n % len(ids)],
                "rule": "test",
                "slot": f"bench:{n}",
                "due_at": now - dt.timedelta(minutes=1),
                "expires_at": now + dt.timedelta(hours=2),
                "path": "/home",
            }
            for n in range(reminders)
        ]
        for start in range(0, len(rows), 1000):
            Reminder.insert_many(rows[start : start + 1000]).execute()


def check(app, summary: dict, reminders: int) -> list[str]:
    from aftercare.models import DELIVERED
    from aftercare.models import Delivery
    from aftercare.models import Reminder
    from aftercare.models import REMINDER_SENT

    problems = []
    with app.app_context():
        sent = Reminder.select().where(Reminder.status == REMINDER_SENT).count()
        delivered = Delivery.select().where(Delivery.outcome == DELIVERED).count()
        other = Delivery.select().where(Delivery.outcome != DELIVERED).count()
    if summary["accepted"] != reminders:
        problems.append(f"the push service accepted {summary['accepted']} pushes for {reminders} reminders")
    if summary["statuses"] != {"201": reminders}:
        problems.append(f"the push service answered {summary['statuses']}")
    if summary["decrypted_ok"] != summary["decrypted"] or summary["decrypted"] < reminders // SAMPLE:
        problems.append(f"{summary['decrypted_ok']} of {summary['decrypted']} decrypted samples were notifications")
    if summary["topics"] != summary["decrypted"]:
        problems.append("two decrypted samples carried the same Topic")
    if sent != reminders or delivered != reminders or other:
        problems.append(f"{sent} reminders stored as sent, {delivered} delivered rows, {other} other outcomes")
    return problems


def run(
    tmp: Path,
    *,
    reminders: int = GOAL_REMINDERS,
    devices: int = 1000,
    workers: int = 2,
    threads: int = 4,
    database_url: str | None = None,
) -> dict:
    """Measure the raw rate and one dispatch pass; return the figures and any correctness problems.

    The queue is a fresh SQLite file, or `database_url` (an empty database: bench/scaleout.py's PostgreSQL).
    """
    from aftercare import create_app
    from aftercare.db import migrate_database
    from aftercare.push import vapid

    private = ec.generate_private_key(ec.SECP256R1())
    public = vapid.public_key_of(private)
    service, published = start_push_service(tmp, devices, public)
    try:
        subscriptions = published["subscriptions"]
        raw = raw_rate(subscriptions, cached=False)
        raw_cached = raw_rate(subscriptions, cached=True)
        settings = {
            "SECRET_KEY": secrets.token_hex(32),
            "BASE_URL": "https://care.example-clinic.org",
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'dispatch.db'}",
            "VAPID_PRIVATE_KEY": vapid.b64url(private.private_numbers().private_value.to_bytes(32, "big")),
            "VAPID_SUBJECT": "mailto:bench@example.org",
            "PUSH_ALLOWED_HOSTS": published["host_entry"],
        }
        app = create_app(settings)
        migrate_database(app.extensions["aftercare_db"])
        fill(app, subscriptions, reminders, dt.datetime.now(dt.UTC).replace(tzinfo=None))
        app.extensions["aftercare_db"].close_all()
        passes = run_workers(settings, workers, threads)
    finally:
        summary = stop_push_service(service)
    problems = check(app, summary, reminders)
    seconds = passes[0]["wall"]
    rate = reminders / seconds
    cpu = sum(p["cpu_seconds"] for p in passes)
    return {
        "reminders": reminders,
        "devices": devices,
        "workers": workers,
        "threads": threads,
        "seconds": seconds,
        "rate": rate,
        "raw_rate": raw,
        "raw_rate_cached": raw_cached,
        "ratio": rate / raw,
        "ratio_cached": rate / raw_cached,
        "passes": passes,  # each worker's share
        "cpu_seconds": cpu,  # the dispatchers, all threads
        "push_service": summary,
        "problems": problems,
        "goal_seconds": GOAL_SECONDS * reminders / GOAL_REMINDERS,
    }


def worker(settings: dict, threads: int) -> None:
    """One dispatcher process: build the app, say ready, wait for the word, make one pass, report."""
    from aftercare import create_app
    from aftercare.reminders.dispatcher import Dispatcher

    app = create_app(settings)
    with app.app_context():
        dispatcher = Dispatcher(threads=threads)
        print("ready", flush=True)
        sys.stdin.readline()
        started, cpu = time.perf_counter(), time.process_time()
        tally = dispatcher.run_once()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        dispatcher.close()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "sent": tally.sent, "tally": str(tally)}), flush=True)


def run_workers(settings: dict, workers: int, threads: int) -> list[dict]:
    """Start `workers` dispatcher processes, let them go at once, and return what each reports."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_DISPATCH_SETTINGS": json.dumps(settings)}
    command = [sys.executable, "-m", "bench.dispatch", "--worker", "--threads", str(threads)]
    children = [
        subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    for child in children:
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a dispatcher process did not start")
    started = time.perf_counter()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = [json.loads(child.stdout.readline()) for child in children]
    wall = time.perf_counter() - started
    for child in children:
        child.wait(timeout=30)
    return [dict(r, wall=wall) for r in reports]


def describe(result: dict) -> str:
    service = result["push_service"]
    return (
        f"dispatched {result['reminders']:,} reminders to {result['devices']:,} devices in {result['seconds']:.2f} s "
        f"({result['rate']:,.0f}/s; {result['workers']} worker(s), sent {', '.join(str(p['sent']) for p in result['passes'])}, "
        f"{result['threads']} threads each); one core encrypts and signs "
        f"{result['raw_rate']:,.0f}/s ({result['raw_rate_cached']:,.0f}/s with the token reused): "
        f"ratio {result['ratio']:.2f} ({result['ratio_cached']:.2f} against the reused-token rate)\n"
        f"  CPU: dispatchers {result['cpu_seconds']:.2f} s "
        f"({1000 * result['cpu_seconds'] / result['reminders']:.2f} ms per reminder), "
        f"push service {service['cpu_seconds']:.2f} s ({1000 * service['cpu_seconds'] / result['reminders']:.2f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=GOAL_REMINDERS)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="dispatcher processes sharing the queue (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="pushes in flight per worker (default 4)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(os.environ["BENCH_DISPATCH_SETTINGS"]), args.threads)
        return 0
    with tempfile.TemporaryDirectory(prefix="aftercare-dispatch-") as tmp:
        result = run(
            Path(tmp), reminders=args.reminders, devices=args.devices, workers=args.workers, threads=args.threads
        )
    print(describe(result))
    goal = result["goal_seconds"]
    print(f"goal: under {goal:g} s: {'PASS' if result['seconds'] < goal else 'FAIL'}")
    for problem in result["problems"]:
        print(f"CORRECTNESS PROBLEM: {problem}")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
