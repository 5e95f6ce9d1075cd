"""Planning reminders: which a patient should get and when, worked out again from what is true now.

The reminder outbox is the truth. `plan(patient)` lists what the patient's sessions, check-ins and
settings call for, puts each at its time, and brings the patient's planned rows in line: one row
per patient, rule and slot (the occurrence: which session at which time, which questionnaire
occasion, which day), so planning twice changes nothing, a moved session gets new rows and its
old ones are cancelled, and a reminder already sent is never sent again. It runs inside the
transaction of whatever changed (a session booked, moved, cancelled or marked; a check-in; a
change of zone, quiet hours or the daily nudge; enrolment).

Time. Each rule says whether its offset is elapsed time ("24 hours before the session", the same
instant whatever the clocks do) or local wall-clock time ("18:00 on the patient's day", which
stays at 18:00 across a change of clocks or a move to another zone). Local times that do not
exist (a spring-forward gap) move forward; a repeated hour means its first occurrence.

Quiet hours (per patient, crossing midnight by default) hold a reminder until they end. A
reminder about an event that would then arrive too late for it (the session would have begun) is
sent shortly before quiet hours begin instead; if that moment has passed too, it is not sent.
Every reminder has an expiry: the dispatcher marks one past it expired, never sends it late.
"""

import datetime as dt
from dataclasses import dataclass

from ..db import db
from ..localtime import to_local
from ..localtime import to_utc
from ..models import CANCELLED
from ..models import CheckIn
from ..models import Circle
from ..models import CircleMeeting
from ..models import CircleMember
from ..models import COMPLETED
from ..models import Device
from ..models import DOSING_KINDS
from ..models import MEETING_SCHEDULED
from ..models import MEMBER
from ..models import NO_SHOW
from ..models import PATIENT
from ..models import Reminder
from ..models import REMINDER_CANCELLED
from ..models import REMINDER_PLANNED
from ..models import SCHEDULED
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..selfreports.instruments import chosen

ELAPSED, WALL = "elapsed", "wall"
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)

EVENING_AT = dt.time(19, 0)  # the evening after a session, local time
CHECKIN_AT = dt.time(18, 0)  # a questionnaire that fell due: at this local time the next day
BEFORE_QUIET = dt.timedelta(minutes=15)  # an event's reminder held back by quiet hours goes this long before they begin
AFTER_SESSIONS_DAYS = 3  # +24 h, +48 h, +72 h after a dosing session


@dataclass(frozen=True)
class Rule:
    """One kind of reminder and how it is timed."""

    key: str
    clock: str  # ELAPSED or WALL
    urgency: str  # RFC 8030 Urgency for the push service
    event: bool  # about an event: rather early (before quiet hours) than after the event
    grace: dt.timedelta  # planned late (a session booked an hour ahead), it is still sent this long after its moment


RULES = {
    rule.key: rule
    for rule in (
        Rule("session_24h", ELAPSED, "normal", event=True, grace=2 * HOUR),
        Rule("session_2h", ELAPSED, "high", event=True, grace=HOUR),
        Rule("after_evening", WALL, "normal", event=True, grace=3 * HOUR),
        Rule("after_day1", ELAPSED, "normal", event=False, grace=12 * HOUR),
        Rule("after_day2", ELAPSED, "normal", event=False, grace=12 * HOUR),
        Rule("after_day3", ELAPSED, "normal", event=False, grace=12 * HOUR),
        Rule("checkin", WALL, "low", event=False, grace=7 * DAY),
        Rule("mood_daily", WALL, "low", event=False, grace=2 * HOUR),
        Rule("circle_24h", ELAPSED, "normal", event=True, grace=2 * HOUR),
        Rule("circle_1h", ELAPSED, "high", event=True, grace=dt.timedelta(minutes=30)),
    )
}
# What a patient may turn off, and the rules each covers (the daily nudge is off unless asked for;
# messages from the clinic and changes to appointments always come).
KINDS = {
    "before": ("Before each session", ("session_24h", "session_2h")),
    "after": ("In the days after a session", ("after_evening", "after_day1", "after_day2", "after_day3")),
    "checkin": ("When a questionnaire is due", ("checkin",)),
    "circles": ("Before a circle you joined meets", ("circle_24h", "circle_1h")),
}
# Not planned from the patient's data (a test, a message, a change to a session, an alert for
# staff): planning leaves them alone.
UNPLANNED = {
    "test": "normal",
    "message": "normal",
    "notice": "normal",
    "session_booked": "normal",
    "session_moved": "normal",
    "session_cancelled": "normal",
    "circle_moved": "normal",
    "circle_cancelled": "normal",
    "alert_new": "high",
    "alert_escalated": "high",
}


