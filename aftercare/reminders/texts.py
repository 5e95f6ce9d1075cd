"""What a reminder says: generic words for a lock screen (PUSH-01), and the full text inside the app.

The lock-screen title and body are the only words that leave the server (encrypted for the
device), and anyone near the phone may read them, so they never name a treatment, a condition, a
measure or a score: every one of them, the defaults in texts.toml and whatever an administrator
writes, passes `lock_screen_problem`. The in-app text is written when the reminder is sent, from
what is true then (what is still to prepare, that day's practice, the patient's own intention),
and is shown only after the patient opens the app.
"""

import datetime as dt
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .. import workhours
from ..db import db
from ..journey import preparation
from ..journey import scheduling
from ..localtime import to_local
from ..models import AuditEvent
from ..models import Circle
from ..models import CircleMeeting
from ..models import CircleMember
from ..models import Intention
from ..models import ReminderText
from ..models import SafetyAlert
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..safety import suggests_driving
from ..selfreports import checkins
from ..selfreports import mood

# Words that must never reach a lock screen. Stems match every ending ("depress" matches
# "depressed" and "depression"). Sensitivity over precision: a refused wording costs an
# administrator a rewrite; a leaked one tells a flatmate why someone sees a clinic.
CLINICAL_WORDS = (
    "ketamin",
    "esketamin",
    "spravato",
    "psychedel",
    "infusion",
    "injection",
    "lozenge",
    "nasal spray",
    "dose",
    "dosing",
    "drug",
    "medic",
    "prescri",
    "treatment",
    "therap",
    "psychiatr",
    "psycholog",
    "mental",
    "depress",
    "anxi",
    "panic",
    "ptsd",
    "trauma",
    "suicid",
    "self-harm",
    "self harm",
    "crisis",
    "dissociat",
    "mood",
    "symptom",
    "diagnos",
    "disorder",
    "patient",
    "clinical",
    "session",
    "integration",
    "phq",
    "gad",
    "pcl",
    "peg",
    "questionnaire",
    "score",
    "journal",
    "voice note",
    "intention",
)
_CLINICAL_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in CLINICAL_WORDS) + r")", re.IGNORECASE)

TITLE_MAX, BODY_MAX, LEAD_MAX = 60, 140, 300

# Kinds whose reminder arrives on the day of a session: they may tell the patient not to drive,
# never suggest that they do (CLIN-08).
SESSION_DAY = frozenset({"session_2h", "after_evening"})


@dataclass(frozen=True)
class Wording:
    rule: str
    label: str
    title: str
    body: str
    lead: str
    placeholders: tuple[str, ...]
    inbox: str = ""  # the heading in the patient's inbox
    edited: bool = False  # an administrator's wording, not the default


def _defaults() -> dict[str, Wording]:
    spec = tomllib.loads((Path(__file__).parent / "texts.toml").read_text(encoding="utf-8"))
    return {
        rule: Wording(rule, v["label"], v["title"], v["body"], v["lead"], tuple(v["placeholders"]), v["inbox"])
        for rule, v in spec.items()
    }


DEFAULTS = _defaults()
KINDS = tuple(DEFAULTS)
# Written when they are created (a clinician's words, a change to a session), not when sent.
WRITTEN_AHEAD = frozenset(
    {"message", "notice", "session_booked", "session_moved", "session_cancelled", "circle_moved", "circle_cancelled"}
)
# For staff devices, about a safety alert.
STAFF_KINDS = frozenset({"alert_new", "alert_escalated"})


def wordings() -> dict[str, Wording]:
    """Return every kind's wording in force, the clinic's own where an administrator changed it (one query)."""
    result = dict(DEFAULTS)
    for row in ReminderText.select():
        default = DEFAULTS.get(row.rule)
        if default is not None:
            result[row.rule] = Wording(
                row.rule, default.label, row.title, row.body, row.lead, default.placeholders, default.inbox, edited=True
            )
    return result


def lock_screen_problem(text: str) -> str | None:
    """Say what makes text unfit for a lock screen (PUSH-01), or None."""
    match = _CLINICAL_RE.search(text)
    if match:
        return f"“{match.group(0)}” would tell anyone who sees the phone too much. Keep lock-screen words generic."
    if any(c.isdigit() for c in text):
        return "No numbers on the lock screen: no scores, times or counts. Write them out in the app text instead."
    return None


