"""The scores that stand for each patient's series on each measure (the ScorePoint rollup).

- Baseline, latest, the score before it, and the newest: as outcomes.py defines them.
- After session n (1-6 of the induction): the first score after the baseline that was answered on
  or after session n began and before session n + 1 (sessions as windows.dosing_series counts them).
- At 3 months: the score after the baseline nearest day 90 after the first dosing session, within
  days 76-104 (the earlier on a tie).

A check-in recomputes its measure for its patient (`refresh`, in the check-in's transaction); a
change to the series recomputes every measure of the patient (scheduling.series_changed), so the
panel and the cohort read at most eleven rows per patient and measure, never the whole history.
"""

import datetime as dt

from ..db import db
from ..db import raw_rows
from ..models import BASELINE
from ..models import CheckIn
from ..models import LATEST
from ..models import MONTH3
from ..models import NEWEST
from ..models import PREVIOUS
from ..models import ScorePoint
from ..models import SERIES_POINTS
from .instruments import INSTRUMENTS
from .outcomes import Outcome
from .outcomes import outcome
from .outcomes import Scored
from .windows import dosing_series
from .windows import INSERT_CHUNK
from .windows import last_before

MONTH3_DAYS = (90, 76, 104)  # the day aimed at, and the days a score may come from
FIELDS = [  # a row's columns, in the order `computed` gives them
    ScorePoint.patient,
    ScorePoint.instrument,
    ScorePoint.point,
    ScorePoint.checkin,
    ScorePoint.submitted_at,
    ScorePoint.total,
    ScorePoint.band,
]


def of(key: str, series: list[Scored], sessions: list[tuple]) -> dict[int, Scored]:
    """Return the points of one series (oldest first), given the patient's dosing sessions (oldest first)."""
    if not series:
        return {}
    first = sessions[0][0] if sessions else None
    found = outcome(INSTRUMENTS[key], series, first)
    points = {BASELINE: found.baseline, NEWEST: found.newest}
    if found.latest is not None:
        points |= {LATEST: found.latest, PREVIOUS: found.previous}
    baseline = found.baseline
    for score in series:
        session = last_before(sessions, score.submitted_at)
        number = session[2] if session else None
        if number and number <= SERIES_POINTS and score.submitted_at > baseline.submitted_at:
            points.setdefault(number, score)
    if first is not None and (month3 := _three_months(series, first, baseline)) is not None:
        points[MONTH3] = month3
    return points


def _three_months(series: list[Scored], first: dt.datetime, baseline: Scored) -> Scored | None:
    aim, low, high = MONTH3_DAYS
    near = [
        (abs(days - aim), score.submitted_at, score)
        for score in series
        if score.submitted_at > baseline.submitted_at and low <= (days := (score.submitted_at - first).days) <= high
    ]
    return min(near)[2] if near else None


def computed(patient_ids: list[int], key: str | None = None) -> list[tuple]:
    """Return the rows these patients should have (all measures, or one): see FIELDS."""
    sessions = dosing_series(patient_ids)
    series: dict[tuple[int, str], list[Scored]] = {}
    query = CheckIn.select(
        CheckIn.patient, CheckIn.instrument, CheckIn.id, CheckIn.submitted_at, CheckIn.total, CheckIn.band
    ).where(CheckIn.patient.in_(patient_ids))
    if key is not None:
        query = query.where(CheckIn.instrument == key)
    for patient_id, instrument, *scored in query.order_by(CheckIn.submitted_at, CheckIn.id).tuples():
        series.setdefault((patient_id, instrument), []).append(Scored(*scored))
    rows = []
    for (patient_id, instrument), scores in sorted(series.items()):
        if instrument not in INSTRUMENTS:
            continue
        for point, score in sorted(of(instrument, scores, sessions.get(patient_id, [])).items()):
            rows.append((patient_id, instrument, point, score.id, score.submitted_at, score.total, score.band))
    return rows


def refresh(patient_ids, key: str | None = None) -> None:
    """Recompute these patients' points (on every measure, or one), in the caller's transaction."""
    patient_ids = sorted(set(patient_ids))
    with db.atomic():
        gone = ScorePoint.delete().where(ScorePoint.patient.in_(patient_ids))
        if key is not None:
            gone = gone.where(ScorePoint.instrument == key)
        gone.execute()
        rows = computed(patient_ids, key)
        for start in range(0, len(rows), INSERT_CHUNK):
            ScorePoint.insert_many(rows[start : start + INSERT_CHUNK], fields=FIELDS).execute()


def outcomes(patient_ids: list[int]) -> dict[int, dict[str, Outcome]]:
    """Return every patient's outcome on every measure, read from the rollup (the panel's scores)."""
    found: dict[tuple[int, str], dict[int, Scored]] = {}
    rows = (
        ScorePoint.select(*FIELDS)
        .where(ScorePoint.patient.in_(patient_ids), ScorePoint.point.in_((BASELINE, PREVIOUS, LATEST, NEWEST)))
        .tuples()
    )
    for patient_id, key, point, *scored in rows:
        found.setdefault((patient_id, key), {})[point] = Scored(*scored)
    result = {}
    for patient_id in patient_ids:
        result[patient_id] = {}
        for key, spec in INSTRUMENTS.items():
            points = found.get((patient_id, key), {})
            result[patient_id][key] = Outcome(
                spec,
                baseline=points.get(BASELINE),
                latest=points.get(LATEST),
                previous=points.get(PREVIOUS),
                newest=points.get(NEWEST),
            )
    return result


def worsening(patient_ids) -> dict[int, list[str]]:
    """Return, by patient, the measures whose latest score rose meaningfully since the one before.

    The database pairs each latest score with the one before and returns only the rises (a
    meaningful change is always a rise); the measure's own rule judges them.
    """
    before = ScorePoint.alias()
    rises = raw_rows(
        ScorePoint.select(ScorePoint.patient, ScorePoint.instrument, before.total, ScorePoint.total)
        .join(
            before,
            on=(before.patient == ScorePoint.patient)
            & (before.instrument == ScorePoint.instrument)
            & (before.point == PREVIOUS),
        )
        .where(ScorePoint.patient.in_(patient_ids), ScorePoint.point == LATEST, ScorePoint.total > before.total)
    )
    order = {key: n for n, key in enumerate(INSTRUMENTS)}
    worse: dict[int, list[str]] = {}
    for patient_id, key, previous, latest in sorted(rises, key=lambda r: (r[0], order.get(r[1], 0))):
        spec = INSTRUMENTS.get(key)
        if spec and spec.change.meaningful(previous, latest):
            worse.setdefault(patient_id, []).append(spec.name)
    return worse