def urgency(rule: str) -> str:
    return RULES[rule].urgency if rule in RULES else UNPLANNED.get(rule, "normal")


@dataclass(frozen=True)
class Want:
    """A reminder the patient's data calls for, before quiet hours are applied."""

    rule: str
    slot: str
    moment: dt.datetime  # UTC: when it would ideally arrive
    deadline: dt.datetime  # UTC: after this it is no use (it expires)
    path: str  # where a tap opens
    session_id: int | None = None
    earliest: dt.datetime | None = None  # UTC: never before this (the evening note, not before the session ends)


# --------------------------------------------------------------------------- local time and quiet hours


def _clock(value: str | None) -> dt.time | None:
    if not value:
        return None
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def at_local(day: dt.date, time: dt.time, zone: str) -> dt.datetime:
    """Return the UTC moment of a wall-clock time on a local day (a gap moves forward, a repeat means the first)."""
    return to_utc(dt.datetime.combine(day, time), zone)


def next_local(after: dt.datetime, time: dt.time, zone: str) -> dt.datetime:
    """Return the first UTC moment strictly after `after` (UTC) when the local clock in `zone` shows `time`."""
    day = to_local(after, zone).date()
    for offset in range(3):
        moment = at_local(day + dt.timedelta(days=offset), time, zone)
        if moment > after:
            return moment
    raise AssertionError("a wall-clock time recurs within three days")


@dataclass(frozen=True)
class Quiet:
    """A patient's quiet hours, [start, end) on their local clock; crossing midnight when start > end."""

    start: dt.time
    end: dt.time
    zone: str

    @classmethod
    def of(cls, patient: User) -> "Quiet | None":
        start, end = _clock(patient.quiet_start), _clock(patient.quiet_end)
        if start is None or end is None or start == end:
            return None
        return cls(start, end, patient.timezone)

    def holds(self, moment: dt.datetime) -> bool:
        """Tell whether a UTC moment falls in quiet hours."""
        t = to_local(moment, self.zone).time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def ends_after(self, moment: dt.datetime) -> dt.datetime:
        """Return when the quiet hours holding `moment` end (UTC)."""
        return next_local(moment, self.end, self.zone)

    def began_before(self, moment: dt.datetime) -> dt.datetime:
        """Return when the quiet hours holding `moment` began (UTC)."""
        local = to_local(moment, self.zone)
        day = local.date()
        if not (self.start < self.end) and local.time() < self.start:
            day -= DAY  # the small hours: they began the evening before
        return at_local(day, self.start, self.zone)


def settle(want: Want, quiet: Quiet | None, now: dt.datetime) -> dt.datetime | None:
    """Return when a wanted reminder should be sent, or None if it should not be sent at all."""
    rule = RULES[want.rule]
    if want.deadline <= now or want.moment < now - rule.grace:
        return None
    moment = max(want.moment, now, want.earliest or now)
    if quiet is None or not quiet.holds(moment):
        return moment if moment < want.deadline else None
    later = quiet.ends_after(moment)
    if later < want.deadline:
        return later
    if not rule.event:
        return None  # it would be stale by morning
    began = quiet.began_before(moment)
    if now >= began:
        return None  # quiet hours have begun and the event comes before they end
    sooner = max(began - BEFORE_QUIET, now, want.earliest or now)
    return sooner if sooner < began else None


# --------------------------------------------------------------------------- what the patient's data calls for


def session_slot(session: TreatmentSession) -> str:
    # The start time is part of the occurrence: a moved session is a new one to remind about,
    # and a reminder already sent for the old time stays what it was.
    return f"s{session.id}@{session.starts_at:%Y%m%dT%H%M}"