def problems(rule: str, *, title: str, body: str, lead: str) -> dict[str, str]:
    """Check a wording for one kind; return a message per field that cannot be used (empty when fine)."""
    default = DEFAULTS.get(rule)
    if default is None:
        return {"rule": "There is no such kind of reminder."}
    found = {}
    for name, value, limit in (("title", title, TITLE_MAX), ("body", body, BODY_MAX), ("lead", lead, LEAD_MAX)):
        if not value.strip():
            found[name] = "Write something here."
        elif len(value) > limit:
            found[name] = f"Keep this under {limit} characters."
    for name, value in (("title", title), ("body", body)):
        if name not in found:
            problem = lock_screen_problem(value)
            if problem:
                found[name] = problem
    if "lead" not in found:
        used = _placeholders(lead)
        if used is None:
            found["lead"] = "Braces { } are only for the placeholders listed; check that each one is closed."
        else:
            unknown = sorted(used - set(default.placeholders))
            if unknown:
                allowed = ", ".join(f"{{{p}}}" for p in default.placeholders) or "none"
                found["lead"] = f"{{{unknown[0]}}} is not available here (this kind may use: {allowed})."
    if rule in SESSION_DAY:
        for name, value in (("title", title), ("body", body), ("lead", lead)):
            if name not in found and suggests_driving(value):
                found[name] = (
                    "This arrives on the day of a session, when the patient must not drive, ride or use "
                    "machinery. It may say not to; it must not suggest it."
                )
    return found


def _placeholders(text: str) -> set[str] | None:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return None
    names = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            return None
        names.add(name)
    return names


def save(rule: str, *, title: str, body: str, lead: str, by: User) -> None:
    """Store the clinic's wording for a kind of reminder; raise ValueError with the problems if it cannot be used."""
    found = problems(rule, title=title, body=body, lead=lead)
    if found:
        raise WordingError(found)
    with db.atomic():
        ReminderText.insert(rule=rule, title=title, body=body, lead=lead, updated_at=utcnow()).on_conflict(
            conflict_target=[ReminderText.rule],
            update={
                ReminderText.title: title,
                ReminderText.body: body,
                ReminderText.lead: lead,
                ReminderText.updated_at: utcnow(),
            },
        ).execute()
        AuditEvent.record("reminder_text_changed", actor=by, detail=rule)


def restore(rule: str, *, by: User) -> None:
    """Go back to the default wording for a kind of reminder."""
    with db.atomic():
        if ReminderText.delete().where(ReminderText.rule == rule).execute():
            AuditEvent.record("reminder_text_changed", actor=by, detail=f"{rule}: default")


class WordingError(ValueError):
    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(fields.values()))
        self.fields = fields


# --------------------------------------------------------------------------- the in-app text, when sent


@dataclass(frozen=True)
class Message:
    title: str  # lock screen
    body: str  # lock screen
    text: str  # in the app


def message(reminder, patient: User, wording: Wording, now: dt.datetime | None = None) -> Message | None:
    """Write a reminder as it is sent: the generic lock-screen words and the full in-app text.

    None when it no longer applies (the session it was about is gone, the questionnaire was
    answered, today's mood is already logged): the dispatcher then sends nothing.
    """
    now = now or utcnow()
    if reminder.rule in WRITTEN_AHEAD:
        return Message(title=reminder.title or wording.title, body=wording.body, text=reminder.text)
    write = _WRITERS.get(reminder.rule, _plain)
    parts = write(reminder, patient, now)
    if parts is None:
        return None
    values, extra = parts
    text = "\n\n".join(p for p in (fill(wording.lead, wording.placeholders, values), *extra) if p)
    return Message(title=wording.title, body=wording.body, text=text)


def _plain(reminder, patient, now):
    return {}, []


def _session(reminder) -> TreatmentSession | None:
    return TreatmentSession.get_or_none(TreatmentSession.id == reminder.session_id) if reminder.session_id else None


