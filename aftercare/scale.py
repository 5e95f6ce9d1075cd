"""Clinic-scale data for benchmarks: `flask --app aftercare demo --scale 2000` (development only).

On top of the demo clinic: 20 clinicians (one with a tenth of the patients), N patients in a mix
of time zones, a year of mood entries (about 500 each, so 1,000,000 for 2,000 patients) with their
daily rollups, a PHQ-9 and GAD-7 every two weeks, an induction series of six infusions and a booster
every four weeks, and the next session booked. Everything goes through the domain's bulk paths
(`mood.add_many`, which rebuilds the rollups exactly as the one-entry path keeps them), in minutes,
and the same on every run: a second run finds the patients there and adds nothing.
"""

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from .db import db
from .localtime import local_day
from .localtime import to_utc
from .models import CareRelationship
from .models import CheckIn
from .models import CLINICIAN
from .models import COMPLETED
from .models import PATIENT
from .models import payload_hash
from .models import SCHEDULED
from .models import TreatmentSession
from .models import User
from .passwords import hash_password
from .selfreports import checkins
from .selfreports import instruments
from .selfreports import mood
from .selfreports import points

DOMAIN = "scale.aftercare.example"
NAMESPACE = uuid.UUID("5a1e0000-0000-4000-8000-00000000a7c2")
CLINICIANS = 20
DAYS = 365
CHECKIN_EVERY = 14
SERIES = (0, 3, 7, 10, 14, 17)  # the induction: six infusions over two and a half weeks
BOOSTER_EVERY = 28
ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
)
PATIENTS_PER_BATCH = 50  # one transaction per batch: a year of mood for 50 patients is about 25,000 rows


@dataclass
class Summary:
    patients: int = 0
    clinicians: int = 0
    mood_entries: int = 0
    checkins: int = 0
    sessions: int = 0
    skipped: bool = False


def email(kind: str, n: int) -> str:
    return f"{kind}{n:05d}@{DOMAIN}"


def client_id(*parts) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def generate(count: int, password: str, now: dt.datetime, *, days: int = DAYS) -> Summary:
    """Add `count` generated patients and their year of data; nothing if they are there already."""
    summary = Summary()
    if User.select().where(User.email == email("patient", count - 1)).exists():
        summary.skipped = True
        return summary
    password_hash = hash_password(password)
    enrolled = now - dt.timedelta(days=days)
    clinicians = _clinicians(password_hash, enrolled)
    summary.clinicians = len(clinicians)
    have = {u.email for u in User.select(User.email).where(User.email.endswith(f"@{DOMAIN}"))}
    for start in range(0, count, PATIENTS_PER_BATCH):
        numbers = [n for n in range(start, min(count, start + PATIENTS_PER_BATCH)) if email("patient", n) not in have]
        if numbers:
            _batch(numbers, clinicians, count, password_hash, enrolled, now, summary)
    return summary


def _clinicians(password_hash: str, enrolled: dt.datetime) -> list[User]:
    with db.atomic():
        for n in range(CLINICIANS):
            User.get_or_create(
                email=email("clinician", n),
                defaults={
                    "name": f"Clinician {n + 1:02d}",
                    "role": CLINICIAN,
                    "password_hash": password_hash,
                    "totp_secret": "AFTERCAREDEMOTOTPKEY2345",
                    "is_demo": True,
                    "created_at": enrolled,
                },
            )
    return list(User.select().where(User.email.endswith(f"@{DOMAIN}"), User.role == CLINICIAN).order_by(User.email))


