"""Mood by hours since the last dosing session (the MoodWindow rollup): kept, recomputed, read.

An entry belongs to the last dosing session (not cancelled, not a no-show) that began at or
before it was logged, and to one of the window's buckets by the hours between (models.WINDOW_EDGES).
One upsert adds a new entry (`add`, in the entry's transaction); a change to the series or an
edited or removed entry recomputes the patient (`rebuild`), so late entries, moved sessions and
cancellations all land where a rebuild from scratch would put them.
"""

import bisect
import datetime as dt
from collections import Counter

from ..db import db
from ..db import Prepared
from ..models import CANCELLED
from ..models import DOSING_KINDS
from ..models import MoodEntry
from ..models import MoodWindow
from ..models import NO_SHOW
from ..models import TreatmentSession
from ..models import window_bucket
from ..models import WINDOW_EDGES
from .outcomes import dosing_sessions

INSERT_CHUNK = 2000  # rows per INSERT

_kinds = ", ".join(f"'{kind}'" for kind in DOSING_KINDS)
_bucket = " ".join(f"WHEN s.starts_at > ? THEN {n}" for n in range(len(WINDOW_EDGES)))
# The bucket is worked out by comparing the session's start with the entry's time less each edge
# (passed in), so it is the same comparison `window_bucket` makes, on SQLite and PostgreSQL. The
# sessions are outcomes.dosing_sessions() written out (the hot path runs no query builder).
ADD = Prepared(
    "INSERT INTO mood_window (patient_id, session_id, day, bucket, count, total)"  # nosec B608: constants only
    f"""
    SELECT ?, s.id, ?, CASE {_bucket} ELSE {len(WINDOW_EDGES)} END, 1, ?
    FROM treatment_session s
    WHERE s.patient_id = ? AND s.kind IN ({_kinds}) AND s.status NOT IN ('{CANCELLED}', '{NO_SHOW}')
        AND s.starts_at <= ?
    ORDER BY s.starts_at DESC, s.id DESC LIMIT 1
    ON CONFLICT (patient_id, day, session_id, bucket) DO UPDATE SET
        count = mood_window.count + 1, total = mood_window.total + excluded.total"""
)
_time = MoodEntry.recorded_at.db_value
_day = MoodEntry.local_day.db_value


def add(patient_id: int, recorded_at: dt.datetime, day: dt.date, score: int) -> None:
    """Count one new entry in its window (nothing when no dosing session came before it)."""
    edges = [_time(recorded_at - dt.timedelta(hours=edge)) for edge in WINDOW_EDGES]
    ADD.run(patient_id, _day(day), *edges, score, patient_id, _time(recorded_at))


def rebuild(patient_ids) -> None:
    """Recompute these patients' rows from their entries and sessions, in the caller's transaction.

    Callers pass a patient (their series changed) or a batch (bulk loads, `rollups rebuild`).
    """
    patient_ids = sorted(set(patient_ids))
    fields = [MoodWindow.patient, MoodWindow.session, MoodWindow.day, MoodWindow.bucket, MoodWindow.count]
    with db.atomic():
        MoodWindow.delete().where(MoodWindow.patient.in_(patient_ids)).execute()
        rows = computed(patient_ids)
        for first in range(0, len(rows), INSERT_CHUNK):
            MoodWindow.insert_many(rows[first : first + INSERT_CHUNK], fields=[*fields, MoodWindow.total]).execute()


def dosing_series(patient_ids: list[int]) -> dict[int, list[tuple[dt.datetime, int, int | None]]]:
    """Return each patient's dosing sessions that count, oldest first: (starts_at, session id, number)."""
    series: dict[int, list] = {}
    sessions = (
        dosing_sessions()
        .select(TreatmentSession.patient, TreatmentSession.starts_at, TreatmentSession.id, TreatmentSession.number)
        .where(TreatmentSession.patient.in_(patient_ids))
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)
        .tuples()
    )
    for patient_id, *session in sessions:
        series.setdefault(patient_id, []).append(tuple(session))
    return series


def last_before(series: list[tuple], when: dt.datetime) -> tuple | None:
    """Return the last session of a patient's dosing series that began at or before `when`, or None."""
    at = bisect.bisect_right(series, (when, float("inf"))) - 1
    return series[at] if at >= 0 else None


def computed(patient_ids: list[int]) -> list[tuple]:
    """Return the rows these patients should have: (patient, session, day, bucket, count, total)."""
    starts = dosing_series(patient_ids)
    counts: Counter = Counter()
    totals: Counter = Counter()
    entries = (
        MoodEntry.visible()
        .select(MoodEntry.patient, MoodEntry.recorded_at, MoodEntry.local_day, MoodEntry.score)
        .where(MoodEntry.patient.in_(list(starts)))
        .tuples()
    )
    for patient_id, recorded_at, day, score in entries:
        session = last_before(starts[patient_id], recorded_at)
        if session is None:
            continue
        began, session_id, _ = session
        key = (patient_id, session_id, day, window_bucket(recorded_at - began))
        counts[key] += 1
        totals[key] += score
    return [(*key, counts[key], totals[key]) for key in sorted(counts)]