def _session_wants(patient: User, now: dt.datetime) -> list[Want]:
    wants = []
    recent = TreatmentSession.select().where(
        TreatmentSession.patient == patient,
        TreatmentSession.status.in_((SCHEDULED, COMPLETED)),
        TreatmentSession.starts_at > now - (AFTER_SESSIONS_DAYS + 2) * DAY,
    )
    for session in recent:
        slot, start, end = session_slot(session), session.starts_at, session.ends_at
        page = f"/sessions/{session.id}"
        if session.status == SCHEDULED and start > now:
            wants.append(Want("session_24h", slot, start - 24 * HOUR, start - 2 * HOUR, page, session.id))
            wants.append(Want("session_2h", slot, start - 2 * HOUR, start, page, session.id))
        if session.kind not in DOSING_KINDS:
            continue
        evening = max(at_local(to_local(start, patient.timezone).date(), EVENING_AT, patient.timezone), end + HOUR)
        wants.append(
            Want(
                "after_evening",
                slot,
                evening,
                evening + 4 * HOUR,
                f"/journal/new?session={session.id}",
                session.id,
                earliest=end,
            )
        )
        for day in range(1, AFTER_SESSIONS_DAYS + 1):
            moment = end + day * 24 * HOUR
            wants.append(Want(f"after_day{day}", slot, moment, moment + 12 * HOUR, "/home", session.id))
    return wants


def _checkin_wants(patient: User, now: dt.datetime) -> list[Want]:
    """One reminder per occasion a questionnaire falls due: at the start, after milestone sessions, every N days."""
    answered: dict[str, dt.datetime] = {}
    for checkin in CheckIn.select(CheckIn.instrument, CheckIn.submitted_at).where(CheckIn.patient == patient):
        if checkin.submitted_at > answered.get(checkin.instrument, dt.datetime.min):
            answered[checkin.instrument] = checkin.submitted_at
    numbered = {
        s.number: s
        for s in TreatmentSession.select().where(
            TreatmentSession.patient == patient,
            TreatmentSession.number.is_null(False),
            TreatmentSession.kind.in_(DOSING_KINDS),
            TreatmentSession.status.not_in((CANCELLED, NO_SHOW)),
        )
    }
    grace = RULES["checkin"].grace
    occasions: dict[str, tuple[dt.datetime, list[str]]] = {}

    def add(slot: str, moment: dt.datetime, key: str) -> None:
        first, keys = occasions.get(slot, (moment, []))
        occasions[slot] = (min(first, moment), [*keys, key])

    for spec in chosen(patient):  # the measures the clinician asked for, each at its own rhythm
        key = spec.key
        last = answered.get(key)
        if last is None:
            joined = patient.created_at
            add("baseline", joined if joined > now - grace + DAY else now, key)
        for number in spec.rhythm.after_sessions:
            session = numbered.get(number)
            if session is not None and (last is None or session.ends_at > last):
                add(f"s{session.id}", session.ends_at, key)
        if last is not None and spec.rhythm.every_days:
            moment = last + dt.timedelta(days=spec.rhythm.every_days)
            add(f"d{to_local(moment, patient.timezone):%Y%m%d}", moment, key)
    wants = []
    for slot, (moment, keys) in occasions.items():
        # The evening of the next day: never on the day of a session, when rest comes first.
        at = at_local(to_local(moment, patient.timezone).date() + DAY, CHECKIN_AT, patient.timezone)
        wants.append(Want("checkin", slot, at, at + 7 * DAY, f"/checkins/{keys[0]}"))
    return wants


def _mood_wants(patient: User, now: dt.datetime) -> list[Want]:
    time = _clock(patient.mood_nudge_at)
    if time is None:
        return []
    today = to_local(now, patient.timezone).date()
    wants = []
    for day in (today, today + DAY):
        moment = at_local(day, time, patient.timezone)
        wants.append(Want("mood_daily", day.isoformat(), moment, moment + 2 * HOUR, "/home"))
    return wants


def circle_slot(meeting: CircleMeeting) -> str:
    # As for a session: a moved meeting is a new occurrence to remind about.
    return f"c{meeting.id}@{meeting.starts_at:%Y%m%dT%H%M}"


