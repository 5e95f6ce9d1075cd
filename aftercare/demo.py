"""A demo clinic: an admin, two clinicians and eight patients with four months of self-reports."""

import datetime as dt
import io
import json
import math
import random
import time
import uuid
import zoneinfo
from dataclasses import dataclass

import click
from flask import current_app
from flask.cli import with_appcontext
from peewee import chunked
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter

from . import scale as clinic_scale
from . import settings
from .circles.demo import seed_demo_circles
from .db import db
from .intake import intakes
from .intake import questions
from .journal import entries as journal_entries
from .journal import images
from .journey import scheduling
from .localtime import local_day
from .localtime import to_local
from .models import ADMIN
from .models import AuditEvent
from .models import CareRelationship
from .models import CheckIn
from .models import CLINICIAN
from .models import COMPLETED
from .models import Delivery
from .models import Device
from .models import Intake
from .models import Intention
from .models import JournalEntry
from .models import JournalImage
from .models import MoodEntry
from .models import NO_SHOW
from .models import PATIENT
from .models import payload_hash
from .models import Playlist
from .models import Reminder
from .models import REMINDER_FAILED
from .models import REMINDER_PLANNED
from .models import REMINDER_SENT
from .models import SafetyAlert
from .models import SCHEDULED
from .models import TreatmentSession
from .models import User
from .models import utcnow
from .models.intake import REVIEWED
from .models.intake import SUBMITTED
from .passwords import hash_password
from .playlists.demo import seed_demo_playlists
from .reminders import planner
from .reminders import texts
from .selfreports import checkins
from .selfreports import instruments
from .selfreports import mood

DEMO_PASSWORD = "quiet river morning"
# Patients who asked for a daily "how are you?" nudge, at their local time.
MOOD_NUDGES = {"maya": "19:30", "jordan": "09:00", "tom": "20:00"}
INBOX_DAYS = 21  # weeks of reminders already in each patient's inbox
FAILING = "tom"  # whose phone stopped taking reminders four days ago: the panel flags it
FAILING_DAYS = 4
NOTICE = (
    "The clinic is closed on Monday for the public holiday. Sessions that day have moved; your clinician will "
    "tell you the new time. For anything urgent, call the clinic's number: it forwards to the clinician on call."
)
MESSAGES = {
    "maya": "It was good to see you so settled yesterday. Take the evening slowly, and bring your journal on the "
    "9th if you would like to talk through what came up.",
}
# Staff sign in with a second factor even in the demo. Add this key to an
# authenticator app, or print the current code with
#   python -c "import pyotp; print(pyotp.TOTP('AFTERCAREDEMOTOTPKEY2345').now())"
DEMO_TOTP_SECRET = "AFTERCAREDEMOTOTPKEY2345"
DOMAIN = "demo.aftercare.example"

STAFF = [
    (ADMIN, "Alex Admin", "admin"),
    (CLINICIAN, "Dr. Dana Reyes", "dana"),
    (CLINICIAN, "Sam Okafor, NP", "sam"),
]


@dataclass(frozen=True)
class Course:
    """How a patient's self-reports move over the demo's four months."""

    label: str
    mood: tuple[float, float]  # mean mood (0-10) at enrolment and after COURSE_DAYS
    phq9: tuple[int, int]
    gad7: tuple[int, int] | None
    # > 0: most change comes early (a response to the induction series); < 0: it accelerates late.
    bend: float = 3.0
    skip_days: float = 0.12  # share of days without any entry
    silent_days: int = 0  # no entries in the last N days (the panel's "no entries" flag)
    open_alert: bool = False  # a PHQ-9 today with item 9 = 1 (CLIN-02)
    # Measures beyond depression and anxiety, (start, end) like the others; a patient answers the
    # measures their course has (User.measures).
    pcl5: tuple[int, int] | None = None
    peg: tuple[float, float] | None = None

    @property
    def measures(self) -> tuple[str, ...]:
        keys = ("phq9", "gad7") if self.gad7 else ("phq9",)
        return keys + tuple(key for key in ("pcl5", "peg") if getattr(self, key))


REMISSION = Course("responder, in remission", mood=(3.0, 7.5), phq9=(18, 2), gad7=(14, 3))
RESPONDER = Course("responder", mood=(3.0, 7.0), phq9=(18, 6), gad7=(13, 5))
SLOWER = Course("responder, slower", mood=(3.2, 6.5), phq9=(17, 7), gad7=(12, 6), bend=1.5)
NON_RESPONDER = Course("no response yet", mood=(3.5, 3.6), phq9=(17, 16), gad7=(12, 12), bend=1.0, skip_days=0.2)
WITHDRAWING = Course(
    "no response yet, stopped logging",
    mood=(3.8, 3.4),
    phq9=(16, 15),
    gad7=(11, 12),
    bend=1.0,
    skip_days=0.25,
    silent_days=8,
)
# Followed for PTSD: the PCL-5 falls from well above the cut-off (33) to below it.
PTSD = Course("PTSD, PCL-5 below the cut-off", mood=(3.4, 6.6), phq9=(15, 6), gad7=None, pcl5=(54, 24), bend=2.0)
# Followed for chronic pain (CRPS): the PEG falls by more than 30%.
PAIN = Course("chronic pain, PEG down by a third", mood=(3.8, 6.0), phq9=(13, 7), gad7=None, peg=(7.3, 4.4), bend=2.0)
WORSENING = Course(
    "getting worse, open safety alert", mood=(4.5, 2.5), phq9=(12, 19), gad7=(9, 15), bend=-2.0, open_alert=True
)

