"""Scheduling rules for treatment sessions, and where a patient is in the window of clarity."""

import datetime as dt
from dataclasses import dataclass

from .db import db
from .localtime import local_day
from .localtime import to_utc
from .models import CANCELLED
from .models import ClinicSetting
from .models import DOSING_KINDS
from .models import NO_SHOW
from .models import Practice
from .models import SCHEDULED
from .models import SESSION_KINDS
from .models import TreatmentSession
from .models import User
from .models import utcnow

WINDOW_HOURS = 72  # the window of clarity after a dosing session
MIN_MINUTES, MAX_MINUTES = 10, 480


class ScheduleError(ValueError):
    """A session that cannot be scheduled as asked; the message is for the clinician."""


def clinic_zone() -> str:
    """Return the clinic's IANA time zone (Clinic settings), in which staff enter session times."""
    return ClinicSetting.get_value("clinic_timezone", "UTC")


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
        raise ScheduleError("Choose the kind of session.")
    if not MIN_MINUTES <= duration_minutes <= MAX_MINUTES:
        raise ScheduleError(f"A session lasts between {MIN_MINUTES} and {MAX_MINUTES} minutes.")
    starts_at = to_utc(wall, zone)
    if starts_at <= now:
        raise ScheduleError("That time has passed. A scheduled session must be in the future.")
    ends_at = starts_at + dt.timedelta(minutes=duration_minutes)
    others = TreatmentSession.live().where(
        TreatmentSession.patient == patient,
        TreatmentSession.status != NO_SHOW,
        TreatmentSession.starts_at < ends_at,
    )
    if session is not None:
        others = others.where(TreatmentSession.id != session.id)
    for other in others:
        if other.ends_at > starts_at:
            raise ScheduleError(
                f"{patient.name} already has a {other.kind_label.lower()} then "
                f"({other.wall_time.replace('T', ' ')} {other.zone}). Choose another time."
            )
    return {
        "kind": kind,
        "starts_at": starts_at,
        "wall_time": wall.strftime("%Y-%m-%dT%H:%M"),
        "zone": zone,
        "duration_minutes": duration_minutes,
    }


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
    return (
        TreatmentSession.select()
        .where(
            TreatmentSession.patient == patient,
            TreatmentSession.status == SCHEDULED,
            TreatmentSession.starts_at > now - dt.timedelta(hours=8),
        )
        .order_by(TreatmentSession.starts_at)
        .first()
    )


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
    candidates = (
        TreatmentSession.select()
        .where(
            TreatmentSession.patient == patient,
            TreatmentSession.kind.in_(DOSING_KINDS),
            TreatmentSession.status.not_in((CANCELLED, NO_SHOW)),
            TreatmentSession.starts_at <= now,
            TreatmentSession.starts_at >= since,
        )
        .order_by(TreatmentSession.starts_at.desc())
    )
    for session in candidates:
        hours = (now - session.ends_at).total_seconds() / 3600
        if -session.duration_minutes / 60 <= hours < WINDOW_HOURS:
            day = (local_day(now, patient.timezone) - local_day(session.starts_at, patient.timezone)).days
            no_driving = now < session.starts_at + dt.timedelta(hours=24)
            return Window(session=session, hours_since=max(0.0, hours), day=day, no_driving=no_driving)
    return None


def practices_for(day: int) -> list[Practice]:
    """Return the clinic's active practices offered on a given day after a session."""
    practices = Practice.select().where(Practice.active == True).order_by(Practice.position)  # noqa: E712
    return [p for p in practices if day in p.day_list]
