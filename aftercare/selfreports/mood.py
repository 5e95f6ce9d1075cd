"""Self-reports: validating and storing mood entries and check-ins, exactly once (DUR-03/04).

Both the JSON API and the HTML forms submit through here, so the rules hold however
an entry arrives: from the offline outbox, a replayed request, or a plain form.
"""

import datetime as dt
import json
import uuid

from peewee import IntegrityError

from . import instruments
from .db import db
from .localtime import local_day
from .models import AuditEvent
from .models import CheckIn
from .models import ClinicSetting
from .models import MoodDay
from .models import MoodEntry
from .models import payload_hash
from .models import SafetyAlert
from .models import User
from .models import utcnow
from .safety import has_crisis_language

MOOD_MIN, MOOD_MAX = 0, 10
NOTE_MAX = 1000
TAG_MAX = 32
TAGS_MAX = 10
DEFAULT_TAGS = ("sleep", "anxiety", "energy", "pain", "nausea")
# An entry saved offline may arrive days later; older or future times are a clock problem.
OLDEST_BACKFILL = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=10)

MOOD_WORDS = {
    0: "Very low",
    1: "Very low",
    2: "Low",
    3: "Low",
    4: "A bit low",
    5: "Okay",
    6: "Okay",
    7: "Good",
    8: "Good",
    9: "Very good",
    10: "Very good",
}


class Invalid(ValueError):
    """A submission that cannot be stored; `fields` maps each field to a message for a person."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class Conflict(ValueError):
    """The same client id was used before for a different submission (DUR-04)."""


def clinic_tags() -> list[str]:
    """Return the mood tags patients can pick: the defaults plus the clinic's own."""
    extra = [t.strip().lower() for t in ClinicSetting.get_value("mood_tags").split(",") if t.strip()]
    return list(dict.fromkeys([*DEFAULT_TAGS, *extra]))


