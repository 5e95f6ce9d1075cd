"""Scheduling treatment sessions (each change one transaction), and where a patient is in the window of clarity."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from .. import settings
from ..db import db
from ..localtime import local_day
from ..localtime import to_local
from ..localtime import to_utc
from ..models import AuditEvent
from ..models import CANCELLED
from ..models import COMPLETED
from ..models import DOSING_KINDS
from ..models import NO_SHOW
from ..models import Practice
from ..models import SCHEDULED
from ..models import SESSION_KINDS
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..reminders import messages
from ..reminders import planner
from ..safety import suggests_driving
from ..selfreports import points
from ..selfreports import windows

WINDOW_HOURS = 72  # the window of clarity after a dosing session
NO_DRIVING_HOURS = 24  # CLIN-08: counted from the end of the session, when the patient leaves
MIN_MINUTES, MAX_MINUTES = 10, 480
MAX_DAYS_AHEAD = 730  # further ahead is almost always a mistyped year


class ScheduleError(ValueError):
    """A session that cannot be scheduled as asked; the message is for the clinician.

    `field` names what the message is about ("kind", "when", "duration", "status"), so a form
    can show it next to the right input.
    """

    def __init__(self, message: str, field: str = "when"):
        super().__init__(message)
        self.field = field


def clinic_zone() -> str:
    """Return the clinic's IANA time zone (Clinic settings), in which staff enter session times."""
    return settings.current().timezone