# (name, login, time zone, clinician login, course)
PATIENTS = [
    ("Maya Chen", "maya", "America/Los_Angeles", "dana", REMISSION),
    ("Jordan Blake", "jordan", "America/Chicago", "dana", RESPONDER),
    ("Priya Nair", "priya", "America/New_York", "dana", NON_RESPONDER),
    ("Luis Ortega", "luis", "America/Denver", "dana", WORSENING),
    ("Hannah Weiss", "hannah", "Europe/Berlin", "sam", RESPONDER),
    ("Tom Becker", "tom", "America/New_York", "sam", WITHDRAWING),
    ("Grace Kim", "grace", "Pacific/Honolulu", "sam", RESPONDER),
    ("Ola Nowak", "ola", "Europe/Warsaw", "sam", SLOWER),
    ("Marcus Reed", "marcus", "America/New_York", "dana", PTSD),
    ("Elena Silva", "elena", "America/Chicago", "sam", PAIN),
]

COURSE_DAYS = 120  # about four months between enrolment and today, on the first load
# The last week goes through selfreports.mood.submit, as a phone would send it; older
# history is inserted directly (mood.submit refuses entries over 30 days old, and one
# audit row per historical entry would bury the demo's audit log).
RECENT_DAYS = 7
INDUCTION_DAYS = 21  # twice-weekly infusions at the start of treatment
# Every id is derived from the patient and the day, so loading twice adds nothing.
ID_NAMESPACE = uuid.UUID("8a3c1f0e-5b7d-4e2a-9c61-0d4f2b7e9a15")

SLOTS = ((7, 30, 120), (12, 30, 150), (19, 0, 180))  # local (hour, minute, spread in minutes)
GOOD_NOTES = (
    "Walked to the park with the dog",
    "Slept through the night",
    "Good talk with my sister",
    "Integration session helped",
    "Cooked dinner, felt like myself",
    "Felt lighter today",
    "Went back to the climbing gym",
)
LOW_NOTES = (
    "Hard morning",
    "Didn't sleep much",
    "Stayed in bed late",
    "Work stress",
    "Felt flat all day",
    "Skipped lunch, no appetite",
    "Argument at home",
)
INFUSION_NOTES = ("Infusion day. Tired and a bit queasy after", "Infusion this morning, resting")


def demo_email(login: str) -> str:
    return f"{login}@{DOMAIN}"


def demo_id(*parts) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(str(p) for p in parts)))


def progress(course: Course, day_number: int) -> float:
    """Return how far along its course a patient is on a day (0 at enrolment, 1 from COURSE_DAYS on)."""
    p = min(1.0, max(0.0, day_number / COURSE_DAYS))
    return (1 - math.exp(-course.bend * p)) / (1 - math.exp(-course.bend))


def between(ends: tuple[float, float], course: Course, day_number: int) -> float:
    start, end = ends
    return start + (end - start) * progress(course, day_number)


