"""What a clinician sees of one patient's sessions: on the patient's record, and beside the scheduling form."""

import datetime as dt
from dataclasses import dataclass
from dataclasses import field

from peewee import fn

from ..forms import EmptyForm
from ..models import AuditEvent
from ..models import Intention
from ..models import MoodWindow
from ..models import SCHEDULED
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import WINDOW_72H
from ..models import WINDOW_BUCKETS
from . import preparation
from . import scheduling


@dataclass
class PatientSessions:
    """What journey/_patient_sessions.html shows on the clinician's patient page."""

    patient: User
    upcoming: list[TreatmentSession]  # not yet ended, soonest first (cancelled ones included, marked)
    past: list[TreatmentSession]  # ended, most recent first
    intentions: dict[int, Intention]
    clinic_zone: str
    button: EmptyForm
    now: dt.datetime
    # Mood in the 72 hours after each dosing session: session id -> [(bucket label, entries, mean)].
    after: dict[int, list[tuple[str, int, float]]] = field(default_factory=dict)

    def needs_marking(self, session: TreatmentSession) -> bool:
        return session.status == SCHEDULED and scheduling.has_started(session, self.now)

    def can_change(self, session: TreatmentSession) -> bool:
        return scheduling.preparation_open(session, self.now)


def patient_sessions(patient: User, now: dt.datetime | None = None) -> PatientSessions:
    """Return a patient's sessions for their record (the record's own audit row covers showing them)."""
    now = now or utcnow()
    sessions = list(TreatmentSession.with_playlist(TreatmentSession.for_patient(patient)))
    return PatientSessions(
        patient=patient,
        upcoming=[s for s in sessions if s.ends_at > now],
        past=[s for s in reversed(sessions) if s.ends_at <= now],
        intentions=preparation.intentions_for(sessions),
        clinic_zone=scheduling.clinic_zone(),
        button=EmptyForm(),
        now=now,
        after=mood_after(patient),
    )


def mood_after(patient: User) -> dict[int, list[tuple[str, int, float]]]:
    """Return the patient's mood in each part of the 72 hours after each dosing session (the window rollup)."""
    rows = (
        MoodWindow.select(MoodWindow.session, MoodWindow.bucket, fn.SUM(MoodWindow.count), fn.SUM(MoodWindow.total))
        .where(MoodWindow.patient == patient, MoodWindow.bucket < WINDOW_72H)
        .group_by(MoodWindow.session, MoodWindow.bucket)
        .order_by(MoodWindow.session, MoodWindow.bucket)
        .tuples()
    )
    after: dict[int, list[tuple[str, int, float]]] = {}
    for session_id, bucket, count, total in rows:
        after.setdefault(session_id, []).append((WINDOW_BUCKETS[bucket], count, total / count))
    return after


def coming_sessions(clinician: User, patient: User, session: TreatmentSession | None) -> list[TreatmentSession]:
    """Return the patient's coming sessions beside the scheduling form, and audit showing them (LOG-01)."""
    AuditEvent.record(
        "view_sessions", actor=clinician, patient=patient, detail=f"session {session.id}" if session else "new session"
    )
    coming = TreatmentSession.live().where(
        TreatmentSession.patient == patient, TreatmentSession.starts_at > utcnow() - dt.timedelta(hours=8)
    )
    return [s for s in coming.order_by(TreatmentSession.starts_at) if not session or s.id != session.id]