def _clinician_for(n: int, count: int, clinicians: list[User]) -> User:
    """The first clinician cares for a tenth of the patients (200 of 2,000); the rest share the others."""
    busy = max(1, count // 10)
    if n < busy:
        return clinicians[0]
    return clinicians[1 + (n - busy) % (len(clinicians) - 1)]


def _batch(numbers, clinicians, count, password_hash, enrolled, now, summary: Summary) -> None:
    with db.atomic():
        User.insert_many(
            [
                {
                    "email": email("patient", n),
                    "name": f"Patient {n + 1:05d}",
                    "role": PATIENT,
                    "password_hash": password_hash,
                    "timezone": ZONES[n % len(ZONES)],
                    "is_demo": True,
                    "created_at": enrolled,
                    "consented_at": enrolled,
                }
                for n in numbers
            ]
        ).execute()
        patients = {
            int(u.email[len("patient") : len("patient") + 5]): u
            for u in User.select().where(User.email.in_([email("patient", n) for n in numbers]))
        }
        CareRelationship.insert_many(
            [
                {
                    "patient": patients[n].id,
                    "clinician": _clinician_for(n, count, clinicians).id,
                    "created_at": enrolled,
                }
                for n in numbers
            ]
        ).execute()
        entries, checkin_rows, sessions = [], [], []
        for n in numbers:
            patient = patients[n]
            rng = random.Random(f"scale:{n}")
            entries.extend(_moods(patient, n, rng, enrolled, now))
            checkin_rows.extend(_checkins(patient, n, rng, enrolled, now))
            sessions.extend(_sessions(patient, rng, enrolled, now))
        for start in range(0, len(sessions), 1000):
            TreatmentSession.insert_many(sessions[start : start + 1000]).execute()
        mood.add_many(entries)  # after the sessions: the mood-after-session rollup counts from them
        for start in range(0, len(checkin_rows), 1000):
            CheckIn.insert_many(checkin_rows[start : start + 1000]).execute()
        points.refresh([patients[n].id for n in numbers])
    summary.patients += len(numbers)
    summary.mood_entries += len(entries)
    summary.checkins += len(checkin_rows)
    summary.sessions += len(sessions)


def _moods(patient: User, n: int, rng: random.Random, enrolled: dt.datetime, now: dt.datetime) -> list[tuple]:
    """A year of mood: one entry most days, two on about a third of them, a slow rise for most patients."""
    zone = patient.timezone
    start_mean, end_mean = rng.uniform(2.5, 5.0), rng.uniform(4.0, 8.0)
    rows = []
    first, last = local_day(enrolled, zone) + dt.timedelta(days=1), local_day(now, zone) - dt.timedelta(days=1)
    days = (last - first).days
    for d in range(days + 1):
        day = first + dt.timedelta(days=d)
        mean = start_mean + (end_mean - start_mean) * d / max(1, days)
        for slot in range(1 if rng.random() < 0.63 else 2):
            hour, minute = (9, rng.randrange(60)) if slot == 0 else (20, rng.randrange(60))
            when = to_utc(dt.datetime.combine(day, dt.time(hour, minute)), zone)
            score = max(0, min(10, round(mean + rng.gauss(0, 1.2))))
            recorded = when.replace(tzinfo=dt.UTC).isoformat()
            fingerprint = payload_hash(
                {"kind": "mood", "score": score, "note": "", "tags": [], "recorded_at": recorded}
            )
            cid = client_id(n, "mood", day.isoformat(), slot)
            rows.append((patient.id, cid, fingerprint, score, "", "", when, day, when, when))
    return rows


def _checkins(patient: User, n: int, rng: random.Random, enrolled: dt.datetime, now: dt.datetime) -> list[dict]:
    rows = []
    when = enrolled + dt.timedelta(days=1, hours=15)
    start_total = rng.randint(12, 22)
    while when < now:
        progress = (when - enrolled) / (now - enrolled)
        for spec in (instruments.PHQ9, instruments.GAD7):
            target = (
                round(start_total * (1 - 0.6 * progress) + rng.uniform(-2, 2)) if spec is instruments.PHQ9 else None
            )
            target = (
                target if target is not None else round(start_total * 0.8 * (1 - 0.5 * progress) + rng.uniform(-2, 2))
            )
            answers = [0] * len(spec.items)
            free = [i for i in range(len(answers)) if not (spec.safety_item and i == spec.safety_item - 1)]
            for _ in range(max(0, min(3 * len(free), target))):
                i = rng.choice([i for i in free if answers[i] < 3])
                answers[i] += 1
            difficulty = 0 if sum(answers) < 5 else 1 if sum(answers) < 10 else 2
            row = checkins.stored_fields(spec, answers, difficulty)  # as checkins.submit stores it
            rows.append(
                {
                    "patient": patient.id,
                    "client_id": client_id(n, spec.key, when.date().isoformat()),
                    **row,
                    "submitted_at": when,
                }
            )
        when += dt.timedelta(days=CHECKIN_EVERY)
    return rows


def _sessions(patient: User, rng: random.Random, enrolled: dt.datetime, now: dt.datetime) -> list[dict]:
    """The induction series two weeks after enrolment, a booster every four weeks, the next one booked."""
    zone = "America/New_York"
    first = local_day(enrolled, zone) + dt.timedelta(days=14)
    days = [first + dt.timedelta(days=d) for d in SERIES]
    booster = days[-1] + dt.timedelta(days=BOOSTER_EVERY)
    today = local_day(now, zone)
    while booster < today + dt.timedelta(days=BOOSTER_EVERY):
        days.append(booster)
        booster += dt.timedelta(days=BOOSTER_EVERY)
    hour = rng.choice((9, 11, 13, 15))
    rows = []
    number = 0
    for day in days:
        wall = dt.datetime.combine(day, dt.time(hour))
        starts_at = to_utc(wall, zone)
        future = starts_at > now
        number += 1
        rows.append(
            {
                "patient": patient.id,
                "kind": "infusion" if number <= len(SERIES) else "booster",
                "starts_at": starts_at,
                "wall_time": wall.strftime("%Y-%m-%dT%H:%M"),
                "zone": zone,
                "duration_minutes": 60,
                "status": SCHEDULED if future else COMPLETED,
                "number": number,
                "created_at": starts_at - dt.timedelta(days=7),
                "updated_at": starts_at - dt.timedelta(days=7),
            }
        )
        if future:
            break
    return rows
