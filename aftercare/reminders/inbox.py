"""The patient's inbox: every reminder and message that reached its time, with its full text.

Nothing depends on catching a notification: a reminder is in the inbox once sent, whether or not
any device received it (no device, permission refused, phone off). It is read here, never
answered here.
"""

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN

from ..db import Prepared
from ..exports import iso
from ..models import Reminder
from ..models import REMINDER_FAILED
from ..models import REMINDER_SENT
from ..models import User
from ..models import utcnow
from . import texts

PAGE = 30
RECEIVED = (REMINDER_SENT, REMINDER_FAILED)
ACTION_HOURS = dt.timedelta(hours=72)  # older reminders' links (a session's evening, a day's practice) are stale
ACTIONS = (
    ("/sessions", "See the session"),
    ("/journal", "Write or record"),
    ("/checkins/", "Answer the questions"),
    ("/home", "Go to Today"),
    ("/settings", "Reminder settings"),
    ("/clinician/", "Open the record"),
)


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    heading: str
    text: str
    at: dt.datetime  # when it reached its time (UTC)
    path: str
    author: str | None  # who wrote a message or notice
    unread: bool

    @property
    def action(self) -> str | None:
        """What the link under the item says; None when it would lead back to the inbox, or the item is old news."""
        if utcnow() - self.at > ACTION_HOURS:
            return None
        for prefix, label in ACTIONS:
            if self.path.startswith(prefix):
                return label
        return None

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "heading": self.heading,
            "text": self.text,
            "at": iso(self.at),
            "path": self.path,
            "author": self.author,
            "unread": self.unread,
            "action": self.action,
        }


def _received(patient: User):
    return Reminder.select().where(
        Reminder.user == patient, Reminder.sent_at.is_null(False), Reminder.status.in_(RECEIVED)
    )


def items(patient: User, *, before: int | None = None, limit: int = PAGE) -> tuple[list[Item], bool]:
    """Return a page of the inbox, newest first, and whether there are older ones."""
    author = User.alias()
    query = (
        _received(patient)
        .select(Reminder, author.name)
        .join(author, JOIN.LEFT_OUTER, on=(Reminder.author == author.id))
        .order_by(Reminder.sent_at.desc(), Reminder.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        # Keyset paging in the page's own order (sent_at, id): older than the last item shown.
        last = _received(patient).where(Reminder.id == before).first()
        if last is not None:
            query = query.where(
                (Reminder.sent_at < last.sent_at) | ((Reminder.sent_at == last.sent_at) & (Reminder.id < last.id))
            )
    rows = list(query.objects())
    wordings = texts.wordings()
    found = []
    for row in rows[:limit]:
        wording = wordings.get(row.rule)
        name = getattr(row, "name", None) if row.author_id else None
        heading = texts.inbox_heading(wording, name) if wording else "From your clinic"
        if row.rule in ("message", "notice") and row.title and row.title != (wording.title if wording else None):
            heading = f"{heading}: {row.title}"
        found.append(Item(row.id, row.rule, heading, row.text, row.sent_at, row.path, name, row.read_at is None))
    return found, len(rows) > limit


# On every patient page (the Inbox tab's count), so written out (db.Prepared).
UNREAD = Prepared(
    """SELECT COUNT(*) FROM reminder
    WHERE user_id = ? AND sent_at IS NOT NULL AND read_at IS NULL AND status IN (?, ?)"""
)


def unread(patient: User) -> int:
    return UNREAD.one(patient.id, *RECEIVED)[0]


def mark_read(patient: User, ids: list[int], now: dt.datetime | None = None) -> int:
    """Mark what the patient has seen as read; return how many were unread."""
    if not ids:
        return 0
    return (
        Reminder.update(read_at=now or utcnow())
        .where(Reminder.user == patient, Reminder.id.in_(ids), Reminder.read_at.is_null())
        .execute()
    )