def _circle_wants(patient: User, now: dt.datetime) -> list[Want]:
    """24 hours and 1 hour before each coming meeting of each circle the patient is in."""
    meetings = (
        CircleMeeting.select(CircleMeeting)
        .join(Circle)
        .join(CircleMember, on=(CircleMember.circle == Circle.id))
        .where(
            CircleMember.patient == patient,
            CircleMember.status == MEMBER,
            Circle.closed_at.is_null(),
            CircleMeeting.status == MEETING_SCHEDULED,
            CircleMeeting.starts_at > now,
        )
    )
    wants = []
    for meeting in meetings:
        slot, start, page = circle_slot(meeting), meeting.starts_at, f"/circles/{meeting.circle_id}"
        wants.append(Want("circle_24h", slot, start - 24 * HOUR, start - HOUR, page))
        wants.append(Want("circle_1h", slot, start - HOUR, start, page))
    return wants


def turned_off(patient: User) -> set[str]:
    """Return the kinds of reminder (KINDS) the patient turned off."""
    return {kind for kind in (patient.reminders_off or "").split(",") if kind in KINDS}


def wants(patient: User, now: dt.datetime) -> list[Want]:
    """Return every reminder the patient's data calls for from now on, before quiet hours (kinds turned off left out)."""
    off = {rule for kind in turned_off(patient) for rule in KINDS[kind][1]}
    everything = [
        *_session_wants(patient, now),
        *_checkin_wants(patient, now),
        *_mood_wants(patient, now),
        *_circle_wants(patient, now),
    ]
    return [want for want in everything if want.rule not in off]


# --------------------------------------------------------------------------- bringing the outbox in line


def plan(patient: User, now: dt.datetime | None = None) -> None:
    """Bring a patient's planned reminders in line with their data. Call it inside the change's transaction."""
    now = now or utcnow()
    if patient.role != PATIENT:
        return  # staff get alerts, not reminders
    if not patient.is_active:
        cancel_all(patient)
        return
    quiet = Quiet.of(patient)
    rows = {
        (row.rule, row.slot): row
        for row in Reminder.select().where(Reminder.user == patient, Reminder.rule.in_(list(RULES)))
    }
    planned = {}
    for want in wants(patient, now):
        due = settle(want, quiet, now)
        if due is not None:
            planned[(want.rule, want.slot)] = (want, due)
        else:
            # Its moment passed while it waited for a worker, but it is still of use: leave it be.
            row = rows.get((want.rule, want.slot))
            if row is not None and row.status == REMINDER_PLANNED and want.deadline > now:
                planned[(want.rule, want.slot)] = (want, row.due_at)

    new = []
    for key, (want, due) in planned.items():
        fields = {
            "due_at": due,
            "expires_at": want.deadline,
            "path": want.path,
            "session": want.session_id,
            "status": REMINDER_PLANNED,
        }
        row = rows.get(key)
        if row is None:
            new.append({"user": patient.id, "rule": want.rule, "slot": want.slot, **fields})
            continue
        # A snooze the patient asked for, or a back-off after a busy push service, is never undone.
        if row.snoozed_until is not None:
            fields["due_at"] = due = max(due, row.snoozed_until)
        if row.attempts and row.status == REMINDER_PLANNED:
            fields["due_at"] = due = max(due, row.due_at)
        if row.status in (REMINDER_PLANNED, REMINDER_CANCELLED) and not _leased(row, now):
            current = (row.due_at, row.expires_at, row.path, row.session_id, row.status)
            if current != (due, want.deadline, want.path, want.session_id, REMINDER_PLANNED):
                Reminder.update(updated_at=now, **fields).where(Reminder.id == row.id).execute()
    stale = [
        row.id
        for key, row in rows.items()
        if key not in planned and row.status == REMINDER_PLANNED and not _leased(row, now)
    ]
    if stale:
        Reminder.update(status=REMINDER_CANCELLED, updated_at=now).where(Reminder.id.in_(stale)).execute()
    if new:
        Reminder.insert_many(new).on_conflict_ignore().execute()


def _leased(row: Reminder, now: dt.datetime) -> bool:
    """A worker is sending it right now: its outcome is the worker's to record."""
    return row.lease_until is not None and row.lease_until > now