def _client_id(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise Invalid({"client_id": "This entry has no valid id. Please reload the page and try again."}) from None


def _integer(value, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise Invalid({field: message})
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= high:
        raise Invalid({field: message})
    return value


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


def clean_mood_fields(data: dict, *, partial: bool = False) -> dict:
    """Validate score, note and tags of a mood entry; return them cleaned."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    clean = {}
    if "score" in data or not partial:
        clean["score"] = _integer(
            data.get("score"), "score", MOOD_MIN, MOOD_MAX, "Choose how you feel on the scale from 0 to 10."
        )
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


def submit_mood(patient: User, data: dict) -> tuple[MoodEntry, bool]:
    """Store a mood entry once; return (entry, created). A replay returns the original."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    client_id = _client_id(data.get("client_id"))
    fields = clean_mood_fields(data)
    now = utcnow()
    recorded_at = _recorded_at(data.get("recorded_at"), now)
    fingerprint = payload_hash({"kind": "mood", **fields, "recorded_at": data.get("recorded_at") or None})
    existing = _existing(MoodEntry, patient, client_id, fingerprint)
    if existing:
        return existing, False
    try:
        return _store_mood(patient, client_id, fingerprint, fields, recorded_at, now), True
    except IntegrityError:
        # The same entry arrived twice at once (the page's flush and Background Sync):
        # the unique index kept one; answer with it.
        return _existing(MoodEntry, patient, client_id, fingerprint), False


def _store_mood(patient, client_id, fingerprint, fields, recorded_at, now) -> MoodEntry:
    with db.atomic():
        entry = MoodEntry.create(
            patient=patient,
            client_id=client_id,
            payload_hash=fingerprint,
            score=fields["score"],
            note=fields["note"],
            tags=",".join(fields["tags"]),
            recorded_at=recorded_at,
            local_day=local_day(recorded_at, patient.timezone),
            created_at=now,
            updated_at=now,
        )
        MoodDay.refresh(patient.id, entry.local_day)
        if has_crisis_language(entry.note):
            SafetyAlert.create(
                patient=patient, reason="crisis_language", detail="Crisis language in a mood note", mood=entry
            )
        AuditEvent.record("mood_logged", actor=patient, patient=patient)
    return entry


def _existing(model, patient: User, client_id: str, fingerprint: str):
    """Return the row already stored under this client id, or None; refuse a different payload."""
    row = model.get_or_none(model.patient == patient, model.client_id == client_id)
    if row is not None and row.payload_hash != fingerprint:
        raise Conflict("This id was already used for a different entry.")
    return row


def editable(entry: MoodEntry, patient: User) -> bool:
    """An entry may be changed or removed on the day it was logged (in the patient's zone)."""
    return entry.deleted_at is None and entry.local_day == local_day(utcnow(), patient.timezone)


def edit_mood(patient: User, entry: MoodEntry, data: dict) -> MoodEntry:
    """Change the score, note or tags of today's entry."""
    fields = clean_mood_fields(data, partial=True)
    with db.atomic():
        if "tags" in fields:
            fields["tags"] = ",".join(fields["tags"])
        MoodEntry.update(updated_at=utcnow(), **fields).where(MoodEntry.id == entry.id).execute()
        entry = MoodEntry.get_by_id(entry.id)
        MoodDay.refresh(patient.id, entry.local_day)
        if "note" in fields and has_crisis_language(entry.note):
            SafetyAlert.create(
                patient=patient, reason="crisis_language", detail="Crisis language in a mood note", mood=entry
            )
        AuditEvent.record("mood_edited", actor=patient, patient=patient)
    return entry


def delete_mood(patient: User, entry: MoodEntry) -> None:
    with db.atomic():
        MoodEntry.update(deleted_at=utcnow()).where(MoodEntry.id == entry.id).execute()
        MoodDay.refresh(patient.id, entry.local_day)
        AuditEvent.record("mood_deleted", actor=patient, patient=patient)


def submit_checkin(patient: User, data: dict) -> tuple[CheckIn, bool]:
    """Score and store a PHQ-9 or GAD-7 once; item 9 above 0 raises an alert in the same transaction."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    client_id = _client_id(data.get("client_id"))
    instrument = instruments.INSTRUMENTS.get(data.get("instrument"))
    if instrument is None:
        raise Invalid({"instrument": "Choose PHQ-9 or GAD-7."})
    answers = data.get("answers")
    difficulty = data.get("difficulty")
    try:
        result = instruments.score(instrument, answers, difficulty)
    except instruments.IncompleteAnswers as error:
        raise Invalid({"answers": str(error)}) from None
    fingerprint = payload_hash({"kind": instrument.key, "answers": answers, "difficulty": difficulty})
    existing = _existing(CheckIn, patient, client_id, fingerprint)
    if existing:
        return existing, False
    try:
        return _store_checkin(patient, client_id, fingerprint, instrument, result, answers, difficulty), True
    except IntegrityError:
        return _existing(CheckIn, patient, client_id, fingerprint), False


def _store_checkin(patient, client_id, fingerprint, instrument, result, answers, difficulty) -> CheckIn:
    with db.atomic():
        checkin = CheckIn.create(
            patient=patient,
            client_id=client_id,
            payload_hash=fingerprint,
            instrument=instrument.key,
            version=instrument.version,
            answers=json.dumps(list(answers)),
            difficulty=difficulty,
            total=result.total,
            band=result.band,
            submitted_at=utcnow(),
        )
        if result.item9:
            # CLIN-02: any answer above 0 on item 9; 0 is never read as "safe", only as no alert.
            label = instruments.ANSWERS[result.item9][1].lower()
            SafetyAlert.create(
                patient=patient,
                reason="phq9_item9",
                detail=f"PHQ-9 item 9 (thoughts of self-harm): {label}",
                checkin=checkin,
            )
        AuditEvent.record(f"{instrument.key}_submitted", actor=patient, patient=patient)
    return checkin


def mood_json(entry: MoodEntry) -> dict:
    return {
        "client_id": entry.client_id,
        "score": entry.score,
        "note": entry.note,
        "tags": entry.tag_list,
        "recorded_at": entry.recorded_at.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z"),
        "local_day": entry.local_day.isoformat(),
        "deleted": entry.deleted_at is not None,
        "crisis": has_crisis_language(entry.note),
    }


def checkin_json(checkin: CheckIn) -> dict:
    return {
        "client_id": checkin.client_id,
        "instrument": checkin.instrument,
        "version": checkin.version,
        "answers": checkin.answer_list,
        "difficulty": checkin.difficulty,
        "total": checkin.total,
        "band": checkin.band,
        "submitted_at": checkin.submitted_at.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z"),
        "crisis": bool(checkin.item9),
    }
