"""Mood entries: validating and storing a tap on the 0-10 scale exactly once, editing it the same day.

Both the JSON API (the offline outbox) and the plain form submit through `submit`, so the rules
hold however an entry arrives (DUR-03/04).
"""

import datetime as dt

from .. import alerts
from .. import settings
from ..db import db
from ..db import Prepared
from ..exports import fields
from ..exports import iso
from ..idempotency import same_payload
from ..idempotency import store_once
from ..inputs import client_id as parse_client_id
from ..inputs import Invalid
from ..inputs import require_int
from ..localtime import local_day
from ..models import AuditEvent
from ..models import MoodDay
from ..models import MoodEntry
from ..models import payload_hash
from ..models import User
from ..models import utcnow
from ..safety import has_crisis_language
from . import windows

MOOD_MIN, MOOD_MAX = 0, 10
NOTE_MAX = 1000
TAG_MAX = 32
TAGS_MAX = 10
DEFAULT_TAGS = ("sleep", "anxiety", "energy", "pain", "nausea")
# An entry saved offline may arrive days later; older or future times are a clock problem.
OLDEST_BACKFILL = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=10)

# The word under each point of the scale, by score (a tuple, so pages can remember the rendered scale).
MOOD_WORDS = (
    "Very low",  # 0
    "Very low",
    "Low",
    "Low",
    "A bit low",
    "Okay",  # 5
    "Okay",
    "Good",
    "Good",
    "Very good",
    "Very good",  # 10
)
SCORE_MESSAGE = "Choose how you feel on the scale from 0 to 10."


def clinic_tags() -> list[str]:
    """Return the mood tags patients can pick: the defaults plus the clinic's own."""
    return list(dict.fromkeys([*DEFAULT_TAGS, *settings.current().mood_tags]))


def _recorded_at(value, now: dt.datetime) -> dt.datetime:
    if value in (None, ""):
        return now
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Invalid({"recorded_at": "The time of this entry is not a date and time."}) from None
    if when.tzinfo is None:
        raise Invalid({"recorded_at": "The time of this entry needs a time zone offset."})
    when = when.astimezone(dt.UTC).replace(tzinfo=None)
    if when > now + CLOCK_SKEW:
        raise Invalid({"recorded_at": "This entry is dated in the future. Please check the phone's clock."})
    if when < now - OLDEST_BACKFILL:
        raise Invalid({"recorded_at": "This entry is more than 30 days old and cannot be added."})
    return when


def clean_fields(data: dict, *, partial: bool = False) -> dict:
    """Validate score, note and tags of a mood entry; return them cleaned."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    clean = {}
    if "score" in data or not partial:
        clean["score"] = require_int(data.get("score"), "score", MOOD_MIN, MOOD_MAX, SCORE_MESSAGE)
    if "note" in data or not partial:
        note = data.get("note") or ""
        if not isinstance(note, str):
            raise Invalid({"note": "The note must be text."})
        if len(note) > NOTE_MAX:
            raise Invalid({"note": f"Please keep the note under {NOTE_MAX:,} characters (it has {len(note):,})."})
        clean["note"] = note.strip()
    if "tags" in data or not partial:
        tags = data.get("tags") or []
        if isinstance(tags, str):
            tags = [t for t in tags.split(",") if t]
        if not isinstance(tags, list) or len(tags) > TAGS_MAX or not all(isinstance(t, str) for t in tags):
            raise Invalid({"tags": f"Choose up to {TAGS_MAX} tags from the list."})
        allowed = set(clinic_tags())
        tags = list(dict.fromkeys(t.strip().lower() for t in tags))
        unknown = [t for t in tags if t not in allowed]
        if unknown:
            raise Invalid({"tags": f"Unknown tag: {unknown[0][:TAG_MAX]}. Choose from the list."})
        clean["tags"] = tags
    return clean


def _flag(patient: User, entry: MoodEntry) -> None:
    alerts.flag_writing(
        patient, entry.note, about=alerts.subject("mood", entry.id), detail="Crisis language in a mood note", mood=entry
    )


def submit(patient: User, data: dict) -> tuple[MoodEntry, bool]:
    """Store a mood entry once; return (entry, created). A replay returns the original."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    key = parse_client_id(data.get("client_id"))
    fields = clean_fields(data)
    now = utcnow()
    recorded_at = _recorded_at(data.get("recorded_at"), now)
    fingerprint = payload_hash({"kind": "mood", **fields, "recorded_at": data.get("recorded_at") or None})

    row = {**fields, "tags": ",".join(fields["tags"]), "payload_hash": fingerprint, "recorded_at": recorded_at}
    row.update(local_day=local_day(recorded_at, patient.timezone), created_at=now, updated_at=now)

    def logged(entry: MoodEntry) -> None:
        ADD_TO_DAY.run(patient.id, _day(entry.local_day), entry.score, entry.score, entry.score)
        windows.add(patient.id, entry.recorded_at, entry.local_day, entry.score)
        _flag(patient, entry)
        AuditEvent.record("mood_logged", actor=patient, patient=patient)

    return store_once(MoodEntry, patient, key, same_payload(fingerprint), row, logged, insert=_insert)


