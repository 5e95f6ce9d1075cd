"""The clinician's panel: each patient's latest self-reports and the flags that need attention."""

import datetime as dt
from dataclasses import dataclass
from dataclasses import field

from peewee import fn

from .. import alerts
from ..models import AuditEvent
from ..models import MoodDay
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow
from ..reminders import status as reminder_status
from ..selfreports import outcomes
from ..selfreports.instruments import Instrument
from ..selfreports.instruments import INSTRUMENTS
from ..selfreports.instruments import shown
from ..selfreports.outcomes import Outcome

QUIET_DAYS = 7  # "no entry for N days"
DROP_RECENT_DAYS, DROP_BASE_DAYS, DROP_POINTS = 3, 14, 3.0  # a sharp mood drop
ATTENTION = ("escalated", "open alert", "worsening", "mood drop", "no entries", "reminders failing")


@dataclass
class Row:
    patient: User
    outcomes: dict[str, Outcome]
    open_alerts: int = 0
    last_day: dt.date | None = None
    mood_drop: float | None = None
    flags: list[str] = field(default_factory=list)
    escalated: int = 0  # open alerts past the clinic's set time (CLIN-03)
    measures: list[Instrument] = field(default_factory=list)  # asked for now, or answered before
    on_call: bool = False  # not in this clinician's care: shown because they are on call for an escalated alert

    @property
    def worse(self) -> list[str]:
        """The measures that rose meaningfully since the score before."""
        return [o.instrument.name for o in self.outcomes.values() if o.worsening]

    @property
    def attention(self) -> tuple:
        """Sort key: open alerts first, then worsening, mood drops, silence; then by name."""
        return (*(flag not in self.flags for flag in ATTENTION), self.patient.name.lower())


def build(clinician: User, today: dt.date | None = None) -> list[Row]:
    """Return one Row per patient in the clinician's care, most in need of attention first.

    A clinician on call also gets a row for each patient with an escalated alert (CLIN-03).
    """
    mine = list(clinician.patients())
    theirs = {p.id for p in mine}
    others = [
        alert.patient
        for alert in alerts.escalated_for(clinician).where(SafetyAlert.patient.not_in(list(theirs) or [0]))
    ]
    extra = list({p.id: p for p in others}.values())
    rows = rows_for(mine + extra, today)
    for row in rows:
        row.on_call = row.patient.id not in theirs
    return rows


def rows_for(patients: list[User], today: dt.date | None = None) -> list[Row]:
    """Return the panel rows of these patients, most in need of attention first."""
    if not patients:
        return []
    ids = [p.id for p in patients]
    scores = outcomes.for_patients(ids)
    rows = {
        p.id: Row(p, scores[p.id], measures=shown(p, [key for key, o in scores[p.id].items() if o.newest]))
        for p in patients
    }
    today = today or utcnow().date()

    for patient_id, count in (
        SafetyAlert.open()
        .select(SafetyAlert.patient, fn.COUNT(SafetyAlert.id))
        .where(SafetyAlert.patient.in_(ids))
        .group_by(SafetyAlert.patient)
        .tuples()
    ):
        rows[patient_id].open_alerts = count

    for patient_id, count in (
        SafetyAlert.open()
        .select(SafetyAlert.patient, fn.COUNT(SafetyAlert.id))
        .where(SafetyAlert.patient.in_(ids), SafetyAlert.escalated_at.is_null(False))
        .group_by(SafetyAlert.patient)
        .tuples()
    ):
        rows[patient_id].escalated = count
    failing = reminder_status.failing(ids)

    for patient_id, last_day in (
        MoodDay.select(MoodDay.patient, fn.MAX(MoodDay.day))
        .where(MoodDay.patient.in_(ids))
        .group_by(MoodDay.patient)
        .tuples()
    ):
        rows[patient_id].last_day = last_day if isinstance(last_day, dt.date) else dt.date.fromisoformat(str(last_day))

    window = today - dt.timedelta(days=DROP_RECENT_DAYS + DROP_BASE_DAYS)
    recent: dict[int, list[MoodDay]] = {}
    for day in MoodDay.select().where(MoodDay.patient.in_(ids), MoodDay.day > window).order_by(MoodDay.day):
        recent.setdefault(day.patient_id, []).append(day)
    for patient_id, days in recent.items():
        rows[patient_id].mood_drop = _drop(days, today)

    for row in rows.values():
        if row.escalated:
            row.flags.append("escalated")
        if row.open_alerts:
            row.flags.append("open alert")
        if row.worse:
            row.flags.append("worsening")
        if row.mood_drop is not None and row.mood_drop >= DROP_POINTS:
            row.flags.append("mood drop")
        if row.last_day is None or (today - row.last_day).days >= QUIET_DAYS:
            row.flags.append("no entries")
        if row.patient.id in failing:
            row.flags.append("reminders failing")
    return sorted(rows.values(), key=lambda r: r.attention)


def show(clinician: User) -> list[Row]:
    """Build the panel and write who it shows to the audit log: every patient named, in one statement (LOG-01)."""
    rows = build(clinician)
    AuditEvent.record_many("view_panel", actor=clinician, patients=[row.patient for row in rows])
    return rows


def columns(rows: list[Row]) -> list[Instrument]:
    """Return the measures any of these patients has, in the measures' order: the panel's score columns."""
    keys = {spec.key for row in rows for spec in row.measures}
    return [spec for key, spec in INSTRUMENTS.items() if key in keys]


def row_for(patient: User) -> Row:
    """Return one patient's panel row (the caller has checked the care relationship)."""
    return rows_for([patient])[0]


def _drop(days: list[MoodDay], today: dt.date) -> float | None:
    """Return how far the last few days' mean fell below the two weeks before, or None."""
    split = today - dt.timedelta(days=DROP_RECENT_DAYS)
    recent = [d for d in days if d.day > split]
    base = [d for d in days if d.day <= split]
    if not recent or len(base) < 3:
        return None
    mean = lambda ds: sum(d.total for d in ds) / sum(d.count for d in ds)  # noqa: E731
    return round(mean(base) - mean(recent), 1)
