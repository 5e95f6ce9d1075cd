"""The cohort page and the care team's exports: every figure on hand-made data with known answers.

Mean of per-patient means with the interquartile range, fewer than 5 patients never shown as a
figure or a rate, the baseline and the first PHQ-9 after each session, response and remission
after session 6 and at 3 months (ties, a missing baseline, one check-in only), the admin's
whole months without names, and CSV files that are audited, pseudonymous and spreadsheet-safe.
"""

import csv
import datetime as dt
import io

import pytest

from aftercare.clinician import cohort
from aftercare.journey import scheduling
from aftercare.models import AuditEvent
from aftercare.models import CareRelationship
from aftercare.models import utcnow
from aftercare.selfreports.charts import CHAR_WIDTH
from aftercare.selfreports.charts import fit_labels
from tests.factories import make_clinician
from tests.factories import make_mood
from tests.factories import make_patient
from tests.factories import make_phq9
from tests.factories import make_playlist
from tests.factories import make_session

NOW = utcnow().replace(microsecond=0)
TODAY = NOW.date()
LONG_AGO = TODAY - dt.timedelta(days=200)


def series(patient, first_days_ago: float, count: int = 6, every: float = 3, playlist=None):
    """A dosing series starting `first_days_ago`, a session every `every` days, numbered as the app does."""
    sessions = [
        make_session(patient, starts_at=NOW - dt.timedelta(days=first_days_ago - n * every), playlist=playlist)
        for n in range(count)
    ]
    scheduling.series_changed(patient)
    return sessions


def phq9_at(patient, when: dt.datetime, total: int):
    make_phq9(patient, total, at=when)


def figures(patients, start=LONG_AGO, end=TODAY):
    return cohort.build([p.id for p in patients], start, end)


def test_the_curve_is_the_mean_of_each_patients_own_mean(app):
    clinician = make_clinician()
    patients = [make_patient(clinician) for _ in range(5)]
    for patient in patients:
        series(patient, first_days_ago=10, count=1)
    # 2 hours after the session: patient 0 logs 2 three times (one patient, counted once), the others 4..10.
    for n, patient in enumerate(patients):
        for _ in range(3 if n == 0 else 1):
            make_mood(patient, 2 + 2 * n if n else 2, recorded_at=NOW - dt.timedelta(days=10) + dt.timedelta(hours=2))
    made = figures(patients)
    first = made.window[0]
    assert first.values and first.n == 5 and first.shown
    assert first.mean == pytest.approx((2 + 4 + 6 + 8 + 10) / 5)
    assert (first.q1, first.q3) == (4, 8)
    # The other buckets have nobody.
    assert [f.n for f in made.window[1:]] == [0] * 5


def test_fewer_than_five_patients_are_never_a_figure(app):
    clinician = make_clinician()
    patients = [make_patient(clinician) for _ in range(4)]
    for patient in patients:
        series(patient, first_days_ago=10, count=1)
        make_mood(patient, 7, recorded_at=NOW - dt.timedelta(days=10, hours=-1))
    made = figures(patients)
    assert made.window[0].n == 4 and not made.window[0].shown
    assert made.window[0].cells == ("fewer than 5", "—", "—")
    assert "fewer than 5" in made.window[0].reading


def make_series_patient(clinician, baseline, scores_after, *, baseline_days_before=2):
    """A patient whose series began 100 days ago, sessions 3 days apart, with PHQ-9s at given times."""
    patient = make_patient(clinician)
    sessions = series(patient, first_days_ago=100)
    if baseline is not None:
        phq9_at(patient, sessions[0].starts_at - dt.timedelta(days=baseline_days_before), baseline)
    for when, total in scores_after:
        phq9_at(patient, sessions[0].starts_at + when, total)
    return patient


DAY = dt.timedelta(days=1)


