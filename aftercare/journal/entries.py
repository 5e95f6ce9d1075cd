"""Journal entries: validating and storing them exactly once, sharing, and what the care team sees.

The HTML form and the JSON API (the offline outbox) both submit through `submit`, which follows
selfreports.submit_mood: a client UUID per entry, UNIQUE(patient, client_id), a replay returns
the original, a different payload under the same id is refused (DUR-04).
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from peewee import IntegrityError
from peewee import JOIN

from ..db import db
from ..localtime import to_local
from ..models import AuditEvent
from ..models import JournalEntry
from ..models import payload_hash
from ..models import SafetyAlert
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import VoiceNote
from ..safety import has_crisis_language
from ..selfreports import Conflict
from ..selfreports import Invalid
from .prompts import PROMPT_MAX

BODY_MAX = 20_000  # IN-01
LIST_LIMIT = 200  # the care team's view (older shared items fold away there)
PAGE_SIZE = 30  # the patient's journal, a page at a time, so nothing is out of reach
MAX_ID = 2**63 - 1  # the database's largest integer: a larger id is simply not found


def _client_id(value) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise Invalid({"client_id": "This entry has no valid id. Please reload the page and try again."}) from None


def clean_body(value) -> str:
    """Return the entry's text, or raise Invalid with a message for the person who wrote it."""
    if not isinstance(value, str):
        raise Invalid({"body": "The entry must be text."})
    # Browsers send a textarea's line breaks as CRLF; the 20,000 the page counted are LF.
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > BODY_MAX:
        raise Invalid(
            {
                "body": f"Please keep an entry under {BODY_MAX:,} characters; this one has {len(text):,}. "
                "You could split it into two entries. Nothing was saved yet."
            }
        )
    if not text.strip():
        raise Invalid({"body": "Write something first, or record a voice note instead."})
    return text.strip()


def _prompt(value) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > PROMPT_MAX:
        raise Invalid({"prompt": "The question this entry answers could not be read. Please reload the page."})
    return value.strip()


def own_session(patient: User, value) -> TreatmentSession | None:
    """Return the patient's session with this id, None for no id; another patient's is refused like a missing one."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
        raise Invalid({"session_id": "That session could not be found."})
    if not 0 < int(value) <= MAX_ID:
        raise Invalid({"session_id": "That session could not be found."})
    session = TreatmentSession.get_or_none(TreatmentSession.id == int(value), TreatmentSession.patient == patient)
    if session is None:
        raise Invalid({"session_id": "That session could not be found."})
    return session


def submit(patient: User, data: dict) -> tuple[JournalEntry, bool]:
    """Store a journal entry once; return (entry, created). A replay returns the original."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    client_id = _client_id(data.get("client_id"))
    body = clean_body(data.get("body"))
    prompt = _prompt(data.get("prompt"))
    session = own_session(patient, data.get("session_id"))
    fingerprint = payload_hash(
        {"kind": "journal", "body": body, "prompt": prompt, "session": session.id if session else None}
    )
    existing = _existing(patient, client_id, fingerprint)
    if existing:
        return existing, False
    try:
        return _store(patient, client_id, fingerprint, body, prompt, session), True
    except IntegrityError:
        # The page's flush and Background Sync delivered it at once: the unique index kept one.
        return _existing(patient, client_id, fingerprint), False


def crisis_detail(patient: User, entry: JournalEntry) -> str:
    """Name the entry in the alert by when it was written (the words stay in the entry, private)."""
    return f"Crisis language in a journal entry written {to_local(entry.created_at, patient.timezone):%-d %B %Y}"


def _store(patient, client_id, fingerprint, body, prompt, session) -> JournalEntry:
    now = utcnow()
    with db.atomic():
        entry = JournalEntry.create(
            patient=patient,
            session=session,
            client_id=client_id,
            payload_hash=fingerprint,
            prompt=prompt,
            body=body,
            created_at=now,
            updated_at=now,
        )
        if has_crisis_language(body):
            SafetyAlert.raise_unless_open(patient, "crisis_language", crisis_detail(patient, entry))
        AuditEvent.record("journal_entry_written", actor=patient, patient=patient, detail=f"journal entry {entry.id}")
    return entry


