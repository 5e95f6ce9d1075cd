"""Mood by hours since the last dosing session (the window rollup): kept with every write, equal to a rebuild.

Hand-made cases with known answers first (each edge of each bucket, a late entry, a session moved
after entries were logged, a cancellation, a no-show), then a random series of writes, moves and
cancellations after which `flask --app aftercare rollups rebuild` must change nothing.
"""

import datetime as dt
import uuid
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from aftercare.clinician import cohort
from aftercare.db import db
from aftercare.db import migrate_database
from aftercare.journey import preparation
from aftercare.journey import scheduling
from aftercare.journey.scheduling import ScheduleError
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import MoodMonth
from aftercare.models import MoodMonthSession
from aftercare.models import MoodWindow
from aftercare.models import ScorePoint
from aftercare.models import utcnow
from aftercare.models import window_bucket
from aftercare.models import WINDOW_BUCKETS
from aftercare.selfreports import checkins
from aftercare.selfreports import mood
from aftercare.selfreports import windows as window_rollup
from tests.factories import make_clinician
from tests.factories import make_patient
from tests.factories import make_phq9
from tests.factories import make_playlist
from tests.factories import make_session
from tests.factories import phq9_answers


def log(patient, at: dt.datetime, score: int = 5) -> MoodEntry:
    """Log an entry as the phone does, dated `at` (UTC): a late one when `at` is in the past."""
    entry, _ = mood.submit(
        patient,
        {"client_id": str(uuid.uuid4()), "score": score, "recorded_at": at.replace(tzinfo=dt.UTC).isoformat()},
    )
    return entry


def window(patient) -> dict:
    """The patient's rows: (session id, bucket) -> (count, total), summed over days."""
    found: dict = {}
    for row in MoodWindow.select().where(MoodWindow.patient == patient):
        count, total = found.get((row.session_id, row.bucket), (0, 0))
        found[(row.session_id, row.bucket)] = (count + row.count, total + row.total)
    return found


def stored() -> tuple[list, list, list, list, list]:
    """Every row of the mood rollups and the score points, comparable."""
    windows = sorted((r.patient_id, r.session_id, str(r.day), r.bucket, r.count, r.total) for r in MoodWindow.select())
    days = sorted((r.patient_id, str(r.day), r.count, r.total, r.low, r.high) for r in MoodDay.select())
    scores = sorted((r.patient_id, r.instrument, r.point, r.checkin_id, r.total) for r in ScorePoint.select())
    months = sorted(tuple(v for k, v in r.__data__.items() if k != "id") for r in MoodMonth.select())
    sessions = sorted((r.patient_id, str(r.month), r.session_id, r.count, r.total) for r in MoodMonthSession.select())
    return windows, days, scores, months, sessions


def answer(patient, at: dt.datetime, total: int):
    """Answer a PHQ-9 through the real path, as if at `at` (UTC)."""
    with mock.patch.object(checkins, "utcnow", return_value=at):
        checkins.submit(patient, {"client_id": str(uuid.uuid4()), "instrument": "phq9", "answers": phq9_answers(total)})


@pytest.mark.parametrize(
    "hours, bucket",
    [
        (0, 0),
        (5.99, 0),
        (6, 1),
        (23.99, 1),
        (24, 2),
        (47.99, 2),
        (48, 3),
        (71.99, 3),
        (72, 4),
        (167.99, 4),
        (168, 5),
        (2000, 5),
    ],
)
def test_each_bucket_takes_its_lower_edge_and_not_its_upper(hours, bucket):
    assert window_bucket(dt.timedelta(hours=hours)) == bucket


def test_an_entry_counts_under_the_last_dosing_session_before_it(people):
    patient = people.patient
    now = utcnow().replace(microsecond=0)
    first = make_session(patient, starts_at=now - dt.timedelta(days=9), number=1)
    second = make_session(patient, starts_at=now - dt.timedelta(days=2), number=2)
    make_session(patient, starts_at=now - dt.timedelta(hours=30), kind="integration")  # not a dose
    make_session(patient, starts_at=now - dt.timedelta(hours=20), status="cancelled")
    make_session(patient, starts_at=now - dt.timedelta(hours=10), status="no_show")
    scheduling.series_changed(patient)
    log(patient, now - dt.timedelta(days=10), 2)  # before any session: no row
    log(patient, now - dt.timedelta(days=9), 3)  # the session's own start: hour 0
    log(patient, now - dt.timedelta(days=4), 4)  # 120 h after the first
    log(patient, now - dt.timedelta(hours=47), 7)  # 1 h after the second
    log(patient, now - dt.timedelta(hours=5), 9)  # 43 h after the second
    log(patient, now, 8)  # 48 h after the second
    assert window(patient) == {
        (first.id, 0): (1, 3),
        (first.id, 4): (1, 4),
        (second.id, 0): (1, 7),
        (second.id, 2): (1, 9),
        (second.id, 3): (1, 8),
    }