# The hot path, written out (db.Prepared): a new entry in one statement that is also the replay
# check, and the day's rollup moved on by one upsert, as MoodDay.refresh would recompute it.
INSERT_ENTRY = Prepared(
    """INSERT INTO mood_entry (patient_id, client_id, payload_hash, score, note, tags, recorded_at, local_day,
        created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (patient_id, client_id) DO NOTHING RETURNING id"""
)
ADD_TO_DAY = Prepared(
    """INSERT INTO mood_day (patient_id, day, count, total, low, high) VALUES (?, ?, 1, ?, ?, ?)
    ON CONFLICT (patient_id, day) DO UPDATE SET
        count = mood_day.count + 1,
        total = mood_day.total + excluded.total,
        low = CASE WHEN excluded.low < mood_day.low THEN excluded.low ELSE mood_day.low END,
        high = CASE WHEN excluded.high > mood_day.high THEN excluded.high ELSE mood_day.high END"""
)
_time = MoodEntry.recorded_at.db_value
_day = MoodEntry.local_day.db_value


def _insert(values: dict) -> int | None:
    found = INSERT_ENTRY.one(
        values["patient"],
        values["client_id"],
        values["payload_hash"],
        values["score"],
        values["note"],
        values["tags"],
        _time(values["recorded_at"]),
        _day(values["local_day"]),
        _time(values["created_at"]),
        _time(values["updated_at"]),
    )
    return found[0] if found else None


BULK_FIELDS = (
    "patient",
    "client_id",
    "payload_hash",
    "score",
    "note",
    "tags",
    "recorded_at",
    "local_day",
    "created_at",
    "updated_at",
)


def add_many(rows: list[tuple]) -> None:
    """Store many past entries at once (the demo and clinic-scale data), their rollups rebuilt to match.

    Each row holds BULK_FIELDS in order, as `submit` would have stored them. No audit rows and no
    alerts: this loads history, it is not a patient logging a mood.
    """
    fields = [getattr(MoodEntry, name) for name in BULK_FIELDS]
    with db.atomic():
        for start in range(0, len(rows), BULK_CHUNK):
            MoodEntry.insert_many(rows[start : start + BULK_CHUNK], fields=fields).execute()
        patients = sorted({row[0] for row in rows})
        MoodDay.rebuild(patients)
        windows.rebuild(patients)


BULK_CHUNK = 2000


def editable(entry: MoodEntry, patient: User) -> bool:
    """An entry may be changed or removed on the day it was logged (in the patient's zone)."""
    return entry.deleted_at is None and entry.local_day == local_day(utcnow(), patient.timezone)


def edit(patient: User, entry: MoodEntry, data: dict) -> MoodEntry:
    """Change the score, note or tags of today's entry."""
    fields = clean_fields(data, partial=True)
    if "tags" in fields:
        fields["tags"] = ",".join(fields["tags"])
    with db.atomic():
        MoodEntry.update(updated_at=utcnow(), **fields).where(MoodEntry.id == entry.id).execute()
        entry = MoodEntry.get_by_id(entry.id)
        MoodDay.refresh(patient.id, entry.local_day)
        windows.rebuild([patient.id])
        if "note" in fields:
            _flag(patient, entry)
        AuditEvent.record("mood_edited", actor=patient, patient=patient)
    return entry


def delete(patient: User, entry: MoodEntry) -> None:
    with db.atomic():
        MoodEntry.update(deleted_at=utcnow()).where(MoodEntry.id == entry.id).execute()
        MoodDay.refresh(patient.id, entry.local_day)
        windows.rebuild([patient.id])
        AuditEvent.record("mood_deleted", actor=patient, patient=patient)


def latest(patient: User) -> MoodEntry | None:
    """Return the patient's most recent mood entry, on any day."""
    return (
        MoodEntry.visible()
        .where(MoodEntry.patient == patient)
        .order_by(MoodEntry.recorded_at.desc(), MoodEntry.id.desc())
        .first()
    )


def logged_on(patient: User, day: dt.date) -> bool:
    """Tell whether the patient logged a mood on one of their local days.

    Through the (patient, local_day) index: asked in recorded order, SQLite walked the patient's
    whole history by (patient, recorded_at) instead, some 130 µs for a year of entries.
    """
    return MoodEntry.visible().where(MoodEntry.patient == patient, MoodEntry.local_day == day).exists()


def as_json(entry: MoodEntry) -> dict:
    return {
        **fields(entry, "client_id", "score", "note"),
        "tags": entry.tag_list,
        "recorded_at": iso(entry.recorded_at),
        "local_day": iso(entry.local_day),
        "deleted": entry.deleted_at is not None,
        "crisis": has_crisis_language(entry.note),
    }
