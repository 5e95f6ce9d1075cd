"""Mood by hours since the last dosing session (the MoodWindow rollup): kept, recomputed, read.

An entry belongs to the last dosing session (not cancelled, not a no-show) that began at or
before it was logged, and to one of the window's buckets by the hours between (models.WINDOW_EDGES).
One upsert adds a new entry (`add`, in the entry's transaction); a change to the series or an
edited or removed entry recomputes the patient (`rebuild`), so late entries, moved sessions and
cancellations all land where a rebuild from scratch would put them.

The sealed months (MoodMonth, MoodMonthSession): the same rows summed by patient and calendar
month, for the months before MoodMonthSeal.through, so the clinic's figures over whole months read
one row per patient and month. `seal` sums the months that have closed (a month is closed two days
after it ends, when no patient's local day can still fall in it); `rebuild` recomputes a
patient's sealed months with their rows; an entry that arrives for a sealed month recomputes that
month of that patient. A new entry for the open month, nearly every entry, costs nothing more.
"""

import bisect
import datetime as dt
from collections import Counter

from peewee import fn
from peewee import SQL

from ..db import db
from ..db import Prepared
from ..db import raw_rows
from ..models import CANCELLED
from ..models import DOSING_KINDS
from ..models import MoodEntry
from ..models import MoodMonth
from ..models import MoodMonthSeal
from ..models import MoodMonthSession
from ..models import MoodWindow
from ..models import NO_SHOW
from ..models import TreatmentSession
from ..models import utcnow
from ..models import WINDOW_72H
from ..models import window_bucket
from ..models import WINDOW_BUCKETS
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
    if day < open_from() and day < sealed_through():  # late, for a month already sealed
        _sum_months([patient_id], first_of(day), next_month(first_of(day)))


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
        reseal(patient_ids)


# ------------------------------------------------------------------------------ the sealed months

_sums = ", ".join(f"count_{n}, total_{n}" for n in range(len(WINDOW_BUCKETS)))
INSERT_MONTH = Prepared(
    f"INSERT INTO mood_month (patient_id, month, {_sums}) VALUES (?, ?{', ?' * 2 * len(WINDOW_BUCKETS)})"  # nosec B608: constants only
)
INSERT_MONTH_SESSION = Prepared(
    "INSERT INTO mood_month_session (patient_id, month, session_id, playlist_id, count, total)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
SEAL_AFTER = dt.timedelta(days=2)  # a month closes when no patient's local day can fall in it any more


def first_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def open_from(today: dt.date | None = None) -> dt.date:
    """The first month that may still take entries for its own days: no month from it on is sealed."""
    return first_of((today or utcnow().date()) - SEAL_AFTER)


def sealed_through() -> dt.date:
    """The first month not summed in MoodMonth (every month before it is)."""
    return MoodMonthSeal.get_by_id(1).through


def seal(today: dt.date | None = None) -> dt.date:
    """Sum every month that has closed and is not sealed yet, for every patient; return the new `through`."""
    target = open_from(today)
    through = sealed_through()
    if through >= target:
        return through  # nearly every look: nothing to do, and no write lock taken
    with db.atomic():
        # One sealer at a time: the row is locked (PostgreSQL) or the write turn held (SQLite).
        query = MoodMonthSeal.select().where(MoodMonthSeal.id == 1)
        through = (query.for_update() if db.for_update else query).get().through
        if through >= target:
            return through
        start = max(through, _first_day() or target)
        if start < target:
            _sum_months(None, start, target)
        MoodMonthSeal.update(through=target).where(MoodMonthSeal.id == 1).execute()
    return target


def reseal(patient_ids: list[int]) -> None:
    """Recompute these patients' sealed months from their window rows (their session's music changed)."""
    _sum_months(sorted(set(patient_ids)), None, sealed_through())


def _month(key: str) -> dt.date:
    return dt.date(int(key[:4]), int(key[5:7]), 1)


def _first_day() -> dt.date | None:
    first = MoodWindow.select(MoodWindow.day).order_by(MoodWindow.day).limit(1).scalar()
    return first_of(first) if first else None


def _sum_months(patient_ids: list[int] | None, start: dt.date | None, end: dt.date) -> None:
    """Recompute the sealed rows of these patients (None: everyone) for the months start..end (exclusive)."""

    def within(patient, time) -> list:
        scope = [time < end]
        if patient_ids is not None:
            scope.append(patient.in_(patient_ids))
        if start is not None:
            scope.append(time >= start)
        return scope

    MoodMonth.delete().where(*within(MoodMonth.patient, MoodMonth.month)).execute()
    MoodMonthSession.delete().where(*within(MoodMonthSession.patient, MoodMonthSession.month)).execute()

    # Summed by the database per patient, month ("YYYY-MM", the first 7 characters of the ISO date
    # on SQLite and PostgreSQL alike) and bucket; by session only for the 72 hours after one.
    month_key = fn.SUBSTR(MoodWindow.day.cast("text"), SQL("1"), SQL("7"))  # literals: one expression to group by
    scope = within(MoodWindow.patient, MoodWindow.day)
    months: dict[tuple, list[int]] = {}
    by_bucket = (
        MoodWindow.select(
            MoodWindow.patient, month_key, MoodWindow.bucket, fn.SUM(MoodWindow.count), fn.SUM(MoodWindow.total)
        )
        .where(*scope)
        .group_by(MoodWindow.patient, month_key, MoodWindow.bucket)
    )
    # Read and written as plain rows: a year of a clinic is some 150,000 of them, and peewee's
    # conversions and query building per row took most of the time.
    for patient_id, key, bucket, count, total in raw_rows(by_bucket):
        sums = months.setdefault((patient_id, _month(key)), [0] * (2 * len(WINDOW_BUCKETS)))
        sums[2 * bucket] += count
        sums[2 * bucket + 1] += total
    by_session = (
        MoodWindow.select(
            MoodWindow.patient,
            month_key,
            MoodWindow.session,
            TreatmentSession.playlist,
            fn.SUM(MoodWindow.count),
            fn.SUM(MoodWindow.total),
        )
        .join(TreatmentSession, on=MoodWindow.session == TreatmentSession.id)
        .where(*scope, MoodWindow.bucket < WINDOW_72H)
        .group_by(MoodWindow.patient, month_key, MoodWindow.session, TreatmentSession.playlist)
    )
    sessions = [
        (patient_id, _day(_month(key)), session_id, playlist_id, count, total)
        for patient_id, key, session_id, playlist_id, count, total in raw_rows(by_session)
    ]
    cursor = db.cursor()
    cursor.executemany(INSERT_MONTH.sql(), [(p, _day(m), *sums) for (p, m), sums in sorted(months.items())])
    cursor.executemany(INSERT_MONTH_SESSION.sql(), sorted(sessions))


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
