"""Journal entries: validating and storing them exactly once, sharing, and what the care team sees.

The HTML form and the JSON API (the offline outbox) both submit through `submit`, which follows
selfreports.submit_mood: a client UUID per entry, UNIQUE(patient, client_id), a replay returns
the original, a different payload under the same id is refused (DUR-04). An entry may hold
pictures and drawings (images.py); they are stored with it, in its transaction, and shared with it.
"""

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from .. import alerts
from ..db import db
from ..exports import fields
from ..exports import iso
from ..idempotency import find
from ..idempotency import same_payload
from ..idempotency import store_once
from ..inputs import clean_text
from ..inputs import client_id as parse_client_id
from ..inputs import Invalid
from ..inputs import parse_id
from ..localtime import to_local
from ..models import AuditEvent
from ..models import JournalEntry
from ..models import JournalImage
from ..models import payload_hash
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import VoiceNote
from ..safety import has_crisis_language
from . import images
from .prompts import PROMPT_MAX

BODY_MAX = 20_000  # IN-01
LIST_LIMIT = 200  # the care team's view (older shared items fold away there)
PAGE_SIZE = 30  # the patient's journal, a page at a time, so nothing is out of reach


def clean_body(value, *, optional: bool = False) -> str:
    """Return the entry's text, or raise Invalid with a message for the person who wrote it.

    `optional`: the entry holds pictures, so it may have no words at all."""
    if optional and value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid({"body": "The entry must be text."})
    # Browsers send a textarea's line breaks as CRLF; the 20,000 the page counted are LF.
    length = len(value.replace("\r\n", "\n"))
    text = clean_text(value)
    if length > BODY_MAX:
        raise Invalid(
            {
                "body": f"Please keep an entry under {BODY_MAX:,} characters; this one has {length:,}. "
                "You could split it into two entries. Nothing was saved yet."
            }
        )
    if not text and not optional:
        raise Invalid({"body": "Write something first, or add a drawing or a picture, or record a voice note."})
    return text


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
    session_id = parse_id(value)
    session = session_id and TreatmentSession.get_or_none(
        TreatmentSession.id == session_id, TreatmentSession.patient == patient
    )
    if session is None:
        raise Invalid({"session_id": "That session could not be found."})
    return session


def submit(patient: User, data: dict, uploads: list[images.Upload] = ()) -> tuple[JournalEntry, bool]:
    """Store a journal entry and its pictures once; return (entry, created). A replay returns the original.

    Pictures are re-encoded and their files written before the transaction; the entry's row and its
    pictures' rows are then one transaction. If that fails, or the entry was there already, the new
    files are removed again: an entry is kept whole or not at all (UP-02, DUR-04).
    """
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    uploads = list(uploads)
    key = parse_client_id(data.get("client_id"))
    images.check_uploads(uploads)
    body = clean_body(data.get("body"), optional=bool(uploads))
    prompt = _prompt(data.get("prompt"))
    session = own_session(patient, data.get("session_id"))
    payload = {"kind": "journal", "body": body, "prompt": prompt, "session": session.id if session else None}
    if uploads:  # an entry of words alone keeps the fingerprint it always had
        payload["images"] = [upload.fingerprint for upload in uploads]
    fingerprint = payload_hash(payload)
    same = same_payload(fingerprint)

    prepared, paths = [], []
    if uploads:
        # A replay costs no decoding and no disk write.
        existing = find(JournalEntry, patient, key, same)
        if existing is not None:
            return existing, False
        prepared = images.prepare(uploads)
        paths = images.write(prepared)

    now = utcnow()
    row = {"session": session, "payload_hash": fingerprint, "prompt": prompt, "body": body}
    row.update(created_at=now, updated_at=now)

    def written(entry: JournalEntry) -> None:
        images.attach(patient, entry, prepared, paths)
        _flag(patient, entry)
        AuditEvent.record("journal_entry_written", actor=patient, patient=patient, detail=f"journal entry {entry.id}")

    try:
        entry, created = store_once(JournalEntry, patient, key, same, row, written)
    except BaseException:
        images.discard(paths)
        raise
    if not created:
        images.discard(paths)  # the same entry arrived twice at once: the other one is kept
    return entry, created


def _flag(patient: User, entry: JournalEntry) -> bool:
    """Raise (or reuse) the entry's crisis alert; it names the entry by when it was written, the words stay private."""
    written = to_local(entry.created_at, patient.timezone)
    return alerts.flag_writing(
        patient,
        entry.body,
        about=alerts.subject("journal", entry.id),
        detail=f"Crisis language in a journal entry written {written:%-d %B %Y}",
    )


def edit(patient: User, entry: JournalEntry, body) -> JournalEntry:
    """Change the text of an entry; crisis language raises an alert as in a new one.
    An entry with pictures may be left with no words."""
    has_images = JournalImage.select().where(JournalImage.entry == entry).exists()
    body = clean_body(body, optional=has_images)
    with db.atomic():
        JournalEntry.update(body=body, updated_at=utcnow()).where(JournalEntry.id == entry.id).execute()
        entry = JournalEntry.get_by_id(entry.id)
        _flag(patient, entry)
        AuditEvent.record("journal_entry_edited", actor=patient, patient=patient, detail=f"journal entry {entry.id}")
    return entry


def delete(patient: User, entry: JournalEntry) -> None:
    """Delete an entry with its pictures: the rows, then the files."""
    with db.atomic():
        paths = images.paths_of_entry(entry)
        JournalImage.delete().where(JournalImage.entry == entry.id).execute()
        JournalEntry.delete().where(JournalEntry.id == entry.id).execute()
        AuditEvent.record("journal_entry_deleted", actor=patient, patient=patient, detail=f"journal entry {entry.id}")
    # After the commit: a failure here leaves orphan files for remove_orphans, never a row without its file.
    images.discard(paths)


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


def entry_json(entry: JournalEntry) -> dict:
    pictures = images.for_entries([entry.id]).get(entry.id, [])
    return {
        **fields(entry, "client_id", "id", "prompt", "body", "session_id"),
        "shared": entry.shared_at is not None,
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
        "crisis": has_crisis_language(entry.body),
        "images": [
            {"id": p.id, "kind": p.kind, "type": p.mime, "width": p.width, "height": p.height, "bytes": p.size}
            for p in pictures
        ],
    }


@dataclass(frozen=True)
class Item:
    """One journal entry (with its pictures) or voice note in a list, newest first."""

    kind: str  # "entry" | "voice"
    row: JournalEntry | VoiceNote
    images: tuple[JournalImage, ...] = ()

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
    items = sorted(items, key=lambda item: (item.at, item.row.id), reverse=True)[:limit]
    pictures = images.for_entries(item.row.id for item in items if item.kind == "entry")
    return [
        Item(item.kind, item.row, tuple(pictures.get(item.row.id, ()))) if item.kind == "entry" else item
        for item in items
    ]


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
