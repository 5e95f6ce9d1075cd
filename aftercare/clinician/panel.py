"""The clinician's panel: each patient's latest self-reports and the flags that need attention."""

import datetime as dt
from dataclasses import dataclass
from dataclasses import field

from peewee import fn

from .. import instruments
from ..models import CheckIn
from ..models import MoodDay
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow

QUIET_DAYS = 7  # "no entry for N days"
DROP_RECENT_DAYS, DROP_BASE_DAYS, DROP_POINTS = 3, 14, 3.0  # a sharp mood drop


@dataclass
class Row:
    patient: User
    open_alerts: int = 0
    last_day: dt.date | None = None
    phq9_baseline: CheckIn | None = None
    phq9_latest: CheckIn | None = None
    phq9_previous: CheckIn | None = None
    gad7_latest: CheckIn | None = None
    mood_drop: float | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def phq9_change(self) -> int | None:
        if self.phq9_baseline and self.phq9_latest and self.phq9_latest.id != self.phq9_baseline.id:
            return self.phq9_latest.total - self.phq9_baseline.total
        return None

    @property
    def response(self) -> bool:
        return self.phq9_change is not None and instruments.response(self.phq9_baseline.total, self.phq9_latest.total)

    @property
    def remission(self) -> bool:
        return self.phq9_latest is not None and instruments.remission(self.phq9_latest.total)

    @property
    def attention(self) -> tuple:
        """Sort key: open alerts first, then worsening, mood drops, silence; then by name."""
        order = ("open alert", "worsening", "mood drop", "no entries")
        return (*(flag not in self.flags for flag in order), self.patient.name.lower())


def build(clinician: User, today: dt.date | None = None) -> list[Row]:
    """Return one Row per patient in the clinician's care, most in need of attention first."""
    patients = list(clinician.patients())
    rows = {p.id: Row(p) for p in patients}
    if not rows:
        return []
    ids = list(rows)
    today = today or utcnow().date()

    for patient_id, count in (
        SafetyAlert.open()
        .select(SafetyAlert.patient, fn.COUNT(SafetyAlert.id))
        .where(SafetyAlert.patient.in_(ids))
        .group_by(SafetyAlert.patient)
        .tuples()
    ):
        rows[patient_id].open_alerts = count

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

    for checkin in CheckIn.select().where(CheckIn.patient.in_(ids)).order_by(CheckIn.submitted_at, CheckIn.id):
        row = rows[checkin.patient_id]
        if checkin.instrument == "phq9":
            row.phq9_baseline = row.phq9_baseline or checkin
            row.phq9_previous, row.phq9_latest = row.phq9_latest, checkin
        elif checkin.instrument == "gad7":
            row.gad7_latest = checkin

    for row in rows.values():
        if row.open_alerts:
            row.flags.append("open alert")
        previous = row.phq9_previous.total if row.phq9_previous else None
        if row.phq9_latest and instruments.worsening(previous, row.phq9_latest.total):
            row.flags.append("worsening")
        if row.mood_drop is not None and row.mood_drop >= DROP_POINTS:
            row.flags.append("mood drop")
        if row.last_day is None or (today - row.last_day).days >= QUIET_DAYS:
            row.flags.append("no entries")
    return sorted(rows.values(), key=lambda r: r.attention)


def _drop(days: list[MoodDay], today: dt.date) -> float | None:
    """Return how far the last few days' mean fell below the two weeks before, or None."""
    split = today - dt.timedelta(days=DROP_RECENT_DAYS)
    recent = [d for d in days if d.day > split]
    base = [d for d in days if d.day <= split]
    if not recent or len(base) < 3:
        return None
    mean = lambda ds: sum(d.total for d in ds) / sum(d.count for d in ds)  # noqa: E731
    return round(mean(base) - mean(recent), 1)