def _before(reminder, patient, now):
    session = _session(reminder)
    if session is None or not scheduling.preparation_open(session, now):
        return None
    when = to_local(session.starts_at, patient.timezone)
    values = {"time": f"{when:%A} at {when:%H:%M}" if reminder.rule == "session_24h" else f"{when:%H:%M}"}
    extra = []
    if reminder.rule == "session_24h":
        left = [what for _, what, done in preparation.to_do(session) if not done]
        if left:
            extra.append("Still to do: " + "; ".join(left) + ".")
        else:
            extra.append("Your intention, music and ride are ready.")
    return values, extra


def _evening(reminder, patient, now):
    session = _session(reminder)
    if session is None or session.status in ("cancelled", "no_show"):
        return None
    until = to_local(session.ends_at + dt.timedelta(hours=scheduling.NO_DRIVING_HOURS), patient.timezone)
    return {"time": f"tomorrow at {until:%H:%M}"}, []


def _after(reminder, patient, now):
    session = _session(reminder)
    if session is None or session.status in ("cancelled", "no_show"):
        return None
    day = int(reminder.rule[-1])
    practices = scheduling.practices_for(day)
    practice = f"Today's practice: {practices[0].title}." if practices else ""
    extra = []
    intention = Intention.get_or_none(Intention.session == session)
    if intention is not None and intention.carry:
        extra.append(f"You carried this in: “{intention.carry}” What do you notice about it now?")
    return {"practice": practice}, extra


def _checkin(reminder, patient, now):
    due = checkins.due(patient, now)
    if not due:
        return None
    names = " and ".join(spec.name for spec in due)
    minutes = sum(spec.minutes for spec in due)
    return {"measures": f"questionnaire{'s' if len(due) > 1 else ''} ({names})", "minutes": str(minutes)}, []


def _mood(reminder, patient, now):
    today = to_local(now, patient.timezone).date()
    if mood.logged_on(patient, today):
        return None  # already logged today: no nudge
    return {}, []


def circle_where(circle: Circle) -> str:
    """Where a circle meets, as a reminder says it: the place, or that the link is on its page."""
    if circle.mode == "online":
        return "The link to join is on the circle's page."
    return f"At {circle.place}." if circle.place else ""


def _circle(reminder, patient, now):
    meeting_id = reminder.slot[1:].partition("@")[0]
    meeting = CircleMeeting.get_or_none(CircleMeeting.id == int(meeting_id)) if meeting_id.isdigit() else None
    if meeting is None or meeting.status != "scheduled" or meeting.starts_at <= now:
        return None
    circle = meeting.circle
    if circle.closed_at is not None:
        return None
    if (
        not CircleMember.select()
        .where(CircleMember.circle == circle, CircleMember.patient == patient, CircleMember.status == "member")
        .exists()
    ):
        return None  # they left
    when = to_local(meeting.starts_at, patient.timezone)
    return {"circle": circle.title, "time": f"{when:%H:%M}", "where": circle_where(circle)}, []


def _alert(reminder, clinician, now):
    alert = SafetyAlert.get_or_none(SafetyAlert.id == reminder.alert_id) if reminder.alert_id else None
    if alert is None or alert.acknowledged_at is not None:
        return None  # a colleague has acted on it
    waited = workhours.working_minutes(alert.created_at, now)
    return {"minutes": str(waited)}, ["Open the patient's record to see it and acknowledge it."]


def fill(lead: str, placeholders, values: dict) -> str:
    """Fill a wording's lead with the values for its placeholders (missing ones left empty)."""
    return " ".join(lead.format_map({name: values.get(name, "") for name in placeholders}).split())


def inbox_heading(wording: Wording, author: str | None = None) -> str:
    return wording.inbox.replace("{author}", author or "your clinic")


_WRITERS = {
    "alert_new": _alert,
    "alert_escalated": _alert,
    "session_24h": _before,
    "session_2h": _before,
    "after_evening": _evening,
    "after_day1": _after,
    "after_day2": _after,
    "after_day3": _after,
    "checkin": _checkin,
    "circle_24h": _circle,
    "circle_1h": _circle,
    "mood_daily": _mood,
}