def test_a_session_moved_after_entries_were_logged_takes_them_along(people, app):
    patient, clinician = people.patient, people.clinician
    now = utcnow().replace(second=0, microsecond=0)
    booked_at = now - dt.timedelta(days=20)
    session = scheduling.book(
        patient,
        by=clinician,
        now=booked_at,
        kind="infusion",
        duration_minutes=60,
        wall=now - dt.timedelta(days=10),
        zone="UTC",
    )
    log(patient, now - dt.timedelta(days=9, hours=23))  # 1 h after
    log(patient, now - dt.timedelta(days=8))  # 48 h after
    assert window(patient) == {(session.id, 0): (1, 5), (session.id, 3): (1, 5)}
    # The clinic corrects the day it took place: a day earlier. Both entries move on by 24 hours.
    scheduling.move(
        session,
        by=clinician,
        now=booked_at,
        kind="infusion",
        duration_minutes=60,
        wall=now - dt.timedelta(days=11),
        zone="UTC",
    )
    assert window(patient) == {(session.id, 2): (1, 5), (session.id, 4): (1, 5)}
    # Cancelled: the entries no longer follow any dose.
    scheduling.cancel(session, by=clinician, now=booked_at)
    assert window(patient) == {}


def test_the_sealed_months_follow_every_change_to_a_month_already_summed(people, app):
    """The clinic's figures by whole month (MoodMonth) stay equal to the daily rows when a summed
    month changes afterwards: an entry arriving late for it, its session moved, an entry removed,
    the session cancelled."""
    patient, clinician = people.patient, people.clinician
    now = dt.datetime(2026, 3, 20, 10)  # February closed on 2 March; entries reach back 30 days
    at, month = dt.datetime(2026, 2, 20, 10), dt.date(2026, 2, 1)
    booked_at = at - dt.timedelta(days=5)
    book = {"by": clinician, "now": booked_at, "kind": "infusion", "duration_minutes": 60, "zone": "UTC"}
    with (
        mock.patch.object(mood, "utcnow", return_value=now),
        mock.patch.object(window_rollup, "utcnow", return_value=now),
    ):
        session = scheduling.book(patient, wall=at, **book)
        log(patient, at + dt.timedelta(hours=2), 3)
        log(patient, at + dt.timedelta(hours=30), 7)
        entry = log(patient, at + dt.timedelta(hours=100), 5)
        assert window_rollup.seal() == dt.date(2026, 3, 1)
        summed = MoodMonth.get(MoodMonth.patient == patient, MoodMonth.month == month)
        assert (summed.count_0, summed.total_0, summed.count_2, summed.total_2, summed.count_4) == (1, 3, 1, 7, 1)

        def same() -> list:
            span = (month, now.date())
            by_month = figures(cohort.build([patient.id], *span, sealed=True))
            assert by_month == figures(cohort.build([patient.id], *span)), "sealed sums differ from the daily rows"
            return by_month

        before = same()
        log(patient, at + dt.timedelta(hours=50), 9)  # arrives weeks later, for the sealed month
        late = same()
        assert late != before
        preparation.pick_playlist(patient, session, make_playlist("Rain on leaves").id)  # the music, by its title
        assert same() != late and "Rain on leaves" in [label for label, _ in same()]
        late = same()
        scheduling.move(session, wall=at - dt.timedelta(days=1), **book)
        assert same() != late
        mood.delete(patient, MoodEntry.get_by_id(entry.id))
        same()
        scheduling.cancel(session, by=clinician, now=booked_at)
        assert same() == [(label, []) for label in WINDOW_BUCKETS]
        assert not MoodMonth.select().where(MoodMonth.patient == patient).exists()


def test_an_entry_that_arrives_ten_days_late_lands_where_it_was_logged(people):
    patient = people.patient
    now = utcnow().replace(microsecond=0)
    old = make_session(patient, starts_at=now - dt.timedelta(days=12), number=1)
    new = make_session(patient, starts_at=now - dt.timedelta(days=3), number=2)
    scheduling.series_changed(patient)
    log(patient, now - dt.timedelta(days=10), 6)  # offline for ten days, sent today
    assert window(patient) == {(old.id, 3): (1, 6)}
    assert new.id not in {session for session, _ in window(patient)}


def test_editing_or_removing_an_entry_recounts_it(people):
    patient = people.patient
    now = utcnow().replace(microsecond=0)
    session = make_session(patient, starts_at=now - dt.timedelta(hours=2), number=1)
    scheduling.series_changed(patient)
    entry = log(patient, now, 4)
    mood.edit(patient, entry, {"score": 9})
    assert window(patient) == {(session.id, 0): (1, 9)}
    mood.delete(patient, MoodEntry.get_by_id(entry.id))
    assert window(patient) == {}