def test_series_and_rates_with_known_answers(app):
    clinician = make_clinician()
    after6 = 15 * DAY + dt.timedelta(hours=2)  # session 6 began on day 15
    # Baseline 20; after session 6: 8 (response), 4 (response, remission), 12 (neither),
    # 10 (exactly half: response), 3 (response, remission). Session 1's scores: 18 for all.
    patients = [make_series_patient(clinician, 20, [(DAY, 18), (after6, s)]) for s in (8, 4, 12, 10, 3)]
    # One check-in only (its baseline and nothing after): no follow-up, not counted in a rate.
    patients.append(make_series_patient(clinician, 20, []))
    # No PHQ-9 at all: no baseline, in no figure.
    patients.append(make_series_patient(clinician, None, []))
    made = figures(patients)
    base, first, *_, sixth = made.by_session
    assert (base.n, base.mean) == (6, 20)
    assert (first.n, first.mean) == (5, 18)
    assert (sixth.n, sixth.mean) == (5, pytest.approx(37 / 5))
    rate6, month3 = made.rates
    assert (rate6.n, rate6.responders, rate6.remitters) == (5, 4, 2)
    assert rate6.percent(rate6.responders) == "80%"
    assert month3.n == 0 and not month3.shown


def test_three_months_takes_the_score_nearest_day_90_earlier_on_a_tie(app):
    clinician = make_clinician()
    # Days 85 and 95 are as near as each other: the earlier (8, a response) counts, not 15.
    tie = [make_series_patient(clinician, 20, [(85 * DAY, 8), (95 * DAY, 15)]) for _ in range(5)]
    made = figures(tie, end=TODAY + dt.timedelta(days=30))
    assert (made.rates[1].n, made.rates[1].responders) == (5, 5)
    # Day 105 is outside days 76-104: no three-month score.
    late = [make_series_patient(clinician, 20, [(105 * DAY, 8)]) for _ in range(5)]
    assert figures(late, end=TODAY + dt.timedelta(days=30)).rates[1].n == 0


def test_a_baseline_answered_after_the_first_session_is_still_the_baseline(app):
    # outcomes.py: with no score before the first dosing session, the first score is the baseline.
    clinician = make_clinician()
    patients = [make_series_patient(clinician, None, [(DAY, 22), (15 * DAY + DAY / 4, 6)]) for _ in range(5)]
    made = figures(patients)
    assert (made.by_session[0].n, made.by_session[0].mean) == (5, 22)
    assert made.by_session[1].n == 0  # the baseline is not also the score after session 1
    assert (made.rates[0].n, made.rates[0].responders) == (5, 5)


def test_mood_after_a_session_by_its_music(app):
    clinician = make_clinician()
    drone, piano = make_playlist("Drone"), make_playlist("Piano")
    patients = [make_patient(clinician) for _ in range(6)]
    for n, patient in enumerate(patients):
        [session] = series(patient, first_days_ago=5, count=1, playlist=drone if n < 5 else piano)
        make_mood(patient, 6 + (n % 2), recorded_at=session.starts_at + dt.timedelta(hours=30))
        make_mood(patient, 1, recorded_at=session.starts_at + dt.timedelta(hours=80))  # past 72 h: not counted
    made = figures(patients)
    by_title = {f.label: f for f in made.by_playlist}
    assert by_title["Drone"].n == 5 and by_title["Drone"].mean == pytest.approx((6 + 7 + 6 + 7 + 6) / 5)
    assert by_title["Piano"].n == 1 and not by_title["Piano"].shown
    assert made.by_playlist[0].label == "Drone"  # the most used first


# --------------------------------------------------------------------------- the pages


def test_a_clinician_sees_their_own_patients_only(client, auth, people):
    mine, theirs = make_clinician(), make_clinician()
    for _ in range(5):
        patient = make_patient(mine)
        series(patient, first_days_ago=3, count=1)
        make_mood(patient, 8, recorded_at=NOW - dt.timedelta(days=3, hours=-1))
    stranger = make_patient(theirs)
    series(stranger, first_days_ago=3, count=1)
    make_mood(stranger, 0, recorded_at=NOW - dt.timedelta(days=3, hours=-1))
    auth.login(mine)
    page = client.get("/clinician/cohort").get_data(as_text=True)
    assert "5 patients in your care" in page
    assert "8.0" in page and "mean 8.0" in page  # the stranger's 0 would pull it down
    assert stranger.name not in page
    [row] = AuditEvent.select().where(AuditEvent.action == "view_cohort")
    assert row.actor_id == mine.id and row.patient_id is None


