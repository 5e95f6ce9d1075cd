"""What the Today screen shows: a greeting, today's entries, and where the patient is in their series."""

import datetime as dt
from operator import attrgetter

from ..db import columns
from ..db import one_read
from ..db import Prepared
from ..db import row_to
from ..guides import library as guides
from ..journey import preparation
from ..journey import scheduling
from ..localtime import to_local
from ..models import CheckIn
from ..models import MoodEntry
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models.intake import DRAFT
from ..selfreports import checkins
from ..selfreports import instruments


def greeting(now_local: dt.datetime) -> str:
    if now_local.hour < 5:
        return "Hello"
    if now_local.hour < 12:
        return "Good morning"
    if now_local.hour < 18:
        return "Good afternoon"
    return "Good evening"


def ago(delta: dt.timedelta) -> str:
    """Say how long ago something was, briefly: "just now", "20 min ago", "3 hours ago", "2 days ago"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 2:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} hour{'s' if hours > 1 else ''} ago"
    days = hours // 24
    return "yesterday" if days == 1 else f"{days} days ago"


def countdown(delta: dt.timedelta) -> str:
    """Say how long until a session in words a tired person reads at a glance."""
    minutes = int(delta.total_seconds() // 60)
    days, hours = divmod(minutes // 60, 24)
    if days >= 2:
        return f"in {days} days"
    if days == 1:
        return f"in 1 day and {hours} hour{'s' if hours != 1 else ''}" if hours else "in 1 day"
    if hours >= 1:
        return f"in {hours} hour{'s' if hours > 1 else ''}"
    return f"in {max(1, minutes)} minute{'s' if minutes > 1 else ''}"


# Today is the page patients open most, so it reads what it shows in a few written-out statements
# (db.Prepared), all in one read (db.one_read): the patient's sessions, each with whether its
# intention is written (for the next one's to-do list), each measure's last answer, today's
# entries, the latest intake, the care team.
SESSIONS = Prepared(
    f"SELECT {columns(TreatmentSession, 's')}, i.explore <> '' OR i.let_go <> '' OR i.carry <> ''"  # nosec B608
    " FROM treatment_session s LEFT JOIN intention i ON i.session_id = s.id WHERE s.patient_id = ?"
)
LAST_ANSWERS = Prepared("SELECT instrument, MAX(submitted_at) FROM check_in WHERE patient_id = ? GROUP BY instrument")
# Today's entries and the patient's latest entry, in one statement: the latest says "Last logged"
# when nothing is logged today (it is one of today's rows otherwise, and comes twice). Today's
# rows come unordered and are sorted here: asked for in recorded order, SQLite walks the patient's
# whole history by (patient, recorded_at) rather than the day's few rows by (patient, local_day),
# 135 µs instead of 5 for a patient with a year of entries.
ENTRIES = Prepared(
    f"SELECT 0, {columns(MoodEntry)} FROM mood_entry"  # nosec B608: SQL from module constants; every value is a bound parameter
    " WHERE patient_id = ? AND local_day = ? AND deleted_at IS NULL"
    f" UNION ALL SELECT 1, latest.* FROM (SELECT {columns(MoodEntry)} FROM mood_entry"  # nosec B608
    " WHERE patient_id = ? AND deleted_at IS NULL ORDER BY recorded_at DESC, id DESC LIMIT 1) latest"
)
INTAKE = Prepared(
    "SELECT status, requested_by_id FROM intake WHERE patient_id = ? ORDER BY created_at DESC, id DESC LIMIT 1"
)
CARE_TEAM = Prepared(
    """SELECT u.name FROM care_relationship c JOIN "user" u ON u.id = c.clinician_id
    WHERE c.patient_id = ? AND c.active = ? ORDER BY u.name"""
)
_time = CheckIn.submitted_at.python_value


def journey(patient: User, now: dt.datetime, sessions: list[TreatmentSession], intentions: set[int]) -> dict:
    """The next session and its to-dos, or where the patient is in the window of clarity and today's practices.

    `intentions` holds the ids of the sessions whose intention is written.
    """
    upcoming = scheduling.next_of(sessions, now)
    ahead = upcoming is not None and upcoming.starts_at > now
    window = scheduling.window_of(patient, sessions, now)
    return {
        "upcoming": upcoming,
        "countdown": countdown(upcoming.starts_at - now) if ahead else None,
        "todo": preparation.to_do(upcoming, intention_set=upcoming.id in intentions) if ahead else [],
        "window": window,
        "practices": scheduling.practices_for(window.day, window.no_driving) if window else [],
    }


def overview(patient: User, now: dt.datetime | None = None) -> dict:
    """Return everything the Today screen shows, for the template."""
    now = now or utcnow()
    now_local = to_local(now, patient.timezone)
    measures = instruments.chosen(patient)
    sessions, intentions, entries, latest = [], set(), [], None
    with one_read():
        for *row, intention_set in SESSIONS.run(patient.id):
            sessions.append(row_to(TreatmentSession, row))
            if intention_set:
                intentions.add(row[0])
        answered = {key: _time(at) for key, at in LAST_ANSWERS.run(patient.id)}
        for part, *row in ENTRIES.run(patient.id, _day(now_local.date()), patient.id):
            if part:
                latest = row
            else:
                entries.append(row_to(MoodEntry, row))
        intake = INTAKE.one(patient.id)
        care_team = [name for (name,) in CARE_TEAM.run(patient.id, True)]
    entries.sort(key=_recorded, reverse=True)
    last = entries[0] if entries else (row_to(MoodEntry, latest) if latest else None)
    stage = guides.stage_of(sessions, now)
    guide = guides.for_stage(stage)
    return {
        "greeting": greeting(now_local),
        "last_mood": last,
        "last_mood_ago": ago(now - last.recorded_at) if last else None,
        "due": checkins.due_from(answered, sessions, now, measures),
        "measures": measures,
        "entries": entries,
        "care_team": care_team,
        "last_checkins": answered,
        **journey(patient, now, sessions, intentions),
        "intake": _intake_card(intake, stage),
        "guide": guide,
        "what_to_expect": guides.what_to_expect(guide) if guide else None,
        "first_name": patient.name.split(" ")[0],
    }


def _intake_card(latest: tuple | None, stage: str) -> str | None:
    """What Today says about the intake: "start" or "continue" it, "again" when the clinic asked; else None.

    Someone already in treatment who never had an intake (they joined before the clinic used it)
    is not asked on Today; their clinician can ask them again.
    """
    if latest is None:
        return "start" if stage in ("before", "day") else None
    status, requested_by = latest
    if status != DRAFT:  # sent
        return None
    return "again" if requested_by else "continue"


_day = MoodEntry.local_day.db_value
_recorded = attrgetter("recorded_at", "id")  # newest first, in the order ENTRIES picks the latest by
