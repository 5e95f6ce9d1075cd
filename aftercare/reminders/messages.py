"""Messages through the reminder outbox: a clinician to one patient, the clinic to every patient, and the
patient told of a session booked, moved or cancelled.

They travel like reminders (generic words on the lock screen, the full text in the inbox, quiet
hours respected) but are written when they are created, by a person or from the change itself,
so the inbox shows exactly what was said.
"""

import datetime as dt
import uuid

from ..db import db
from ..inputs import Invalid
from ..localtime import to_local
from ..models import AuditEvent
from ..models import CircleMeeting
from ..models import PATIENT
from ..models import Reminder
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from . import planner
from . import texts

MESSAGE_MAX = 2000
MESSAGE_DAYS = 7  # a message waits this long for a phone that is off; it is in the inbox either way


def _checked(title, body) -> tuple[str | None, str]:
    """Return a message's lock-screen title (None: the clinic's default) and its text, or raise Invalid."""
    title = " ".join(str(title or "").split()) or None
    body = str(body or "").strip().replace("\r\n", "\n")
    problems = {}
    if not body:
        problems["body"] = "Write the message."
    elif len(body) > MESSAGE_MAX:
        problems["body"] = f"Keep a message under {MESSAGE_MAX:,} characters; it has {len(body):,}."
    if title is not None:
        problem = texts.lock_screen_problem(title)
        if len(title) > texts.TITLE_MAX:
            problems["title"] = f"Keep the lock-screen title under {texts.TITLE_MAX} characters."
        elif problem:
            problems["title"] = problem
    if problems:
        raise Invalid(problems)
    return title, body


def _due(patient: User, now: dt.datetime) -> dt.datetime:
    """Now, or when the patient's quiet hours end."""
    quiet = planner.Quiet.of(patient)
    return quiet.ends_after(now) if quiet is not None and quiet.holds(now) else now


def _row(patient: User, rule: str, *, text: str, now: dt.datetime, path: str, **fields) -> dict:
    return {
        "user": patient.id,
        "rule": rule,
        "slot": fields.pop("slot", None) or uuid.uuid4().hex,
        "text": text,
        "due_at": _due(patient, now),
        "expires_at": now + dt.timedelta(days=MESSAGE_DAYS),
        "path": path,
        **fields,
    }


def send_message(clinician: User, patient: User, *, title=None, body, now: dt.datetime | None = None) -> Reminder:
    """A clinician's message to one patient in their care (the caller has checked the care relationship)."""
    title, body = _checked(title, body)
    now = now or utcnow()
    with db.atomic():
        row = _row(patient, "message", text=body, now=now, path="/inbox", author=clinician.id, title=title)
        reminder = Reminder.create(**row)
        AuditEvent.record("message_sent", actor=clinician, patient=patient, detail=f"message {reminder.id}")
    return reminder


def send_notice(admin: User, *, title=None, body, now: dt.datetime | None = None) -> int:
    """The clinic's notice to every patient with an open account (a closure, a new phone number); return how many."""
    title, body = _checked(title, body)
    now = now or utcnow()
    slot = f"notice:{uuid.uuid4().hex}"
    with db.atomic():
        patients = list(User.select().where(User.role == PATIENT, User.active == True, User.closed_at.is_null()))  # noqa: E712
        rows = [
            _row(p, "notice", text=body, now=now, path="/inbox", author=admin.id, title=title, slot=slot)
            for p in patients
        ]
        for start in range(0, len(rows), 500):
            Reminder.insert_many(rows[start : start + 500]).execute()
        AuditEvent.record("notice_sent", actor=admin, detail=f"{len(rows)} patient(s)")
    return len(rows)


def session_changed(session: TreatmentSession, change: str, now: dt.datetime | None = None) -> None:
    """Tell the patient a session was booked, moved or cancelled (call inside the change's transaction)."""
    rule = f"session_{change}"
    patient = session.patient
    now = now or utcnow()
    wording = texts.wordings()[rule]
    when = to_local(session.starts_at, patient.timezone)
    label = session.kind_label  # "IV infusion" keeps its capitals; "Booster" reads "booster" mid-sentence
    kind = label if label[:2].isupper() else label[:1].lower() + label[1:]
    values = {"kind": kind, "when": f"{when:%A %-d %B} at {when:%H:%M}"}
    text = texts.fill(wording.lead, wording.placeholders, values)
    if change == "moved" and session.is_dosing:
        text += " Please confirm your ride home for the new time."
    path = f"/sessions/{session.id}" if change != "cancelled" else "/sessions"
    row = _row(patient, rule, text=text, now=now, path=path, session=session.id)
    Reminder.insert_many([row]).execute()


def circle_changed(meeting: CircleMeeting, patient: User, change: str, now: dt.datetime | None = None) -> None:
    """Tell a member a circle's meeting moved or was cancelled (call inside the change's transaction)."""
    rule = f"circle_{change}"
    now = now or utcnow()
    wording = texts.wordings()[rule]
    when = to_local(meeting.starts_at, patient.timezone)
    values = {"circle": meeting.circle.title, "when": f"{when:%A %-d %B} at {when:%H:%M}"}
    text = texts.fill(wording.lead, wording.placeholders, values)
    row = _row(patient, rule, text=text, now=now, path=f"/circles/{meeting.circle_id}")
    Reminder.insert_many([row]).execute()