def test_a_cohort_of_one_shows_no_rates(client, auth, people):
    clinician = make_clinician()
    make_series_patient(clinician, 20, [(15 * DAY + DAY / 4, 4)])
    auth.login(clinician)
    page = client.get("/clinician/cohort").get_data(as_text=True)
    assert "1 patient in your care" in page
    assert "%" not in page.split('id="cohort-rates"')[1].split("</section>")[0]
    assert "Not shown: too few patients for a rate" in page


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-05-01&to=2026-04-01", "The range ends before it starts."),
        ("from=1990-01-01", "Choose a date between 2000 and 2100."),
        ("from=2001-01-01&to=2099-01-01", "Choose a range of three years or less."),
        ("from=yesterday", "Enter a date as YYYY-MM-DD."),
        ("to=2026-02-30", "Enter a date as YYYY-MM-DD."),
    ],
)
def test_a_bad_range_is_a_clear_400(client, auth, people, query, message):
    clinician = make_clinician()
    auth.login(clinician)
    response = client.get(f"/clinician/cohort?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert client.get(f"/clinician/cohort/self-reports.csv?{query}").status_code == 400


def test_an_admin_sees_whole_months_without_names_or_small_counts(client, auth, app, people):
    clinician = make_clinician()
    patients = [make_patient(clinician, name=f"Named Person {n}") for n in range(5)]
    for patient in patients:
        series(patient, first_days_ago=3, count=1)
        make_mood(patient, 5, recorded_at=NOW - dt.timedelta(days=3, hours=-1))
    make_mood(people.patient, 9)  # no session: in no figure
    auth.login(people.admin)
    month = f"{TODAY:%Y-%m}"
    page = client.get(f"/admin/cohort?from={month}&to={month}").get_data(as_text=True)
    assert all(p.name not in page for p in [*patients, people.patient])
    assert f"1 {TODAY:%B %Y}" in page  # the month's first day
    # Days are not a range an admin may ask for.
    response = client.get(f"/admin/cohort?from={TODAY.isoformat()}")
    assert response.status_code == 400 and "Choose a month (YYYY-MM)." in response.get_data(as_text=True)
    assert "Download" not in page


# --------------------------------------------------------------------------- exports


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_cohort_file_is_pseudonymous_unless_names_are_asked_for(client, auth, people):
    clinician = make_clinician()
    patient = make_patient(clinician, name="Rosa Quinn")
    series(patient, first_days_ago=2, count=1)
    make_mood(patient, 7, note="=HYPERLINK(1)", recorded_at=NOW - dt.timedelta(days=2, hours=-3))
    make_phq9(patient, 11)
    auth.login(clinician)
    response = client.get("/clinician/cohort/self-reports.csv")
    assert response.headers["Cache-Control"] == "no-store" and response.mimetype == "text/csv"
    rows = rows_of(response)
    assert {r["kind"] for r in rows} == {"mood", "questionnaire"}
    assert "Rosa Quinn" not in response.get_data(as_text=True) and rows[0]["patient"].startswith("P-")
    assert str(patient.id) != rows[0]["patient"][2:]
    mood_row = next(r for r in rows if r["kind"] == "mood")
    assert (mood_row["after_session"], mood_row["time_since_session"], mood_row["note"]) == ("1", "0–6 hours", "")
    named = rows_of(client.get("/clinician/cohort/self-reports.csv?names=1"))
    assert {r["patient"] for r in named} == {"Rosa Quinn"}
    audits = AuditEvent.select().where(AuditEvent.action == "export_cohort").order_by(AuditEvent.id)
    assert [(a.patient_id, a.detail.endswith("with names")) for a in audits] == [
        (patient.id, False),
        (patient.id, True),
    ]


def test_one_patients_file_has_notes_made_safe_and_is_for_the_care_team(client, auth, people):
    clinician, colleague = make_clinician(), make_clinician()
    patient = make_patient(clinician)
    make_mood(patient, 3, note="=cmd|' /C calc'!A0")
    auth.login(clinician)
    response = client.get(f"/clinician/patients/{patient.id}/self-reports.csv")
    [row] = rows_of(response)
    assert row["note"] == "'=cmd|' /C calc'!A0" and row["time_since_session"] == "before the first session"
    assert (
        AuditEvent.select()
        .where(AuditEvent.action == "export_selfreports", AuditEvent.patient_id == patient.id)
        .count()
    )
    auth.logout()
    auth.login(colleague)
    assert client.get(f"/clinician/patients/{patient.id}/self-reports.csv").status_code == 404
    CareRelationship.create(patient=patient, clinician=colleague, active=False)
    assert client.get(f"/clinician/patients/{patient.id}/self-reports.csv").status_code == 404


def test_the_record_shows_the_mood_of_the_72_hours_after_each_session(client, auth, people):
    patient, clinician = people.patient, people.clinician
    first, second = series(patient, first_days_ago=10, count=2, every=5)
    make_mood(patient, 4, recorded_at=first.starts_at + dt.timedelta(hours=1))
    make_mood(patient, 6, recorded_at=first.starts_at + dt.timedelta(hours=2))
    make_mood(patient, 9, recorded_at=first.starts_at + dt.timedelta(hours=30))
    make_mood(patient, 1, recorded_at=first.starts_at + dt.timedelta(hours=90))  # past 72 h: not listed
    auth.login(clinician)
    page = client.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    card = page.split(f'id="session-{first.id}"')[1].split("</li>")[0]
    assert "0–6 hours: 5.0" in card and "(2 entries)" in card and "24–48 hours: 9.0" in card
    assert "1.0" not in card
    other = page.split(f'id="session-{second.id}"')[1].split("</li>")[0]
    assert "No mood entries in the 72 hours after" in other


def test_a_figure_not_shown_breaks_the_line_and_is_not_drawn():
    shown, hidden = [5.0] * 5, [9.0]
    figures = [
        cohort.Figure(k, k, v) for k, v in zip("abcdef", [shown, shown, hidden, shown, shown, shown], strict=True)
    ]
    chart = cohort.spread_chart("k", "t", "s", figures, low=0, high=10, ticks=[(0, "0")], columns=("a", "b", "c", "d"))
    assert len(chart.points) == 5 and len(chart.bands) == 5
    assert [line.count("L") for line in chart.lines] == [1, 2]  # a-b, then d-e-f
    assert chart.rows[2] == ("c", "fewer than 5", "—", "—")
    music = cohort.spread_chart("k", "t", "s", figures, low=0, high=10, ticks=[], columns=(), connect=False)
    assert music.lines == [] and len(music.points) == 5


DRONES = [f"Evening drone with piano {n}" for n in range(1, 7)]


@pytest.mark.parametrize(
    ("labels", "room", "expected", "rows"),
    [
        # The window's buckets fit side by side, as they are.
        (list(cohort.SHORT_BUCKETS), 286 / 6, list(cohort.SHORT_BUCKETS), 1),
        # Four playlists: too long side by side, whole on two alternating lines.
        (["Evening drone 1", "Evening drone 2", "Rain on leaves", "Low strings"], 286 / 4, None, 2),
        # Six long titles that begin alike: shortened, and kept apart by their ends.
        (
            DRONES,
            286 / 6,
            ["Eveni…iano 1", "Eveni…iano 2", "Eveni…iano 3", "Eveni…iano 4", "Eveni…iano 5", "Eveni…iano 6"],
            2,
        ),
        # One long title alone keeps its beginning.
        (["A very long playlist name indeed, longer than any axis"], 286, ["A very long playlist name indeed, lo…"], 1),
    ],
)
def test_axis_labels_fit_their_room_and_stay_distinct(labels, room, expected, rows):
    fitted, lines = fit_labels(labels, room)
    assert lines == rows
    assert fitted == (labels if expected is None else expected)
    assert len(set(fitted)) == len(set(labels))
    assert all(len(label) * CHAR_WIDTH <= room * lines for label in fitted)