def local_moment(day: dt.date, hour: int, minute: int, zone: str) -> dt.datetime:
    """Return a local wall-clock time on a day as a naive UTC datetime."""
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zoneinfo.ZoneInfo(zone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def mood_day(login: str, course: Course, zone: str, day: dt.date, day_number: int) -> list[dict]:
    """Return one day's mood entries as mood.submit payloads (maybe none), the same on every run."""
    rng = random.Random(f"{login}:mood:{day.isoformat()}")
    if rng.random() < course.skip_days:
        return []
    count = rng.choices((1, 2, 3), weights=(45, 40, 15))[0]
    slots = {1: (SLOTS[2],), 2: (SLOTS[0], SLOTS[2]), 3: SLOTS}[count]
    mean = between(course.mood, course, day_number) + rng.gauss(0, 0.8)  # some days are worse
    infusion = day_number < INDUCTION_DAYS and day.weekday() in (0, 3)
    entries = []
    for slot, (hour, minute, spread) in enumerate(slots):
        offset = rng.randrange(spread)
        score = max(0, min(10, round(mean + rng.gauss(0, 0.6))))
        note, tags = "", []
        if infusion and slot == 0:
            note, tags = rng.choice(INFUSION_NOTES), ["nausea", "energy"]
        elif rng.random() < 0.2:
            note = rng.choice(GOOD_NOTES if score >= 6 else LOW_NOTES)
        if not tags and rng.random() < 0.3:
            tags = rng.sample(mood.DEFAULT_TAGS, rng.choice((1, 1, 2)))
        when = local_moment(day, hour + (minute + offset) // 60, (minute + offset) % 60, zone)
        entries.append(
            {
                "client_id": demo_id(login, "mood", day.isoformat(), slot),
                "score": score,
                "note": note,
                "tags": tags,
                "recorded_at": when.replace(tzinfo=dt.UTC).isoformat(),
            }
        )
    return entries


def answers_for(spec: instruments.Instrument, total: int, rng: random.Random, item9: int = 0) -> list[int]:
    """Spread a sum over a questionnaire's items (each up to its highest answer); item 9 is set on its own."""
    answers = [0] * len(spec.items)
    free = [i for i in range(len(answers)) if not (spec is instruments.PHQ9 and i == 8)]
    if spec is instruments.PHQ9:
        answers[8] = item9
    total = max(0, min(sum(spec.items[i].high for i in free), total - item9))
    for _ in range(total):
        i = rng.choice([i for i in free if answers[i] < spec.items[i].high])
        answers[i] += 1
    return answers


def difficulty_for(total: int) -> int:
    return 0 if total < 5 else 1 if total < 10 else 2 if total < 20 else 3


def checkin_days(login: str, start: dt.date, today: dt.date, course: Course) -> list[dt.date]:
    """Return the check-in days: enrolment, then every 2-4 weeks."""
    rng = random.Random(f"{login}:checkins")  # enrolment never moves, so neither do these
    days, day = [], start
    while day <= today:
        days.append(day)
        day += dt.timedelta(days=rng.randint(14, 28))
    if course.open_alert:
        # Today's PHQ-9 (sent through checkins.submit below) is this patient's latest.
        days = [d for d in days if d == start or d < today - dt.timedelta(days=10)]
    return days


def checkin_rows(patient: User, login: str, course: Course, start: dt.date, today: dt.date) -> list[dict]:
    rows = []
    every_few_weeks = checkin_days(login, start, today, course)
    weekly = [start + dt.timedelta(days=d) for d in range(0, (today - start).days + 1, 7)]
    for day in sorted(set(every_few_weeks) | (set(weekly) if course.peg else set())):
        day_number = (day - start).days
        rng = random.Random(f"{login}:checkin:{day.isoformat()}")
        when = local_moment(day, 10, rng.randrange(0, 50), patient.timezone)
        for key in course.measures:
            spec = instruments.INSTRUMENTS[key]
            # The PEG (past week) weekly; the others on the check-in days, every two to four weeks.
            if day not in (weekly if spec.rhythm.every_days == 7 else every_few_weeks):
                continue
            target = between(getattr(course, key), course, day_number) + rng.uniform(-1, 1)
            # A mean (PEG) is asked for as the sum of its items.
            answers = answers_for(spec, round(target * (len(spec.items) if spec.scoring == "mean" else 1)), rng)
            difficulty = difficulty_for(sum(answers)) if spec.extra else None
            # What checkins.submit would have stored for the same answers, fingerprint included.
            row = checkins.stored_fields(spec, answers, difficulty)
            rows.append(
                {
                    "patient": patient.id,
                    "client_id": demo_id(login, spec.key, day.isoformat()),
                    **row,
                    "submitted_at": when,
                }
            )
    return rows


def load_history(patient: User, login: str, course: Course, now: dt.datetime) -> None:
    """Add the patient's mood entries and check-ins that are not there yet."""
    zone = patient.timezone
    # Self-reports start the day after enrolment (the first check-in is the baseline).
    start = local_day(patient.created_at, zone) + dt.timedelta(days=1)
    today = local_day(now, zone)
    have_moods = {cid for (cid,) in MoodEntry.select(MoodEntry.client_id).where(MoodEntry.patient == patient).tuples()}
    have_checkins = {cid for (cid,) in CheckIn.select(CheckIn.client_id).where(CheckIn.patient == patient).tuples()}

    old_rows, recent = [], []
    recent_from = today - dt.timedelta(days=RECENT_DAYS)
    last_day = today - dt.timedelta(days=course.silent_days)
    day = start
    while day <= last_day:
        for entry in mood_day(login, course, zone, day, (day - start).days):
            when = dt.datetime.fromisoformat(entry["recorded_at"]).replace(tzinfo=None)
            if entry["client_id"] in have_moods or when > now:
                continue
            if day >= recent_from:
                recent.append(entry)
                continue
            fields = {k: entry[k] for k in ("score", "note", "tags")}
            # In mood.BULK_FIELDS order, with the fingerprint mood.submit would have stored.
            fingerprint = payload_hash({"kind": "mood", **fields, "recorded_at": entry["recorded_at"]})
            tags = ",".join(entry["tags"])
            old_rows.append(
                (
                    patient.id,
                    entry["client_id"],
                    fingerprint,
                    entry["score"],
                    entry["note"],
                    tags,
                    when,
                    day,
                    when,
                    when,
                )
            )
        day += dt.timedelta(days=1)

    if old_rows:
        mood.add_many(old_rows)
    for entry in recent:
        mood.submit(patient, entry)

    new_checkins = [
        r for r in checkin_rows(patient, login, course, start, today) if r["client_id"] not in have_checkins
    ]
    for batch in chunked(new_checkins, 100):
        CheckIn.insert_many(batch).execute()

    if course.open_alert:
        # Through the real path, so the alert is raised exactly as a patient's answer would raise it.
        answers = answers_for(instruments.PHQ9, course.phq9[1], random.Random(f"{login}:item9"), item9=1)
        checkins.submit(
            patient,
            {
                "client_id": demo_id(login, "phq9", "item9"),
                "instrument": "phq9",
                "answers": answers,
                "difficulty": difficulty_for(sum(answers)),
            },
        )


@click.command("demo")
@click.option(
    "--scale",
    type=click.IntRange(0, 100_000),
    default=0,
    help="Also add this many generated patients with a year of data each (2,000 for the benchmarks).",
)
@with_appcontext
def demo_command(scale):
    """Create (or refresh) the demo clinic. Development only; refuses a database with real accounts."""
    if current_app.config["PRODUCTION"]:
        # CFG-01: the demo's published password must never reach a clinic's database.
        raise click.ClickException(
            "The demo clinic is for development machines only: run it with AFTERCARE_ENV=development "
            "(`make demo` does), never against a clinic's database."
        )
    real = User.select().where(User.is_demo == False).count()  # noqa: E712
    if real:
        raise click.ClickException(
            f"This database holds {real} real account(s); the demo clinic only goes into an empty or demo database."
        )
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    enrolled = now - dt.timedelta(days=COURSE_DAYS)
    with db.atomic():
        users = {}
        for role, name, login in STAFF:
            users[login] = ensure_user(login, name, role, password_hash, totp_secret=DEMO_TOTP_SECRET)
        settings.update(timezone=CLINIC_ZONE)
        playlists = seed_demo_playlists(users["dana"])
        people = dict(users)
        for name, login, zone, clinician, course in PATIENTS:
            patient = ensure_user(login, name, PATIENT, password_hash, timezone=zone)
            people[login] = patient
            if patient.measures != ",".join(course.measures):
                patient.measures = ",".join(course.measures)
                patient.save()
            # Enrolment anchors the history; it moves back only once, so later runs add the
            # days since then and never regenerate (or duplicate) what is there.
            if patient.created_at > enrolled:
                patient.created_at = patient.consented_at = enrolled
                patient.save()
            CareRelationship.get_or_create(
                patient=patient, clinician=users[clinician], defaults={"created_at": patient.created_at}
            )
            load_history(patient, login, course, now)
            load_journey(patient, login, course, now, playlists)
            load_pictures(patient, login, now)
            if login in MOOD_NUDGES and not patient.mood_nudge_at:
                patient.mood_nudge_at = MOOD_NUDGES[login]
                patient.save()
            load_inbox(patient, login, now, users)
            load_intake(patient, login, now)
            planner.plan(patient, now)  # the reminders their sessions, questionnaires and nudge call for
        for member in seed_demo_circles(people, CLINIC_ZONE, now):
            planner.plan(member, now)  # a day and an hour before each meeting
        demo_device(users["dana"], "dana", "Chrome on Android")  # hears of new safety alerts (CLIN-03)
        AuditEvent.record("demo_loaded", actor=None)
    click.echo(f"Demo clinic ready. Every demo account's password is: {DEMO_PASSWORD}")
    for role, _name, login in STAFF:
        click.echo(f"  {role:9} {demo_email(login)}  (two-step key {DEMO_TOTP_SECRET})")
    for name, login, zone, clinician, course in PATIENTS:
        click.echo(f"  patient   {demo_email(login)}  ({name}, {zone}, cared for by {clinician}; {course.label})")
    click.echo(
        f"{MoodEntry.select().count()} mood entries, {CheckIn.select().count()} check-ins, "
        f"{SafetyAlert.open().count()} open safety alert(s)."
    )
    if scale:
        started = time.monotonic()
        made = clinic_scale.generate(scale, DEMO_PASSWORD, now)
        if made.skipped:
            click.echo(f"The {scale} generated patients are there already.")
        else:
            click.echo(
                f"Generated {made.patients} patients over {made.clinicians} clinicians: {made.mood_entries:,} mood entries, "
                f"{made.checkins:,} check-ins, {made.sessions:,} sessions in {time.monotonic() - started:.0f} s. "
                f"They sign in as {clinic_scale.email('patient', 0)} and so on, clinicians as "
                f"{clinic_scale.email('clinician', 0)}, with the demo password."
            )
    upcoming = TreatmentSession.select().where(TreatmentSession.status == SCHEDULED).count()
    click.echo(
        f"{TreatmentSession.select().count()} sessions ({upcoming} upcoming), "
        f"{JournalEntry.select().count()} journal entries, {Playlist.select().count()} playlists, "
        f"{Reminder.select().where(Reminder.status == REMINDER_PLANNED).count()} reminders planned."
    )


def ensure_user(login, name, role, password_hash, timezone="America/New_York", totp_secret=None) -> User:
    user, _ = User.get_or_create(
        email=demo_email(login),
        defaults={
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "timezone": timezone,
            "totp_secret": totp_secret,
            "is_demo": True,
        },
    )
    return user


# --- The treatment journey: sessions, intentions, music, rides, journal -----------------

CLINIC_ZONE = "America/New_York"
SERIES_DAYS = (0, 3, 7, 10, 14, 17)  # six infusions over two and a half weeks
BOOSTER_EVERY = 28
# Each patient keeps their own slot (clinic time), so a day's roster reads like one room in turns,
# and the patients far from the clinic are not asked in before dawn.
SLOT_HOURS = {"priya": 9, "jordan": 11, "luis": 13, "maya": 15, "hannah": 9, "ola": 11, "tom": 13, "grace": 15}
INTENTIONS = [
    (
        "Why I keep pushing people away when I most need them.",
        "The voice that says I am a burden.",
        "I am allowed to take up space.",
    ),
    (
        "The heaviness I wake up with, and where it started.",
        "Blaming myself for my brother's illness.",
        "Soften, and let it move through.",
    ),
    ("What joy used to feel like.", "Waiting to feel better before I live.", "Curiosity over fear."),
    ("My grief for my mother.", "The need to have it all figured out.", "I can hold this gently."),
]
RIDES = ["my partner, Alex", "my sister", "a friend from work", "my dad"]
# One prompt per day of the window, each with several reflections, so no two sessions read alike.
JOURNAL = [
    (
        "What did you notice during the session?",
        [
            "Colours at first, then a long quiet. I saw the kitchen of the house I grew up in and, for once, "
            "it did not hurt to be there.",
            "Mostly my body: heavy arms, then very light. The music pulled me along when my thoughts started to race.",
            "I felt far away from everything and it was not frightening. I kept thinking of the sea.",
            "Harder today. A lot of old anger came up. The nurse's hand on my shoulder helped more than I expected.",
        ],
    ),
    (
        "How did your intention land?",
        [
            "I went in wanting to understand the heaviness. What came was less an answer than permission to "
            "stop fighting it. I cried on the way home with my sister and it felt like relief.",
            "My sentence came back to me in the middle of the session and I said it out loud. It felt true "
            "for the first time.",
            "I forgot my intention completely, and maybe that was the point. I was just there.",
            "It landed sideways. I wanted to let go of blaming myself and instead I felt how tired I am of it.",
        ],
    ),
    (
        "What would you like to carry forward?",
        [
            "Walk every morning, even ten minutes. Call Dana's office if the old thoughts get loud again.",
            "Say no to one thing this week without explaining myself.",
            "Write down one good moment each evening before bed.",
            "Text my brother. It has been too long.",
        ],
    ),
]


def load_journey(patient: User, login: str, course: Course, now: dt.datetime, playlists: list[Playlist]) -> None:
    """Give a demo patient a realistic series: induction, boosters, an upcoming session, reflections."""
    rng = random.Random(f"journey-{login}")
    zone = zoneinfo.ZoneInfo(CLINIC_ZONE)
    start = local_day(patient.created_at, CLINIC_ZONE) + dt.timedelta(days=14)
    today = local_day(now, CLINIC_ZONE)
    days = [start + dt.timedelta(days=d) for d in SERIES_DAYS]
    booster = days[-1] + dt.timedelta(days=BOOSTER_EVERY)
    while booster < today - dt.timedelta(days=2):
        days.append(booster)
        booster += dt.timedelta(days=BOOSTER_EVERY)
    if login == "maya":
        days.append(today - dt.timedelta(days=1))  # yesterday: Maya is in the window of clarity
    session_playlists = [p for p in playlists if p.purpose == "session"] or [None]
    hour = SLOT_HOURS.get(login, 10)
    for number, day in enumerate(days, start=1):
        wall = dt.datetime.combine(day, dt.time(hour, 0))
        starts_at = wall.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
        status = NO_SHOW if (login == "tom" and number == len(days)) else COMPLETED
        kind = "infusion" if number <= len(SERIES_DAYS) else "booster"
        session = ensure_session(patient, kind, wall, starts_at, status)
        session.playlist = session_playlists[number % len(session_playlists)]
        session.ride_name = RIDES[rng.randrange(len(RIDES))]
        session.ride_confirmed_at = starts_at - dt.timedelta(days=1)
        session.save()
        explore, let_go, carry = INTENTIONS[rng.randrange(len(INTENTIONS))]
        Intention.get_or_create(
            session=session,
            defaults={
                "explore": explore,
                "let_go": let_go,
                "carry": carry,
                "updated_at": starts_at - dt.timedelta(days=1),
            },
        )
        if status == COMPLETED:
            for offset, (prompt, bodies) in enumerate(JOURNAL[: 1 + rng.randrange(len(JOURNAL))]):
                body = bodies[rng.randrange(len(bodies))]
                written = starts_at + dt.timedelta(days=offset, hours=6)
                if written > now:
                    break
                client_id = demo_id(login, "journal", day.isoformat(), offset)
                JournalEntry.get_or_create(
                    patient=patient,
                    client_id=client_id,
                    defaults={
                        "session": session,
                        "payload_hash": payload_hash({"demo": client_id}),
                        "prompt": prompt,
                        "body": body,
                        "shared_at": written if offset != 1 or rng.random() < 0.6 else None,
                        "created_at": written,
                        "updated_at": written,
                    },
                )
    # What comes next: an infusion in two days for some, a follow-up for the others.
    upcoming = {"jordan": (2, "infusion"), "priya": (2, "infusion"), "luis": (1, "booster"), "maya": (9, "integration")}
    offset, kind = upcoming.get(login, (5 + rng.randrange(10), "follow_up"))
    wall = dt.datetime.combine(today + dt.timedelta(days=offset), dt.time(hour, 0))
    starts_at = wall.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    session = ensure_session(patient, kind, wall, starts_at, SCHEDULED)
    if login == "jordan":
        Intention.get_or_create(
            session=session,
            defaults={"explore": INTENTIONS[2][0], "let_go": INTENTIONS[2][1], "carry": INTENTIONS[2][2]},
        )
    scheduling.series_changed(patient)


# --- Pictures in the journal: made here with Pillow (no photograph of anyone), stored as a phone would send them

# Maya drew the evening after yesterday's session and shared it with Dana; she kept this morning's sky
# to herself. Priya's drawing, with no words, is from the evening after her last session.
PICTURES = {
    "maya": [
        (
            "drawing",
            ("session", 0, 20, 30),
            "I could not find the words tonight, so I drew it. The heavy grey is lifting and there is warm light "
            "underneath.",
            True,
        ),
        ("photo", ("today", 0, 7, 40), "The sky on my walk this morning. I stood and watched it for a while.", False),
    ],
    "priya": [("drawing", ("session", 0, 21, 0), "", False)],
}
DRAW_COLOURS = ("#2f3b4a", "#5b8fb9", "#4f9d8a", "#e0a84f", "#d98594", "#9a8cc2")


def demo_drawing(seed: str) -> bytes:
    """A finger drawing as the journal's drawing area makes it: calm strokes on white paper, a PNG."""
    rng = random.Random(seed)
    paper = Image.new("RGB", (1000, 1000), "white")
    pen = ImageDraw.Draw(paper)
    ink, sky, sea, sun, rose, lavender = DRAW_COLOURS
    # A sun low on the right, rays, and waves of colour below it.
    pen.ellipse((640, 160, 860, 380), outline=sun, width=16)
    for angle in range(0, 360, 30):
        x, y = 750 + 160 * math.cos(math.radians(angle)), 270 + 160 * math.sin(math.radians(angle))
        pen.line((x, y, 750 + 200 * math.cos(math.radians(angle)), 270 + 200 * math.sin(math.radians(angle))), sun, 10)
    for row, colour in enumerate((sky, sea, lavender, sky, rose)):
        base, phase = 520 + row * 90, rng.random() * math.tau
        wave = [(x, base + 26 * math.sin(x / 70 + phase)) for x in range(40, 961, 12)]
        pen.line(wave, fill=colour, width=16 if row % 2 else 36, joint="curve")
    # Heavy grey arcs on the left, lighter and thinner as they rise.
    for n in range(5):
        x, y, r = 250, 400 - n * 55, 150 - n * 22
        pen.arc((x - r, y - r, x + r, y + r), 190, 350, fill=ink if n < 3 else lavender, width=22 - 4 * n)
    return _png(paper)


def demo_sky() -> bytes:
    """A calm morning sky over dark hills, as a phone's JPEG (4:3, full size)."""
    width, height = 1600, 1200
    top, horizon = (61, 110, 168), (246, 201, 160)
    sky = Image.new("RGB", (width, height))
    pen = ImageDraw.Draw(sky)
    for y in range(height):
        t = min(1.0, y / (height * 0.72))
        pen.line(
            [(0, y), (width, y)], fill=tuple(round(a + (b - a) * t**1.4) for a, b in zip(top, horizon, strict=True))
        )
    glow = Image.new("L", (width, height), 0)
    ImageDraw.Draw(glow).ellipse((1040, 640, 1240, 840), fill=255)
    sky.paste((255, 236, 200), mask=glow.filter(ImageFilter.GaussianBlur(40)))
    clouds = Image.new("L", (width, height), 0)
    shapes = ImageDraw.Draw(clouds)
    for x, y, w, h in ((180, 260, 520, 70), (520, 330, 420, 50), (900, 200, 380, 60), (1200, 420, 300, 40)):
        shapes.ellipse((x, y, x + w, y + h), fill=150)
    sky.paste((255, 244, 236), mask=clouds.filter(ImageFilter.GaussianBlur(24)))
    hills = [(0, 980), *[(x, 900 + 60 * math.sin(x / 230) + 25 * math.sin(x / 71)) for x in range(0, width + 1, 20)]]
    ImageDraw.Draw(sky).polygon([*hills, (width, height), (0, height)], fill=(38, 52, 64))
    out = io.BytesIO()
    sky.save(out, "JPEG", quality=90)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def load_pictures(patient: User, login: str, now: dt.datetime) -> None:
    """Give a demo patient's journal their drawings and photos, through the journal's own pipeline."""
    last = (
        TreatmentSession.select()
        .where(TreatmentSession.patient == patient, TreatmentSession.status == COMPLETED)
        .order_by(TreatmentSession.starts_at.desc())
        .first()
    )
    for n, (kind, (anchor, days, hour, minute), body, shared) in enumerate(PICTURES.get(login, [])):
        client_id = demo_id(login, "picture", n)
        if JournalEntry.select().where(JournalEntry.patient == patient, JournalEntry.client_id == client_id).exists():
            continue
        day = local_day(last.starts_at if anchor == "session" and last else now, patient.timezone)
        written = min(now, local_moment(day + dt.timedelta(days=days), hour, minute, patient.timezone))
        data = demo_drawing(f"{login}-{n}") if kind == "drawing" else demo_sky()
        session_id = last.id if anchor == "session" and last else None
        entry, _ = journal_entries.submit(
            patient,
            {"client_id": client_id, "body": body, "session_id": session_id},
            [images.Upload(kind, data)],
        )
        JournalEntry.update(created_at=written, updated_at=written, shared_at=written if shared else None).where(
            JournalEntry.id == entry.id
        ).execute()
        JournalImage.update(created_at=written).where(JournalImage.entry == entry.id).execute()


# A demo patient's intake answers where nothing needs a clinician's eye (weight and height are added per patient).
DEMO_INTAKE_CLEAR = {
    **dict.fromkeys(("bp", "heart", "brain", "pressure", "liver", "seizures", "bladder", "apnoea"), "no"),
    **dict.fromkeys(("pregnant", "conceiving", "breastfeeding"), "no"),
    **dict.fromkeys(("psychosis", "mania", "dissociative", "eating", "hospital", "suicidal_now", "attempt_past"), "no"),
    "weight_unit": "kg",
    "height_unit": "cm",
    "audit_c1": "1",
    "audit_c2": "0",
    "audit_c3": "0",
    "sex": "unsaid",
    "cannabis": "never",
    "stimulants": "never",
    "dissociatives_before": "no",
    "reaction": "no",
    "driver": "My partner",
}
# Every demo patient answered the intake before their first session, and their clinician reviewed
# it. Priya's clinician asked her to answer again this week; her new answers wait for review, with
# a highlighted answer (the panel and the roster show it as not reviewed).
DEMO_INTAKE_EXTRA = {
    "luis": {"bp": "yes", "bp_treated": "yes", "medicines": ["benzodiazepine"]},
    "marcus": {"cannabis": "weekly"},
    "priya": {"audit_c1": "3", "audit_c2": "1", "audit_c3": "0", "sex": "female"},
}
DEMO_INTAKE_AGAIN = ("priya", {"attempt_past": "yes", "medicines": ["lamotrigine"]})


def load_intake(patient: User, login: str, now: dt.datetime) -> None:
    """The patient's intake, sent two days after joining and reviewed; Priya's second one waits."""
    if Intake.select().where(Intake.patient == patient).exists():
        return
    seed = sum(map(ord, login))
    answers = {
        **DEMO_INTAKE_CLEAR,
        "weight": str(55 + seed % 35),
        "height": str(155 + seed % 35),
        **DEMO_INTAKE_EXTRA.get(login, {}),
    }
    form = intakes.current_form()
    clinician = patient.clinicians()[0]

    def sent(answers: dict, started: dt.datetime, **fields) -> None:
        read = questions.read(intakes.sections(form), answers, complete=True)
        Intake.create(
            patient=patient,
            form=form,
            answers=json.dumps(dict(read)),
            created_at=started,
            updated_at=started + dt.timedelta(days=1),
            submitted_at=started + dt.timedelta(days=1),
            **fields,
        )

    joined = patient.created_at
    sent(
        answers,
        joined,
        status=REVIEWED,
        reviewed_at=joined + dt.timedelta(days=2),
        reviewed_by=clinician,
        review_note="Read before the first session. Blood pressure to be checked on the day.",
    )
    if login == DEMO_INTAKE_AGAIN[0]:
        sent({**answers, **DEMO_INTAKE_AGAIN[1]}, now - dt.timedelta(days=3), status=SUBMITTED, requested_by=clinician)


def ensure_session(
    patient: User, kind: str, wall: dt.datetime, starts_at: dt.datetime, status: str
) -> TreatmentSession:
    session, _ = TreatmentSession.get_or_create(
        patient=patient,
        starts_at=starts_at,
        defaults={
            "kind": kind,
            "wall_time": wall.strftime("%Y-%m-%dT%H:%M"),
            "zone": CLINIC_ZONE,
            "duration_minutes": 60 if kind != "follow_up" else 30,
            "status": status,
        },
    )
    return session


# --------------------------------------------------------------------------- reminders already received


def demo_device(user: User, login: str, name: str) -> Device:
    """A stand-in browser subscription (a running worker forgets it when the push service says it does not exist)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from .push.vapid import b64url

    endpoint = f"https://fcm.googleapis.com/fcm/send/demo-{demo_id(login, 'device')}"
    existing = Device.get_or_none(Device.endpoint == endpoint)
    if existing is not None:
        return existing
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    auth = uuid.uuid5(ID_NAMESPACE, f"{login}:auth").bytes
    return Device.create(
        user=user, endpoint=endpoint, p256dh=b64url(point), auth=b64url(auth), name=name, created_at=user.created_at
    )


def load_inbox(patient: User, login: str, now: dt.datetime, users: dict) -> None:
    """Three weeks of reminders already received (the aftercare prompts of recent sessions, daily nudges), the
    clinic's notice, a message from the clinician; each delivered to the patient's phone, except that one
    patient's phone stopped taking them four days ago."""
    device = demo_device(
        patient, login, "Safari on iPhone" if login in ("maya", "grace", "ola") else "Chrome on Android"
    )
    wordings = texts.wordings()
    since = now - dt.timedelta(days=INBOX_DAYS)
    rows = []

    def received(rule, slot, at, text, path, **fields):
        if since <= at < now - dt.timedelta(minutes=30):
            rows.append(
                {
                    "user": patient.id,
                    "rule": rule,
                    "slot": slot,
                    "due_at": at,
                    "expires_at": at + dt.timedelta(hours=4),
                    "status": REMINDER_SENT,
                    "sent_at": at,
                    "text": text,
                    "path": path,
                    "created_at": at,
                    "updated_at": at,
                    "read_at": at + dt.timedelta(hours=2) if at < now - dt.timedelta(days=1) else None,
                    # insert_many takes its columns from the first row: every row names every one.
                    "session": fields.get("session"),
                    "author": fields.get("author"),
                }
            )

    sessions = TreatmentSession.select().where(
        TreatmentSession.patient == patient, TreatmentSession.status == COMPLETED, TreatmentSession.starts_at >= since
    )
    practices = {day: scheduling.practices_for(day) for day in (1, 2, 3)}
    for session in sessions:
        slot = planner.session_slot(session)
        local_day_ = to_local(session.starts_at, patient.timezone).date()
        evening = max(
            planner.at_local(local_day_, planner.EVENING_AT, patient.timezone), session.ends_at + dt.timedelta(hours=1)
        )
        until = to_local(session.ends_at + dt.timedelta(hours=24), patient.timezone)
        lead = texts.fill(wordings["after_evening"].lead, ("time",), {"time": f"tomorrow at {until:%H:%M}"})
        received("after_evening", slot, evening, lead, f"/journal/new?session={session.id}", session=session.id)
        for day in (1, 2, 3):
            practice = f"Today's practice: {practices[day][0].title}." if practices[day] else ""
            lead = texts.fill(wordings[f"after_day{day}"].lead, ("practice",), {"practice": practice})
            received(
                f"after_day{day}", slot, session.ends_at + dt.timedelta(days=day), lead, "/home", session=session.id
            )
    if login in MOOD_NUDGES:
        hours, minutes = (int(part) for part in MOOD_NUDGES[login].split(":"))
        for back in range(INBOX_DAYS + 1):
            day = to_local(now, patient.timezone).date() - dt.timedelta(days=back)
            at = planner.at_local(day, dt.time(hours, minutes), patient.timezone)
            logged = MoodEntry.select().where(
                MoodEntry.patient == patient, MoodEntry.local_day == day, MoodEntry.recorded_at < at
            )
            if not logged.exists():  # as the worker does: no nudge once today's mood is in
                received("mood_daily", day.isoformat(), at, wordings["mood_daily"].lead, "/home")
    notice_at = now - dt.timedelta(days=6)
    received("notice", "notice:demo-holiday", notice_at, NOTICE, "/inbox", author=users["admin"].id)
    if login in MESSAGES:
        received(
            "message",
            f"message:demo-{login}",
            now - dt.timedelta(days=1, hours=3),
            MESSAGES[login],
            "/inbox",
            author=users["dana"].id,
        )

    existing = {
        slot
        for (slot,) in Reminder.select(Reminder.rule.concat(":").concat(Reminder.slot))
        .where(Reminder.user == patient)
        .tuples()
    }
    new = [row for row in rows if f"{row['rule']}:{row['slot']}" not in existing]
    if not new:
        return
    Reminder.insert_many(new).execute()
    failing_since = now - dt.timedelta(days=FAILING_DAYS)
    deliveries = []
    last_ok = last_failed = None
    for reminder in (
        Reminder.select().where(Reminder.user == patient, Reminder.sent_at.is_null(False)).order_by(Reminder.sent_at)
    ):
        fails = login == FAILING and reminder.sent_at >= failing_since
        deliveries.append(
            {
                "reminder": reminder.id,
                "device": device.id,
                "host": device.host,
                "at": reminder.sent_at,
                "outcome": "retry" if fails else "delivered",
                "status": 503 if fails else 201,
            }
        )
        if fails:
            last_failed = reminder.sent_at
            Reminder.update(status=REMINDER_FAILED).where(Reminder.id == reminder.id).execute()
        else:
            last_ok = reminder.sent_at
    Delivery.insert_many(deliveries).execute()
    Device.update(last_success_at=last_ok, last_failure_at=last_failed, last_status=503 if last_failed else 201).where(
        Device.id == device.id
    ).execute()
