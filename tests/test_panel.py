"""The clinician's panel at any size: flags on each patient's own calendar, filter, search, pages.

Known answers first (the mood drop against the patient's own week, the last self-report of any
kind, the series position), then the page as a clinician meets it.
"""

import datetime as dt
import re

import pytest

from aftercare.clinician import panel
from aftercare.models import AuditEvent
from aftercare.models import JournalEntry
from aftercare.models import SCHEDULED
from aftercare.models import utcnow
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_entry
from tests.factories import make_mood_day
from tests.factories import make_patient
from tests.factories import make_phq9
from tests.factories import make_session

D = dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    ("days", "today", "drop"),
    [
        ([(D, 1, 3)], D, None),  # nothing before it
        ([(D - dt.timedelta(days=n), 1, 7) for n in (3, 2, 1)] + [(D, 1, 4)], D, 3.0),  # exactly 3: a drop
        ([(D - dt.timedelta(days=n), 1, 7) for n in (3, 2, 1)] + [(D, 1, 4)], D + dt.timedelta(days=1), 3.0),
        ([(D - dt.timedelta(days=n), 1, 7) for n in (3, 2, 1)] + [(D, 1, 4)], D + dt.timedelta(days=2), None),
        ([(D - dt.timedelta(days=n), 1, 7) for n in (2, 1)] + [(D, 1, 4)], D, None),  # two days are no week
        ([(D - dt.timedelta(days=n), 1, 7) for n in (9, 8, 1)] + [(D, 1, 4)], D, None),  # older than the week
        ([(D - dt.timedelta(days=n), 1, 7) for n in (7, 6, 5)] + [(D, 1, 4)], D, 3.0),  # day 7 is in it
        # The week's mean is of its entries: 2 entries of 9 and 1 of 3 in a day weigh as 3 entries.
        (
            [(D - dt.timedelta(days=3), 3, 21), (D - dt.timedelta(days=2), 1, 3), (D - dt.timedelta(days=1), 1, 6)]
            + [(D, 2, 4)],
            D,
            4.0,
        ),
        ([(D - dt.timedelta(days=n), 1, 6) for n in (3, 2, 1)] + [(D, 1, 4)], D, 2.0),  # 2 is not a drop
        ([(D - dt.timedelta(days=n), 1, 3) for n in (3, 2, 1)] + [(D, 1, 9)], D, -6.0),  # a rise
    ],
    ids=[
        "alone",
        "exactly-3",
        "yesterday",
        "two-days-ago",
        "two-days",
        "old-week",
        "day-7",
        "weighted",
        "by-2",
        "rise",
    ],
)
def test_the_mood_drop_is_against_the_patients_own_week(app, days, today, drop):
    """Each case is a patient's daily rollup rows (day, entries, total); the panel reads them from the database."""
    patient = make_patient(make_clinician(), timezone="UTC")
    for day, count, total in days:
        make_mood_day(patient, day, total // count, count=count, total=total)
    now = dt.datetime.combine(today, dt.time(12))
    [row] = panel.flagged([(patient.id, patient.name, patient.timezone, patient.created_at)], now)
    assert row.mood_drop == drop
    assert ("mood-drop" in row.flags) == (drop is not None and drop >= panel.DROP_POINTS)


def moods(patient, days: dict[dt.date, int]):
    for day, score in days.items():
        make_mood_day(patient, day, score)


def test_today_is_each_patients_own_day(app):
    """At 11:00 UTC on 10 March it is already the 11th in Auckland: five quiet days there, four in London."""
    now = dt.datetime(2026, 3, 10, 11, 0)
    clinician = make_clinician()
    auckland = make_patient(clinician, name="Ana Auckland", timezone="Pacific/Auckland")
    london = make_patient(clinician, name="Lee London", timezone="Europe/London")
    for patient in (auckland, london):
        moods(patient, {dt.date(2026, 3, 6): 6})
    rows = {row.name: row for row in panel.build(clinician, now)}
    assert rows["Ana Auckland"].today == dt.date(2026, 3, 11) and "quiet" in rows["Ana Auckland"].flags
    assert rows["Lee London"].today == dt.date(2026, 3, 10) and "quiet" not in rows["Lee London"].flags


@pytest.mark.parametrize(
    "written_utc, quiet_days, quiet",
    [
        (dt.datetime(2026, 3, 6, 11, 30), 4, False),  # 00:30 on 7 March in Auckland
        (dt.datetime(2026, 3, 6, 10, 30), 5, True),  # 23:30 on 6 March in Auckland
    ],
)
def test_quiet_counts_days_on_the_patients_calendar(app, written_utc, quiet_days, quiet):
    """A journal entry an hour either side of midnight in Auckland is a day apart on the patient's calendar."""
    now = dt.datetime(2026, 3, 10, 11, 0)  # 00:00 on 11 March in Auckland
    patient = make_patient(make_clinician(), timezone="Pacific/Auckland", created_at=now - dt.timedelta(days=30))
    entry = make_entry(patient)
    JournalEntry.update(created_at=written_utc).where(JournalEntry.id == entry.id).execute()
    [row] = panel.flagged([(patient.id, patient.name, patient.timezone, patient.created_at)], now)
    assert (row.last_kind, row.quiet_days, "quiet" in row.flags) == ("journal", quiet_days, quiet)


def test_the_last_self_report_is_of_any_kind(app):
    clinician = make_clinician()
    now = utcnow()
    only_mood, wrote, answered, nothing = (make_patient(clinician, name=n) for n in ("A", "B", "C", "D"))
    make_patient(clinician, name="E", created_at=now - dt.timedelta(days=5))
    moods(only_mood, {now.date() - dt.timedelta(days=8): 5})
    moods(wrote, {now.date() - dt.timedelta(days=8): 5})
    entry = make_entry(wrote)
    JournalEntry.update(created_at=now - dt.timedelta(days=2)).where(JournalEntry.id == entry.id).execute()
    moods(answered, {now.date() - dt.timedelta(days=1): 5})
    make_phq9(answered, 9)
    rows = {row.name: row for row in panel.build(clinician, now)}
    assert (rows["A"].last_kind, rows["A"].quiet_days, rows["A"].flags) == ("mood", 8, ["quiet"])
    assert (rows["B"].last_kind, rows["B"].quiet_days, rows["B"].flags) == ("journal", 2, [])
    assert (rows["C"].last_kind, rows["C"].quiet_days) == ("questionnaire", 0)
    # Nothing at all: counted from the day they joined.
    assert (rows["D"].last_day, rows["D"].quiet_days, rows["D"].flags) == (None, 0, [])
    assert (rows["E"].last_day, rows["E"].quiet_days, rows["E"].flags) == (None, 5, ["quiet"])


def test_the_series_position_counts_sessions_held_and_the_next_booked(app):
    clinician = make_clinician()
    patient = make_patient(clinician)
    now = utcnow().replace(microsecond=0)
    for n in (1, 2, 3):
        make_session(patient, starts_at=now - dt.timedelta(days=10 - 3 * n), number=n)
    make_session(patient, starts_at=now - dt.timedelta(days=1), status="cancelled")
    upcoming = make_session(patient, starts_at=now + dt.timedelta(days=2), number=4, status=SCHEDULED)
    position = panel.row_for(patient, now).series
    assert (position.number, position.last, position.next) == (3, now - dt.timedelta(days=1), upcoming.starts_at)
    fresh = make_patient(clinician)
    assert panel.row_for(fresh, now).series == panel.Series()


def test_flags_sort_and_filter_and_an_unknown_flag_is_refused(client, auth):
    make_admin()
    clinician = make_clinician()
    today = utcnow().date()
    calm = make_patient(clinician, name="Cara Calm")
    moods(calm, {today: 7})
    quiet = make_patient(clinician, name="Quinn Quiet")
    moods(quiet, {today - dt.timedelta(days=9): 7})
    urgent = make_patient(clinician, name="Uma Urgent")
    make_phq9(urgent, 12, item9=1)
    auth.login(clinician)
    page = client.get("/clinician/").get_data(as_text=True)
    assert page.index("Uma Urgent") < page.index("Quinn Quiet") < page.index("Cara Calm")
    assert re.search(r"Quiet 5\+ days <span class=\"count\">1</span>", page)
    assert "No data since" in page

    only_quiet = client.get("/clinician/?flag=quiet").get_data(as_text=True)
    assert "Quinn Quiet" in only_quiet and "Cara Calm" not in only_quiet and "Uma Urgent" not in only_quiet
    assert "1 patient flagged “Quiet 5+ days”" in only_quiet

    assert "Cara Calm" in client.get("/clinician/?flag=").get_data(as_text=True)  # an empty choice is everyone
    for bad in ("?flag=sleepy", "?flag=%3Cb%3E", "?page=0", "?page=two", "?page=3"):
        response = client.get(f"/clinician/{bad}")
        text = response.get_data(as_text=True)
        assert response.status_code == 400, bad
        assert "Cara Calm" not in text and "Quinn Quiet" not in text
        assert ("There is no flag called “" in text) if "flag" in bad else ("There is no page “" in text)
        assert "<b>" not in text


def test_a_name_search_is_posted_and_keeps_the_name_out_of_every_address(client, auth):
    make_admin()
    clinician = make_clinician()
    for name in ("Robin Marsh", "Rowan Marsh", "Sam Hill"):
        make_patient(clinician, name=name)
    make_patient(make_clinician(), name="Rosa Marsh")  # another clinician's
    auth.login(clinician)
    token = csrf_from(client.get("/clinician/").get_data(as_text=True))
    response = client.post("/clinician/", data={"csrf_token": token, "name": "  marsh "})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.request.path == "/clinician/" and not response.request.query_string
    assert "Robin Marsh" in page and "Rowan Marsh" in page
    assert "Sam Hill" not in page and "Rosa Marsh" not in page
    assert "2 patients whose name contains “marsh”" in page
    assert not re.search(r'href="[^"]*marsh', page, re.I)  # no link carries the name
    nobody = client.post("/clinician/", data={"csrf_token": token, "name": "Zed"}).get_data(as_text=True)
    assert "No patient in your care has a name containing “Zed”" in nobody
    # Without the form's token it is refused, as every form is.
    assert client.post("/clinician/", data={"name": "marsh"}).status_code == 400


def test_the_panel_pages_past_fifty_and_audits_only_whom_it_shows(client, auth):
    make_admin()
    clinician = make_clinician()
    joined = utcnow() - dt.timedelta(days=10)  # and nothing sent since: every one of them is quiet
    patients = [make_patient(clinician, name=f"Patient {n:03d}", created_at=joined) for n in range(panel.PAGE_SIZE + 5)]
    auth.login(clinician)
    first = client.get("/clinician/").get_data(as_text=True)
    assert first.count('href="/clinician/patients/') == panel.PAGE_SIZE
    assert "Page 1 of 2 · patients 1–50 of 55" in first and 'href="/clinician/?page=2"' in first
    shown = {e.patient_id for e in AuditEvent.select().where(AuditEvent.action == "view_panel")}
    assert len(shown) == panel.PAGE_SIZE
    second = client.get("/clinician/?page=2").get_data(as_text=True)
    assert second.count('href="/clinician/patients/') == 5
    assert "Patient 054" in second and "Patient 000" not in second
    # The filter's pages keep the filter: every one of them is quiet.
    quiet = client.get("/clinician/?flag=quiet&page=2").get_data(as_text=True)
    assert 'href="/clinician/?flag=quiet&amp;page=1"' in quiet
    seen = {e.patient_id for e in AuditEvent.select().where(AuditEvent.action == "view_panel")}
    assert seen == {p.id for p in patients}