def cancel_all(patient: User) -> None:
    """Cancel everything planned for a patient (an account closed or deactivated)."""
    Reminder.update(status=REMINDER_CANCELLED, updated_at=utcnow()).where(
        Reminder.user == patient, Reminder.status == REMINDER_PLANNED
    ).execute()


def close(patient: User) -> None:
    """An account closes: nothing more is sent, and its devices are forgotten."""
    cancel_all(patient)
    Device.delete().where(Device.user == patient).execute()


def plan_everyone(now: dt.datetime | None = None) -> int:
    """Plan every active patient's reminders again, one transaction each; return how many."""
    count = 0
    for patient in User.select().where(User.role == PATIENT, User.active == True, User.closed_at.is_null()):  # noqa: E712
        with db.atomic():
            plan(patient, now)
        count += 1
    return count


def top_up(now: dt.datetime | None = None) -> int:
    """Plan the next daily nudge for patients who asked for one and have none planned; return how many.

    The only rule that recurs with nothing happening: the dispatcher calls this on each pass.
    """
    now = now or utcnow()
    waiting = Reminder.select(Reminder.user).where(
        Reminder.rule == "mood_daily", Reminder.status == REMINDER_PLANNED, Reminder.due_at > now
    )
    patients = User.select().where(
        User.role == PATIENT,
        User.mood_nudge_at.is_null(False),
        User.active == True,  # noqa: E712
        User.closed_at.is_null(),
        User.id.not_in(waiting),
    )
    count = 0
    for patient in patients:
        with db.atomic():
            plan(patient, now)
        count += 1
    return count


# --------------------------------------------------------------------------- the patient's own changes

SNOOZES = {"hour": "In an hour", "three": "In three hours", "tomorrow": "Tomorrow morning"}


class SnoozeError(ValueError):
    """A snooze that cannot be done; the message is for the patient."""


def snooze(patient: User, reminder: Reminder, choice: str, now: dt.datetime | None = None) -> dt.datetime:
    """Send a planned reminder later (an hour, three hours, or tomorrow when quiet hours end); return when.

    Quiet hours still hold it; a time past the reminder's expiry is refused, never silently dropped.
    """
    now = now or utcnow()
    if choice not in SNOOZES:
        raise SnoozeError("Choose when to be reminded again.")
    if reminder.status != REMINDER_PLANNED or reminder.user_id != patient.id or reminder.due_at <= now:
        raise SnoozeError("This reminder is already on its way, so it cannot be moved.")
    quiet = Quiet.of(patient)
    if choice == "tomorrow":
        morning = quiet.end if quiet is not None else dt.time(9, 0)
        target = at_local(to_local(now, patient.timezone).date() + DAY, morning, patient.timezone)
    else:
        target = max(reminder.due_at, now) + (HOUR if choice == "hour" else 3 * HOUR)
    if quiet is not None and quiet.holds(target):
        target = quiet.ends_after(target)
    if target >= reminder.expires_at:
        last = to_local(reminder.expires_at, patient.timezone)
        raise SnoozeError(
            f"That would be too late: this reminder is only useful until {last:%A} at {last:%H:%M}. Choose a sooner time."
        )
    with db.atomic():
        updated = (
            Reminder.update(due_at=target, snoozed_until=target, updated_at=now)
            .where(
                Reminder.id == reminder.id,
                Reminder.status == REMINDER_PLANNED,
                Reminder.lease_until.is_null() | (Reminder.lease_until <= now),
            )
            .execute()
        )
    if not updated:
        raise SnoozeError("This reminder is already on its way, so it cannot be moved.")
    return target


def upcoming(patient: User, now: dt.datetime | None = None, days: int = 14):
    """Return the query for the patient's planned reminders in the coming days, soonest first."""
    now = now or utcnow()
    planned = Reminder.select().where(
        Reminder.user == patient, Reminder.status == REMINDER_PLANNED, Reminder.rule.in_(list(RULES))
    )
    coming = planned.where(Reminder.due_at <= now + dt.timedelta(days=days), Reminder.expires_at > now)
    return coming.order_by(Reminder.due_at, Reminder.id)
