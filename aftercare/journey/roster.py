"""The day roster: every session on one clinic day for a clinician's patients, so the room can be set."""

import datetime as dt
from dataclasses import dataclass

from ..intake import intakes
from ..localtime import to_local
from ..models import AuditEvent
from ..models import Intention
from ..models import TreatmentSession
from ..models import User
from . import preparation
from . import scheduling


@dataclass(frozen=True)
class Day:
    day: dt.date
    zone: str
    sessions: list[TreatmentSession]
    intentions: dict[int, Intention]
    next_busy: dt.date | None  # the next day with sessions, when this one has none
    unreviewed: set[int]  # the patients shown whose intake screening no clinician has reviewed


def show(clinician: User, day: dt.date, zone: str) -> Day:
    """Return the roster of one day, writing every patient it shows to the audit log in one statement (LOG-01)."""
    start, end = scheduling.day_bounds(day, zone)
    mine = clinician.patients().select(User.id)
    sessions = list(
        TreatmentSession.with_playlist(
            TreatmentSession.select(TreatmentSession, User)
            .join(User, on=TreatmentSession.patient)
            .switch(TreatmentSession)
        )
        .where(
            TreatmentSession.patient.in_(mine), TreatmentSession.starts_at >= start, TreatmentSession.starts_at < end
        )
        .order_by(TreatmentSession.starts_at, User.name)
    )
    # An empty day points to the next one with sessions, so nobody pages through a quiet week.
    next_busy = None
    if not sessions:
        following = (
            TreatmentSession.live()
            .where(TreatmentSession.patient.in_(mine), TreatmentSession.starts_at >= end)
            .order_by(TreatmentSession.starts_at)
            .first()
        )
        next_busy = to_local(following.starts_at, zone).date() if following else None
    patients = list({s.patient_id: s.patient for s in sessions}.values())
    AuditEvent.record_many("view_roster", actor=clinician, patients=patients, detail=day.isoformat())
    ids = [p.id for p in patients]
    unreviewed = set(ids) - intakes.reviewed(ids) if ids else set()
    return Day(day, zone, sessions, preparation.intentions_for(sessions), next_busy, unreviewed)