def plan(
    patient: User,
    *,
    kind: str,
    wall: dt.datetime,
    duration_minutes: int,
    zone: str | None = None,
    session: TreatmentSession | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """Check a new or moved session; return the fields to store. Raise ScheduleError if it cannot be."""
    zone = zone or clinic_zone()
    now = now or utcnow()
    if kind not in SESSION_KINDS:
        raise ScheduleError("Choose the kind of session.", "kind")
    if not MIN_MINUTES <= duration_minutes <= MAX_MINUTES:
        raise ScheduleError(f"A session lasts between {MIN_MINUTES} and {MAX_MINUTES} minutes.", "duration")
    starts_at = to_utc(wall, zone)
    if starts_at <= now:
        raise ScheduleError("That time has passed. A scheduled session must be in the future.")
    if starts_at > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise ScheduleError("That is more than two years ahead. Check the year.")
    ends_at = starts_at + dt.timedelta(minutes=duration_minutes)
    others = TreatmentSession.live().where(
        TreatmentSession.patient == patient,
        TreatmentSession.status != NO_SHOW,
        TreatmentSession.starts_at < ends_at,
        TreatmentSession.starts_at > starts_at - dt.timedelta(minutes=MAX_MINUTES),
    )
    if session is not None:
        others = others.where(TreatmentSession.id != session.id)
    for other in others:
        if other.ends_at > starts_at:
            raise ScheduleError(
                f"{patient.name} already has a session at that time: {other.kind_label}, "
                f"{to_local(other.starts_at, zone):%a %-d %b, %H:%M}–{to_local(other.ends_at, zone):%H:%M %Z}. "
                "Choose another time."
            )
    return {
        "kind": kind,
        "starts_at": starts_at,
        "wall_time": wall.strftime("%Y-%m-%dT%H:%M"),
        "zone": zone,
        "duration_minutes": duration_minutes,
    }


def series_changed(patient: User) -> None:
    """The patient's series changed: number the dosing sessions again, recount their mood after each
    and work out again which scores stand for the baseline and each session (selfreports/points.py)."""
    renumber(patient)
    windows.rebuild([patient.id])
    points.refresh([patient.id])


def renumber(patient: User) -> None:
    """Number the patient's dosing sessions 1, 2, 3... in time order; cancelled and no-shows get none."""
    with db.atomic():
        number = 0
        for session in TreatmentSession.for_patient(patient):
            counted = session.kind in DOSING_KINDS and session.status not in (CANCELLED, NO_SHOW)
            if counted:
                number += 1
            value = number if counted else None
            if session.number != value:
                TreatmentSession.update(number=value).where(TreatmentSession.id == session.id).execute()


def next_session(patient: User, now: dt.datetime | None = None) -> TreatmentSession | None:
    """Return the patient's next scheduled session that has not ended."""
    now = now or utcnow()
    coming = TreatmentSession.select().where(
        TreatmentSession.patient == patient,
        TreatmentSession.status == SCHEDULED,
        TreatmentSession.starts_at > now - dt.timedelta(hours=8),
    )
    return next_of(coming, now)


def next_of(sessions, now: dt.datetime) -> TreatmentSession | None:
    """Return the next scheduled session that has not ended, of some of a patient's sessions."""
    coming = [s for s in sessions if s.status == SCHEDULED and s.starts_at > now - dt.timedelta(hours=8)]
    return min(coming, key=lambda s: s.starts_at, default=None)


@dataclass(frozen=True)
class Window:
    """Where a patient is in the ~72 hours after a dosing session."""

    session: TreatmentSession
    hours_since: float  # since the session ended
    day: int  # 0 = the session day (patient's calendar), 1, 2, 3
    no_driving: bool  # within 24 hours of the session (CLIN-08)

    @property
    def hours_left(self) -> float:
        return max(0.0, WINDOW_HOURS - self.hours_since)


def window(patient: User, now: dt.datetime | None = None) -> Window | None:
    """Return the window of clarity the patient is in now, or None."""
    now = now or utcnow()
    since = now - dt.timedelta(hours=WINDOW_HOURS) - dt.timedelta(minutes=MAX_MINUTES)
    recent = TreatmentSession.select().where(
        TreatmentSession.patient == patient, TreatmentSession.starts_at <= now, TreatmentSession.starts_at >= since
    )
    return window_of(patient, recent, now)


def window_of(patient: User, sessions, now: dt.datetime) -> Window | None:
    """Return the window of clarity the patient is in now, from some of their sessions (any that could hold it)."""
    candidates = sorted(
        (s for s in sessions if s.kind in DOSING_KINDS and s.status not in (CANCELLED, NO_SHOW) and s.starts_at <= now),
        key=lambda s: s.starts_at,
        reverse=True,
    )
    for session in candidates:
        hours = (now - session.ends_at).total_seconds() / 3600
        if -session.duration_minutes / 60 <= hours < WINDOW_HOURS:
            day = (local_day(now, patient.timezone) - local_day(session.starts_at, patient.timezone)).days
            no_driving = now < session.ends_at + dt.timedelta(hours=NO_DRIVING_HOURS)
            return Window(session=session, hours_since=max(0.0, hours), day=day, no_driving=no_driving)
    return None


def practices_for(day: int, no_driving: bool = False) -> list[Practice]:
    """Return the clinic's active practices offered on a given day after a session.

    Within the 24 hours without driving, a practice that suggests it is left out whatever its
    days say (CLIN-08): the form refuses such text for the first two days, but older rows or a
    session late in the evening must not slip one through.
    """
    practices = Practice.select().where(Practice.active == True).order_by(Practice.position)  # noqa: E712
    return [
        p
        for p in practices
        if day in p.day_list and not (no_driving and suggests_driving(f"{p.title} {p.description}"))
    ]


# --------------------------------------------------------------------------- changing sessions
#
# Each change is one transaction: the check against the patient's other sessions, the row,
# the renumbering, the patient's reminders planned again and told of the change, and the audit
# row (DUR-03).


def _lock(patient: User) -> None:
    """Serialize changes to one patient's sessions, so two bookings cannot both pass the overlap check.

    PostgreSQL takes the patient's row lock. SQLite has no FOR UPDATE (peewee refuses it), but
    its transactions begin IMMEDIATE here (db.py), which already lets one writer in at a time.
    """
    if db.for_update:
        User.select(User.id).where(User.id == patient.id).for_update().get()


def _fresh(session: TreatmentSession) -> TreatmentSession:
    return TreatmentSession.get_by_id(session.id)


def book(patient: User, *, by: User, now: dt.datetime | None = None, **when) -> TreatmentSession:
    """Schedule a session for a patient (`when`: plan's kind, wall, duration_minutes and zone).

    Raise ScheduleError, with nothing stored, if it cannot be.
    """
    with db.atomic():
        _lock(patient)
        fields = plan(patient, now=now, **when)
        session = TreatmentSession.create(patient=patient, scheduled_by=by, **fields)
        series_changed(patient)
        planner.plan(patient, now)
        messages.session_changed(_fresh(session), "booked", now)
        AuditEvent.record("session_scheduled", actor=by, patient=patient, detail=f"session {session.id}")
    return _fresh(session)


def move(session: TreatmentSession, *, by: User, now: dt.datetime | None = None, **when) -> TreatmentSession:
    """Change a scheduled session's kind, time or length (`when` as for book); a new time asks for the ride again."""
    now = now or utcnow()
    patient = session.patient
    with db.atomic():
        _lock(patient)
        session = _fresh(session)
        if session.status != SCHEDULED:
            raise ScheduleError(f"This session is {session.status_label.lower()}; it can no longer be changed.")
        if session.starts_at <= now:
            raise ScheduleError("This session has started; it can no longer be moved. Mark it completed or a no-show.")
        fields = plan(patient, session=session, now=now, **when)
        if fields["starts_at"] != session.starts_at:
            # The person who agreed to drive agreed to the old time.
            fields["ride_confirmed_at"] = None
        TreatmentSession.update(updated_at=utcnow(), **fields).where(TreatmentSession.id == session.id).execute()
        series_changed(patient)
        planner.plan(patient, now)
        if fields["starts_at"] != session.starts_at:
            messages.session_changed(_fresh(session), "moved", now)
        AuditEvent.record("session_changed", actor=by, patient=patient, detail=f"session {session.id}")
    return _fresh(session)


def cancel(session: TreatmentSession, *, by: User, now: dt.datetime | None = None) -> TreatmentSession:
    """Cancel a scheduled session: it frees its time and leaves the numbering."""
    patient = session.patient
    with db.atomic():
        _lock(patient)
        session = _fresh(session)
        if session.status != SCHEDULED:
            raise ScheduleError(f"This session is {session.status_label.lower()}; it cannot be cancelled.", "status")
        TreatmentSession.update(status=CANCELLED, updated_at=utcnow()).where(
            TreatmentSession.id == session.id
        ).execute()
        series_changed(patient)
        planner.plan(patient, now)
        messages.session_changed(session, "cancelled", now)
        AuditEvent.record("session_cancelled", actor=by, patient=patient, detail=f"session {session.id}")
    return _fresh(session)


MARKS = {COMPLETED: "Completed", NO_SHOW: "No-show"}


def mark(session: TreatmentSession, status: str, *, by: User, now: dt.datetime | None = None) -> TreatmentSession:
    """Record that a session that has started was completed or missed (a mistake can be corrected)."""
    now = now or utcnow()
    if status not in MARKS:
        raise ScheduleError("Choose completed or no-show.", "status")
    patient = session.patient
    with db.atomic():
        _lock(patient)
        session = _fresh(session)
        if session.status == CANCELLED:
            raise ScheduleError("This session was cancelled.", "status")
        if session.starts_at > now:
            raise ScheduleError("This session has not started yet.", "status")
        TreatmentSession.update(status=status, updated_at=utcnow()).where(TreatmentSession.id == session.id).execute()
        series_changed(patient)
        planner.plan(patient, now)
        AuditEvent.record("session_marked", actor=by, patient=patient, detail=f"session {session.id}: {status}")
    return _fresh(session)


def has_started(session: TreatmentSession, now: dt.datetime | None = None) -> bool:
    return session.starts_at <= (now or utcnow())


def preparation_open(session: TreatmentSession, now: dt.datetime | None = None) -> bool:
    """Tell whether the patient may still change the intention, music and ride for a session."""
    return session.status == SCHEDULED and not has_started(session, now)


def day_bounds(day: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """Return the UTC start and end of a calendar day in `zone` (23 or 25 hours long across DST)."""
    start = to_utc(dt.datetime.combine(day, dt.time()), zone)
    end = to_utc(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()), zone)
    return start, end


def clock_change(wall: dt.datetime, zone: str) -> str | None:
    """Tell whether a wall-clock time falls in a DST gap ("skipped") or a repeated hour ("repeated")."""
    first, second = (wall.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold) for fold in (0, 1))
    if first.utcoffset() == second.utcoffset():
        return None
    return "skipped" if to_local(to_utc(wall, zone), zone).replace(tzinfo=None) != wall else "repeated"


def today_in(zone: str, now: dt.datetime | None = None) -> dt.date:
    return to_local(now or utcnow(), zone).date()