def test_the_rebuild_command_recomputes_every_rollup(people, runner):
    patient = people.patient
    now = utcnow().replace(microsecond=0)
    make_session(patient, starts_at=now - dt.timedelta(days=1), number=1)
    log(patient, now, 7)  # counted under the session
    make_phq9(patient, 12)
    before = stored()
    MoodWindow.delete().execute()
    MoodDay.delete().execute()
    ScorePoint.delete().execute()
    result = runner.invoke(args=["rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "The rollups match the entries." in result.output
    assert stored() == before and before[0] and before[2]


# A random series of writes, moves, cancellations and marks, then a rebuild that changes nothing.
HOURS = 24 * 28
steps = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(1, HOURS)),
        st.tuples(st.just("move"), st.integers(0, 5), st.integers(1, HOURS)),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("mark"), st.integers(0, 5), st.sampled_from(["completed", "no_show"])),
        st.tuples(st.just("log"), st.integers(0, HOURS * 60), st.integers(0, 10)),
        st.tuples(st.just("log"), st.integers(0, HOURS * 60), st.integers(0, 10)),
        st.tuples(st.just("remove"), st.integers(0, 20)),
        st.tuples(st.just("answer"), st.integers(0, HOURS * 60), st.integers(0, 24)),
        st.tuples(st.just("answer"), st.integers(0, HOURS * 60), st.integers(0, 24)),
        st.tuples(st.just("seal"), st.integers(0, 75)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=steps)
def test_a_rebuild_after_any_series_of_writes_changes_nothing(app, runner, steps):
    clinician = make_clinician()
    patient = make_patient(clinician)
    start = utcnow().replace(second=0, microsecond=0) - dt.timedelta(days=29)
    sessions, entries = [], []
    for step in steps:
        try:
            if step[0] == "book":
                wall = start + dt.timedelta(hours=step[1])
                sessions.append(
                    scheduling.book(
                        patient, by=clinician, now=start, kind="infusion", duration_minutes=60, wall=wall, zone="UTC"
                    )
                )
            elif step[0] == "move" and sessions:
                wall = start + dt.timedelta(hours=step[2])
                session = sessions[step[1] % len(sessions)]
                scheduling.move(
                    session, by=clinician, now=start, kind="infusion", duration_minutes=60, wall=wall, zone="UTC"
                )
            elif step[0] == "cancel" and sessions:
                scheduling.cancel(sessions[step[1] % len(sessions)], by=clinician, now=start)
            elif step[0] == "mark" and sessions:
                scheduling.mark(sessions[step[1] % len(sessions)], step[2], by=clinician)
            elif step[0] == "log":
                entries.append(log(patient, start + dt.timedelta(minutes=step[1]), step[2]))
            elif step[0] == "answer":
                answer(patient, start + dt.timedelta(minutes=step[1]), step[2])
            elif step[0] == "remove" and entries:
                entry = MoodEntry.get_by_id(entries.pop(step[1] % len(entries)).id)
                mood.delete(patient, entry)
            elif step[0] == "seal":  # the months closed by then are summed; later steps may change them
                # Never later than today: nothing seals a month the clock has not closed, and an
                # entry for a month from open_from() on is not summed at once (windows.add).
                window_rollup.seal(today=min(start.date() + dt.timedelta(days=step[1]), utcnow().date()))
        except ScheduleError:
            pass  # an overlap or a session no longer movable: refused, nothing stored
    # The clinic's figures over whole months read from the sealed sums equal those from the daily rows.
    first, last = start.date().replace(day=1), (start + dt.timedelta(days=80)).date()
    assert figures(cohort.build([patient.id], first, last, sealed=True)) == figures(
        cohort.build([patient.id], first, last)
    )
    window_rollup.seal()  # as the rebuild will, for the months closed by today
    kept = stored()
    result = runner.invoke(args=["rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert stored() == kept


def figures(found) -> list:
    return [(f.label, sorted(f.values)) for f in (*found.window, *found.by_playlist)]


def test_the_score_point_migration_fills_what_the_app_keeps(people):
    """Migration 0009 works the points out from the check-ins already stored, as the app keeps them."""
    patient, clinician = people.patient, people.clinician
    now = utcnow().replace(microsecond=0)
    for n in range(1, 8):
        make_session(patient, starts_at=now - dt.timedelta(days=100 - 3 * n), number=n)
    for days_ago, total in ((110, 20), (101, 18), (95, 15), (92, 12), (60, 9), (10, 6), (2, 8)):
        make_phq9(patient, total, days_ago=days_ago)
    other = make_patient(clinician)
    make_phq9(other, 11)  # one check-in, no series: baseline and newest only
    kept = stored()[2]
    assert {point for _, _, point, _, _ in kept} == {0, 1, 2, 7, 8, 9, 10}
    db.execute_sql("DROP TABLE score_point")
    db.execute_sql("DELETE FROM schema_migration WHERE name = '0009_score_point'")
    assert migrate_database(db.obj) == ["0009_score_point"]
    assert stored()[2] == kept
