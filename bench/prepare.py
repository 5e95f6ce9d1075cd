"""Make a small clinic in the benchmark database, directly through aftercare's models.

    python -m bench.prepare --patients 40 --mood-patients 20 --weeks 4

Run with the same AFTERCARE_* environment as the server (the runner does this). Prints one
JSON object naming the benchmark accounts. Every patient gets a few weeks of mood entries, so
pages and queries see a realistic amount of data; two patients are the benchmark's own:

- "today": signed in for GET /home; has history, entries today and an upcoming infusion;
- "mood1".."moodN": signed in for POST /api/v1/mood; kept apart so the thousands of entries
  the benchmark posts do not end up on the Today page being measured. They have the same past
  infusions, so each entry takes the whole path: it is counted under its last session.

When aftercare's own clinic-scale generator exists (`flask --app aftercare demo --scale N`),
the runner calls it first and then this script with --patients 0, which adds only the
benchmark accounts (and a clinician of their own) to the generated clinic.
"""

import argparse
import datetime as dt
import json
import random
import uuid

from peewee import chunked

from aftercare import create_app
from aftercare.db import db
from aftercare.localtime import local_day
from aftercare.localtime import to_utc
from aftercare.models import ADMIN
from aftercare.models import CareRelationship
from aftercare.models import CLINICIAN
from aftercare.models import COMPLETED
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import PATIENT
from aftercare.models import payload_hash
from aftercare.models import SCHEDULED
from aftercare.models import TreatmentSession
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.passwords import hash_password
from aftercare.selfreports import windows

PASSWORD = "bench quiet harbour lantern"
DOMAIN = "bench.aftercare.example"
ZONE = "America/New_York"
SLOTS = ((8, 0), (13, 0), (20, 0))  # local hours of the day's entries
NOTES = ("", "", "", "Slept well", "Long day at work", "Walked in the park", "Felt flat")
TAGS = ("", "", "sleep", "energy", "anxiety,sleep")


def email(login: str) -> str:
    """Return a benchmark account's email address."""
    return f"{login}@{DOMAIN}"


def parse_args(argv=None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=40, help="other patients in the clinic (default 40)")
    parser.add_argument("--mood-patients", type=int, default=20, help="patients who post moods (default 20)")
    parser.add_argument("--weeks", type=int, default=4, help="weeks of mood history per patient (default 4)")
    parser.add_argument("--seed", type=int, default=1, help="random seed, so two runs make the same clinic")
    return parser.parse_args(argv)


def make_user(login: str, name: str, role: str, password_hash: str, created_at: dt.datetime) -> User:
    """Create one account with the shared password hash."""
    return User.create(
        email=email(login),
        name=name,
        role=role,
        password_hash=password_hash,
        timezone=ZONE,
        consented_at=created_at if role == PATIENT else None,
        created_at=created_at,
    )


def mood_rows(patient: User, days: int, now: dt.datetime, rng: random.Random) -> list[dict]:
    """Return a patient's mood entries for the last `days` days (today's only up to now)."""
    rows = []
    today = local_day(now, patient.timezone)
    mean = rng.uniform(3, 7)
    for back in range(days, -1, -1):
        day = today - dt.timedelta(days=back)
        for hour, minute in rng.sample(SLOTS, rng.choice((1, 2, 2, 3))):
            wall = dt.datetime(day.year, day.month, day.day, hour, minute + rng.randrange(50))
            recorded = to_utc(wall, patient.timezone)
            if recorded > now:
                continue
            fields = {
                "score": max(0, min(10, round(rng.gauss(mean, 1.2)))),
                "note": rng.choice(NOTES),
                "tags": rng.choice(TAGS),
            }
            recorded_iso = recorded.replace(tzinfo=dt.UTC).isoformat()
            fingerprint = {**fields, "tags": [t for t in fields["tags"].split(",") if t]}
            rows.append(
                {
                    "patient": patient.id,
                    "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    # The fingerprint submit_mood would have stored for the same entry.
                    "payload_hash": payload_hash({"kind": "mood", **fingerprint, "recorded_at": recorded_iso}),
                    **fields,
                    "recorded_at": recorded,
                    "local_day": day,
                    "created_at": recorded,
                    "updated_at": recorded,
                }
            )
    return rows


def day_rows(entries: list[dict]) -> list[dict]:
    """Return the MoodDay rollups for a list of entry rows."""
    days: dict[tuple[int, dt.date], list[int]] = {}
    for row in entries:
        days.setdefault((row["patient"], row["local_day"]), []).append(row["score"])
    return [
        {"patient": patient, "day": day, "count": len(s), "total": sum(s), "low": min(s), "high": max(s)}
        for (patient, day), s in days.items()
    ]


def add_sessions(patient: User, clinician: User, now: dt.datetime) -> None:
    """Give a patient three past infusions and one in three days, as the Today page shows them."""
    today = local_day(now, ZONE)
    for number, days in enumerate((-24, -20, -17, 3), start=1):
        wall = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(15, 0))
        TreatmentSession.create(
            patient=patient,
            scheduled_by=clinician,
            kind="infusion",
            starts_at=to_utc(wall, ZONE),
            wall_time=wall.strftime("%Y-%m-%dT%H:%M"),
            zone=ZONE,
            status=COMPLETED if days < 0 else SCHEDULED,
            number=number,
        )


def prepare(patients: int, mood_patients: int, weeks: int, seed: int) -> dict:
    """Create the accounts and history; return what the benchmark needs to sign in."""
    rng = random.Random(seed)
    now = utcnow()
    enrolled = now - dt.timedelta(weeks=weeks, days=14)
    password_hash = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once
    with db.atomic():
        if not User.select().where(User.role == ADMIN).exists():
            # Without an administrator, /login sends everyone to first-run setup.
            make_user("admin", "Bench Admin", ADMIN, password_hash, enrolled)
        clinician = make_user("clinician", "Bench Clinician", CLINICIAN, password_hash, enrolled)
        logins = [("today", "Today Patient")]
        logins += [(f"mood{n}", f"Mood Patient {n}") for n in range(1, mood_patients + 1)]
        logins += [(f"patient{n}", f"Patient {n}") for n in range(1, patients + 1)]
        entries, in_series = [], []
        for login, name in logins:
            patient = make_user(login, name, PATIENT, password_hash, enrolled)
            CareRelationship.create(patient=patient, clinician=clinician, created_at=enrolled)
            entries += mood_rows(patient, weeks * 7, now, rng)
            if not login.startswith("patient"):
                # Today shows the series; a mood entry after a session is counted under it (mood_window).
                add_sessions(patient, clinician, now)
                in_series.append(patient.id)
        for batch in chunked(entries, 500):
            MoodEntry.insert_many(batch).execute()
        for batch in chunked(day_rows(entries), 500):
            MoodDay.insert_many(batch).execute()
        windows.rebuild(in_series)
    return {
        "today": {"email": email("today"), "password": PASSWORD},
        "mood": [{"email": email(f"mood{n}"), "password": PASSWORD} for n in range(1, mood_patients + 1)],
        "patients": len(logins),
        "mood_entries": len(entries),
    }


def main(argv=None) -> None:
    """Prepare the clinic and print the accounts as JSON."""
    args = parse_args(argv)
    app = create_app()
    with app.app_context(), app.extensions["aftercare_db"].connection_context():
        result = prepare(args.patients, args.mood_patients, args.weeks, args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