def _existing(patient: User, client_id: str, fingerprint: str) -> JournalEntry | None:
    entry = JournalEntry.get_or_none(JournalEntry.patient == patient, JournalEntry.client_id == client_id)
    if entry is not None and entry.payload_hash != fingerprint:
        raise Conflict("This id was already used for a different entry.")
    return entry


def edit(patient: User, entry: JournalEntry, body) -> JournalEntry:
    """Change the text of an entry; crisis language raises an alert as in a new one."""
    body = clean_body(body)
    with db.atomic():
        JournalEntry.update(body=body, updated_at=utcnow()).where(JournalEntry.id == entry.id).execute()
        if has_crisis_language(body):
            SafetyAlert.raise_unless_open(patient, "crisis_language", crisis_detail(patient, entry))
        AuditEvent.record("journal_entry_edited", actor=patient, patient=patient, detail=f"journal entry {entry.id}")
    return JournalEntry.get_by_id(entry.id)


def delete(patient: User, entry: JournalEntry) -> None:
    with db.atomic():
        JournalEntry.delete().where(JournalEntry.id == entry.id).execute()
        AuditEvent.record("journal_entry_deleted", actor=patient, patient=patient, detail=f"journal entry {entry.id}")


# What the audit log calls each kind of shareable item (its action prefix and its name in the detail).
_SHARE_NAMES = {JournalEntry: ("journal_entry", "journal entry"), VoiceNote: ("voice_note", "voice note")}


def set_shared(patient: User, item: JournalEntry | VoiceNote, share: bool) -> bool:
    """Share an entry or a voice note with the care team, or stop; return whether anything changed."""
    model = type(item)
    action, name = _SHARE_NAMES[model]
    with db.atomic():
        changed = (
            model.update(shared_at=utcnow() if share else None)
            .where(model.id == item.id, model.shared_at.is_null(share))
            .execute()
        )
        if changed:
            verb = "shared" if share else "unshared"
            AuditEvent.record(f"{action}_{verb}", actor=patient, patient=patient, detail=f"{name} {item.id}")
    return bool(changed)


def iso(when: dt.datetime | None) -> str | None:
    return when.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z") if when else None


def entry_json(entry: JournalEntry) -> dict:
    return {
        "client_id": entry.client_id,
        "id": entry.id,
        "prompt": entry.prompt,
        "body": entry.body,
        "session_id": entry.session_id,
        "shared": entry.shared_at is not None,
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
        "crisis": has_crisis_language(entry.body),
    }


@dataclass(frozen=True)
class Item:
    """One journal entry or voice note in a list, newest first."""

    kind: str  # "entry" | "voice"
    row: JournalEntry | VoiceNote

    @property
    def at(self) -> dt.datetime:
        return self.row.created_at


def with_session(model, patient: User):
    """Return the query for a patient's journal entries or voice notes, each with its session (if any) in one go."""
    return (
        model.select(model, TreatmentSession)
        .join(TreatmentSession, join_type=JOIN.LEFT_OUTER, on=model.session == TreatmentSession.id)
        .where(model.patient == patient)
    )


def _items(
    patient: User, shared_only: bool = False, before: dt.datetime | None = None, limit: int = LIST_LIMIT
) -> list[Item]:
    items = []
    for kind, model in (("entry", JournalEntry), ("voice", VoiceNote)):
        query = with_session(model, patient).order_by(model.created_at.desc(), model.id.desc()).limit(limit)
        if shared_only:
            query = query.where(model.shared_at.is_null(False))
        if before is not None:
            query = query.where(model.created_at < before)
        items += [Item(kind, row) for row in query]
    return sorted(items, key=lambda item: (item.at, item.row.id), reverse=True)[:limit]


def timeline(patient: User, before: dt.datetime | None = None) -> tuple[list[Item], dt.datetime | None]:
    """Return one page of the patient's own entries and voice notes, newest first, written before `before`,
    and where the next (older) page starts, or None when this page reaches the first entry."""
    items = _items(patient, before=before, limit=PAGE_SIZE + 1)
    if len(items) > PAGE_SIZE:
        return items[:PAGE_SIZE], items[PAGE_SIZE - 1].at
    return items, None


def shared_for_patient(patient: User) -> list[Item]:
    """Return the entries and voice notes the patient has shared with their care team, newest first.

    The caller has already checked that the viewer is in an active care relationship
    (access.patient_for_staff) and writes the audit row for showing the page.
    """
    return _items(patient, shared_only=True)
