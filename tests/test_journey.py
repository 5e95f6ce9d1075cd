"""Sessions: scheduling (and its bad input), DST, the window of clarity, the roster, preparing, the .ics feed."""

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from flask import render_template
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from icalendar import Calendar

from aftercare.intake import intakes
from aftercare.journey import scheduling
from aftercare.journey.export import sessions_section
from aftercare.journey.record import patient_sessions
from aftercare.localtime import local_day
from aftercare.localtime import to_local
from aftercare.localtime import to_utc
from aftercare.models import AuditEvent
from aftercare.models import CANCELLED
from aftercare.models import ClinicSetting
from aftercare.models import COMPLETED
from aftercare.models import Intake
from aftercare.models import Intention
from aftercare.models import NO_SHOW
from aftercare.models import Playlist
from aftercare.models import SafetyAlert
from aftercare.models import SCHEDULED
from aftercare.models import token_hash
from aftercare.models import TreatmentSession
from aftercare.models import User
from aftercare.models import utcnow
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

NY = "America/New_York"
NEXT_YEAR = utcnow().year + 1  # always in the future, so the forms accept it


def nth_sunday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


SPRING_FORWARD = nth_sunday(NEXT_YEAR, 3, 2)  # US: second Sunday in March, 02:00 → 03:00
FALL_BACK = nth_sunday(NEXT_YEAR, 11, 1)  # US: first Sunday in November, 02:00 → 01:00


@pytest.fixture
def clinic(app):
    make_admin()  # sign-in sends everyone to /setup until an administrator exists
    ClinicSetting.set_value("clinic_timezone", NY)
    clinician = make_clinician()
    patient = make_patient(clinician, name="Robin Vale", timezone=NY)
    return SimpleNamespace(clinician=clinician, patient=patient)


def future_day(days: int = 7) -> str:
    return (utcnow() + dt.timedelta(days=days)).date().isoformat()


def wall(day: str | dt.date, clock: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}")


def book(patient, by, day, clock="10:00", kind="infusion", minutes=60, now=None) -> TreatmentSession:
    return scheduling.book(patient, by=by, kind=kind, wall=wall(day, clock), duration_minutes=minutes, zone=NY, now=now)


def signed_in(client, user) -> Auth:
    auth = Auth(client)
    assert auth.login(user).status_code == 302
    return auth


def post_session(client, patient, **fields):
    url = f"/clinician/patients/{patient.id}/sessions/new"
    token = csrf_from(client.get(url).get_data(as_text=True))
    data = {"csrf_token": token, "kind": "infusion", "date": future_day(), "time": "10:00", "duration": "60"}
    data["intake_ok"] = "y"  # no intake reviewed: confirmed (test_intake.py checks the question)
    data.update(fields)
    return client.post(url, data=data)


# --------------------------------------------------------------------------- scheduling


def test_scheduling_a_session_stores_it_numbers_it_and_audits_it(client, clinic):
    signed_in(client, clinic.clinician)
    day = future_day(10)
    response = post_session(client, clinic.patient, date=day, time="09:30", duration="50")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clinician/patients/{clinic.patient.id}#sessions")
    session = TreatmentSession.get()
    assert (session.kind, session.wall_time, session.zone, session.duration_minutes) == (
        "infusion",
        f"{day}T09:30",
        NY,
        50,
    )
    assert session.starts_at == to_utc(wall(day, "09:30"), NY)
    assert (session.status, session.number, session.scheduled_by_id) == (SCHEDULED, 1, clinic.clinician.id)
    event = AuditEvent.get(AuditEvent.action == "session_scheduled")
    assert (event.actor_id, event.patient_id, event.detail) == (
        clinic.clinician.id,
        clinic.patient.id,
        f"session {session.id}",
    )
    page = client.get(f"/clinician/patients/{clinic.patient.id}").get_data(as_text=True)
    assert "Scheduled: IV infusion for Robin Vale" in page


def test_the_form_says_which_time_zone_it_means(client, clinic):
    signed_in(client, clinic.clinician)
    page = client.get(f"/clinician/patients/{clinic.patient.id}/sessions/new").get_data(as_text=True)
    assert "In the clinic’s time zone, <strong>America/New York</strong>" in page
    assert 'value="60"' in page  # the default length


YESTERDAY = (utcnow() - dt.timedelta(days=1)).date().isoformat()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"date": YESTERDAY}, "That time has passed"),
        ({"date": "03/12/2027"}, "Enter the date as year-month-day"),
        ({"date": f"{NEXT_YEAR}-02-30"}, "Enter the date as year-month-day"),
        ({"date": "tomorrow"}, "Enter the date as year-month-day"),
        ({"date": ""}, "Enter the date."),
        ({"date": "0001-01-01"}, "Check the year."),
        ({"date": f"{NEXT_YEAR + 2}-12-31"}, "more than two years ahead. Check the year."),
        ({"time": "25:00"}, "Enter the time on a 24-hour clock"),
        ({"time": "9am"}, "Enter the time on a 24-hour clock"),
        ({"kind": "party"}, "Choose the kind of session."),
        ({"kind": ""}, "Choose the kind of session."),
        ({"duration": "5"}, "Enter a whole number of minutes from 10 to 480."),
        ({"duration": "481"}, "Enter a whole number of minutes from 10 to 480."),
        ({"duration": "sixty"}, "Enter a whole number of minutes from 10 to 480."),
        ({"duration": "-60"}, "Enter a whole number of minutes from 10 to 480."),
        ({"duration": "²"}, "Enter a whole number of minutes from 10 to 480."),
    ],
    ids=[
        "past",
        "us-date",
        "no-such-day",
        "words",
        "no-date",
        "year-1",
        "years-ahead",
        "hour-25",
        "am-pm",
        "unknown-kind",
        "no-kind",
        "too-short",
        "too-long",
        "not-a-number",
        "negative",
        "superscript-two",
    ],
)
def test_bad_scheduling_input_shows_the_form_again_and_stores_nothing(client, clinic, fields, message):
    signed_in(client, clinic.clinician)
    response = post_session(client, clinic.patient, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert TreatmentSession.select().count() == 0
    assert not AuditEvent.select().where(AuditEvent.action == "session_scheduled").exists()


@pytest.mark.parametrize(
    ("clock", "minutes", "overlaps"),
    [("10:30", 60, True), ("09:30", 31, True), ("09:00", 60, False), ("11:00", 60, False), ("09:30", 30, False)],
    ids=["inside", "ends-inside", "ends-at-start", "starts-at-end", "ends-exactly-at-start"],
)
def test_an_overlapping_session_is_refused(client, clinic, clock, minutes, overlaps):
    day = future_day(5)
    book(clinic.patient, clinic.clinician, day, "10:00", minutes=60)
    signed_in(client, clinic.clinician)
    response = post_session(client, clinic.patient, date=day, time=clock, duration=str(minutes), kind="integration")
    if overlaps:
        assert response.status_code == 422
        assert "Robin Vale already has a session at that time: IV infusion" in response.get_data(as_text=True)
        assert TreatmentSession.select().count() == 1
    else:
        assert response.status_code == 302
        assert TreatmentSession.select().count() == 2


def test_cancelled_sessions_free_their_slot(client, clinic):
    day = future_day(5)
    first = book(clinic.patient, clinic.clinician, day)
    signed_in(client, clinic.clinician)
    assert post_session(client, clinic.patient, date=day).status_code == 422
    token = csrf_from(client.get(f"/clinician/patients/{clinic.patient.id}").get_data(as_text=True))
    assert client.post(f"/clinician/sessions/{first.id}/cancel", data={"csrf_token": token}).status_code == 302
    assert TreatmentSession.get_by_id(first.id).status == CANCELLED
    assert post_session(client, clinic.patient, date=day).status_code == 302
    assert TreatmentSession.live().count() == 1


def test_another_clinicians_patient_and_sessions_are_404(client, clinic):
    other = make_clinician()
    signed_in(client, other)
    session = book(clinic.patient, clinic.clinician, future_day())
    token = csrf_from(client.get("/clinician/roster").get_data(as_text=True))
    requests = [
        ("GET", f"/clinician/patients/{clinic.patient.id}/sessions/new", {}),
        ("POST", f"/clinician/patients/{clinic.patient.id}/sessions/new", {"kind": "infusion"}),
        ("GET", f"/clinician/sessions/{session.id}/edit", {}),
        ("POST", f"/clinician/sessions/{session.id}/edit", {"kind": "im"}),
        ("POST", f"/clinician/sessions/{session.id}/cancel", {}),
        ("POST", f"/clinician/sessions/{session.id}/status", {"status": COMPLETED}),
        ("GET", "/clinician/sessions/999999/edit", {}),
    ]
    for method, url, data in requests:
        response = client.open(url, method=method, data={"csrf_token": token, **data})
        assert response.status_code == 404, (method, url)
    assert TreatmentSession.select().count() == 1
    assert TreatmentSession.get().status == SCHEDULED
    roster = client.get(f"/clinician/roster?day={local_day(session.starts_at, NY)}").get_data(as_text=True)
    assert "Robin Vale" not in roster


def test_renumbering_after_cancel_and_no_show(clinic):
    p, c = clinic.patient, clinic.clinician
    days = [future_day(n) for n in (3, 5, 7, 9)]
    first, second, talk, third = (
        book(p, c, days[0]),
        book(p, c, days[1], kind="im"),
        book(p, c, days[2], kind="integration"),
        book(p, c, days[3], kind="booster"),
    )
    numbers = lambda: [TreatmentSession.get_by_id(s.id).number for s in (first, second, talk, third)]  # noqa: E731
    assert numbers() == [1, 2, None, 3]
    scheduling.cancel(second, by=c)
    assert numbers() == [1, None, None, 2]
    later = utcnow() + dt.timedelta(days=4)
    scheduling.mark(first, NO_SHOW, by=c, now=later)
    assert numbers() == [None, None, None, 1]
    scheduling.mark(first, COMPLETED, by=c, now=later)  # a mistake corrected
    assert numbers() == [1, None, None, 2]


def test_status_can_be_marked_only_once_a_session_has_started(client, clinic):
    upcoming = book(clinic.patient, clinic.clinician, future_day(3))
    started = book(clinic.patient, clinic.clinician, "2020-01-06", now=dt.datetime(2020, 1, 1))
    signed_in(client, clinic.clinician)
    token = csrf_from(client.get(f"/clinician/patients/{clinic.patient.id}").get_data(as_text=True))

    def mark(session, status):
        return client.post(f"/clinician/sessions/{session.id}/status", data={"csrf_token": token, "status": status})

    assert mark(upcoming, COMPLETED).status_code == 302
    assert TreatmentSession.get_by_id(upcoming.id).status == SCHEDULED
    assert "This session has not started yet." in client.get("/clinician/").get_data(as_text=True)
    assert mark(started, "cancelled").status_code == 400  # only completed or no-show here
    assert mark(started, NO_SHOW).status_code == 302
    assert TreatmentSession.get_by_id(started.id).status == NO_SHOW
    assert TreatmentSession.get_by_id(started.id).number is None
    assert mark(started, COMPLETED).status_code == 302
    assert TreatmentSession.get_by_id(started.id).status == COMPLETED
    # A completed session can no longer be cancelled or moved.
    assert client.post(f"/clinician/sessions/{started.id}/cancel", data={"csrf_token": token}).status_code == 302
    assert TreatmentSession.get_by_id(started.id).status == COMPLETED
    assert client.get(f"/clinician/sessions/{started.id}/edit").status_code == 302
    actions = [e.action for e in AuditEvent.select().where(AuditEvent.patient_id == clinic.patient.id)]
    assert actions.count("session_marked") == 2


def test_rescheduling_moves_the_session_and_asks_for_the_ride_again(client, clinic):
    session = book(clinic.patient, clinic.clinician, future_day(4))
    TreatmentSession.update(ride_name="Sam", ride_confirmed_at=utcnow()).execute()
    blocker = book(clinic.patient, clinic.clinician, future_day(8), "15:00", kind="follow_up")
    signed_in(client, clinic.clinician)
    url = f"/clinician/sessions/{session.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert f'value="{future_day(4)}"' in page and 'value="10:00"' in page
    token = csrf_from(page)
    data = {"csrf_token": token, "kind": "infusion", "date": future_day(8), "time": "15:30", "duration": "60"}
    clash = client.post(url, data=data)
    assert clash.status_code == 422
    assert "already has a session at that time: Follow-up" in clash.get_data(as_text=True)
    assert TreatmentSession.get_by_id(session.id).starts_at == session.starts_at
    response = client.post(url, data={**data, "time": "16:00"})
    assert response.status_code == 302
    moved = TreatmentSession.get_by_id(session.id)
    assert moved.starts_at == to_utc(wall(future_day(8), "16:00"), NY)
    assert (moved.ride_name, moved.ride_confirmed_at) == ("Sam", None)
    assert TreatmentSession.get_by_id(blocker.id).starts_at == blocker.starts_at
    assert AuditEvent.select().where(AuditEvent.action == "session_changed").count() == 1


# --------------------------------------------------------------------------- DST


def test_a_time_in_the_spring_forward_gap_moves_forward(client, clinic):
    signed_in(client, clinic.clinician)
    response = post_session(client, clinic.patient, date=SPRING_FORWARD.isoformat(), time="02:30")
    assert response.status_code == 302
    session = TreatmentSession.get()
    # 02:30 does not exist that night; 03:30 EDT is 07:30 UTC.
    assert session.starts_at == dt.datetime.combine(SPRING_FORWARD, dt.time(7, 30))
    assert session.wall_time == f"{SPRING_FORWARD}T02:30"  # the intent as entered
    assert to_local(session.starts_at, NY).strftime("%H:%M %Z") == "03:30 EDT"
    assert "the clocks skip 02:30 that night" in client.get("/clinician/").get_data(as_text=True)
    auth = Auth(client)
    auth.logout()
    auth.login(clinic.patient)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert f"{SPRING_FORWARD.strftime('%A %-d %B')}, 03:30" in page


def test_a_repeated_hour_on_the_fall_back_night_means_the_first(client, clinic):
    signed_in(client, clinic.clinician)
    assert post_session(client, clinic.patient, date=FALL_BACK.isoformat(), time="01:30").status_code == 302
    session = TreatmentSession.get()
    assert session.starts_at == dt.datetime.combine(FALL_BACK, dt.time(5, 30))  # 01:30 EDT
    assert to_local(session.starts_at, NY).strftime("%H:%M %Z") == "01:30 EDT"
    assert "the first of the two 01:30s" in client.get("/clinician/").get_data(as_text=True)
    # The second 01:30 (EST) is 06:30 UTC: a 60-minute session at 01:30 fills both hours.
    second = post_session(client, clinic.patient, date=FALL_BACK.isoformat(), time="02:00", kind="follow_up")
    assert second.status_code == 302  # 02:00 EST is 07:00 UTC, after the first session ends at 06:30 UTC
    assert TreatmentSession.select().count() == 2


@pytest.mark.parametrize(
    ("saturday", "now_local", "hours", "day"),
    [
        # Spring forward: Saturday 10:00-11:00 EST; the night between loses an hour.
        (SPRING_FORWARD - dt.timedelta(days=1), "sun 23:30", 35.5, 1),
        (SPRING_FORWARD - dt.timedelta(days=1), "mon 11:00", 47.0, 2),
        (SPRING_FORWARD - dt.timedelta(days=1), "tue 10:59", 70.98, 3),
        # Fall back: Saturday 10:00-11:00 EDT; the night between gains an hour.
        (FALL_BACK - dt.timedelta(days=1), "sun 23:30", 37.5, 1),
        (FALL_BACK - dt.timedelta(days=1), "mon 11:00", 49.0, 2),
        (FALL_BACK - dt.timedelta(days=1), "tue 09:00", 71.0, 3),
    ],
    ids=["spring-day1", "spring-day2", "spring-last-minutes", "fall-day1", "fall-day2", "fall-last-hour"],
)
def test_the_window_of_clarity_counts_real_hours_and_local_days_across_dst(clinic, saturday, now_local, hours, day):
    p = clinic.patient
    session = book(
        p, clinic.clinician, saturday, "10:00", now=dt.datetime.combine(saturday, dt.time()) - dt.timedelta(days=1)
    )
    weekday, clock = now_local.split()
    offset = {"sun": 1, "mon": 2, "tue": 3}[weekday]
    now = to_utc(wall(saturday + dt.timedelta(days=offset), clock), NY)
    window = scheduling.window(p, now=now)
    assert window is not None and window.session.id == session.id
    assert window.hours_since == pytest.approx(hours, abs=0.01)
    assert window.day == day
    assert window.no_driving is False


def test_the_window_closes_after_72_real_hours_across_dst(clinic):
    saturday = SPRING_FORWARD - dt.timedelta(days=1)
    session = book(clinic.patient, clinic.clinician, saturday, "10:00", now=dt.datetime(saturday.year, 1, 1))
    assert scheduling.window(clinic.patient, now=session.ends_at + dt.timedelta(hours=71, minutes=59)) is not None
    assert scheduling.window(clinic.patient, now=session.ends_at + dt.timedelta(hours=72)) is None
    # 72 hours on the wall clock after the end is only 71 real hours: still open.
    wall_later = to_utc(wall(saturday + dt.timedelta(days=3), "11:00"), NY)
    assert wall_later - session.ends_at == dt.timedelta(hours=71)
    assert scheduling.window(clinic.patient, now=wall_later) is not None
    during = scheduling.window(clinic.patient, now=session.starts_at + dt.timedelta(minutes=30))
    assert (during.day, during.hours_since, during.no_driving) == (0, 0.0, True)
    # CLIN-08: 24 real hours from when the patient leaves, across the lost hour (12:00 EDT on the wall).
    almost = scheduling.window(clinic.patient, now=session.ends_at + dt.timedelta(hours=23, minutes=59))
    after = scheduling.window(clinic.patient, now=session.ends_at + dt.timedelta(hours=24))
    assert (almost.day, almost.no_driving, after.no_driving) == (1, True, False)
    assert to_local(session.ends_at + dt.timedelta(hours=24), NY).strftime("%a %H:%M %Z") == "Sun 12:00 EDT"


@pytest.mark.parametrize(
    ("day", "clock", "zone", "change"),
    [
        (SPRING_FORWARD, "02:30", NY, "skipped"),
        (SPRING_FORWARD, "03:30", NY, None),
        (FALL_BACK, "01:30", NY, "repeated"),
        (FALL_BACK, "02:30", NY, None),
        (FALL_BACK, "01:30", "UTC", None),
        (FALL_BACK, "01:30", "Asia/Kolkata", None),
    ],
)
def test_clock_changes_are_recognised(day, clock, zone, change):
    assert scheduling.clock_change(wall(day, clock), zone) == change


def test_a_clinic_day_is_23_or_25_hours_across_dst():
    for day, hours in ((SPRING_FORWARD, 23), (FALL_BACK, 25), (SPRING_FORWARD + dt.timedelta(days=1), 24)):
        start, end = scheduling.day_bounds(day, NY)
        assert end - start == dt.timedelta(hours=hours)


# --------------------------------------------------------------------------- the roster


def make_playlist(title="Quiet Waters", purpose="session", active=True) -> Playlist:
    return Playlist.create(title=title, purpose=purpose, active=active)


def test_the_roster_shows_the_days_sessions_with_pick_intention_and_ride(client, clinic):
    day = dt.date.fromisoformat(future_day(6))
    other_patient = make_patient(clinic.clinician, name="Ash Moreno")
    strangers = make_patient(make_clinician(), name="Not Yours")
    late = book(clinic.patient, clinic.clinician, day, "23:30", minutes=30, kind="integration")
    early = book(other_patient, clinic.clinician, day, "08:00")
    mid = book(clinic.patient, clinic.clinician, day, "13:00")
    book(strangers, make_clinician(), day, "09:00")
    book(clinic.patient, clinic.clinician, day + dt.timedelta(days=1), "00:30")  # the next day in the clinic's zone
    music = make_playlist("Quiet Waters")
    TreatmentSession.update(playlist=music, ride_name="Dana", ride_confirmed_at=utcnow()).where(
        TreatmentSession.id == mid.id
    ).execute()
    Intention.create(session=mid, explore="Why I freeze when I am praised")
    Intention.create(session=early)  # an empty worksheet is not "written"
    reviewed = intakes.to_answer(clinic.patient)  # Robin's intake is reviewed; Ash's is not
    Intake.update(status="reviewed", reviewed_at=utcnow()).where(Intake.id == reviewed.id).execute()

    signed_in(client, clinic.clinician)
    before = AuditEvent.select().where(AuditEvent.action == "view_roster").count()
    response = client.get(f"/clinician/roster?day={day}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", page, re.S)
    assert [("Ash Moreno" in r, "Robin Vale" in r) for r in rows] == [(True, False), (False, True), (False, True)]
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip() for r in rows]
    assert text[0].startswith(
        "08:00–09:00 Ash Moreno Intake not reviewed IV infusion · no. 1 Not chosen Not yet NOT confirmed"
    )
    assert text[1].startswith("13:00–14:00 Robin Vale IV infusion · no. 1 Quiet Waters Written Confirmed Dana")
    assert text[2].startswith("23:30–00:00 Robin Vale Integration session Not chosen Not yet Not needed")
    assert "needs-ride" in page.split(rows[0])[0][-40:]
    assert "Not Yours" not in page
    assert "1 dosing session without a confirmed ride home" in page
    # One audit row per patient shown (LOG-01).
    rows_written = AuditEvent.select().where(AuditEvent.action == "view_roster").order_by(AuditEvent.id)
    assert sorted(e.patient_id for e in list(rows_written)[before:]) == sorted([clinic.patient.id, other_patient.id])
    del late


def test_the_roster_defaults_to_today_in_the_clinic_and_links_other_days(client, clinic):
    signed_in(client, clinic.clinician)
    today = scheduling.today_in(NY)
    page = client.get("/clinician/roster").get_data(as_text=True)
    assert "Today’s sessions" in page
    assert f"day={today - dt.timedelta(days=1)}" in page and f"day={today + dt.timedelta(days=1)}" in page
    assert "No sessions for your patients on this day." in page
    assert "The next is on" not in page

    later = scheduling.today_in(NY) + dt.timedelta(days=9)
    book(clinic.patient, clinic.clinician, later)
    other = make_patient(make_clinician(), timezone=NY)  # not this clinician's: never the "next" day
    book(other, other.clinicians()[0], later - dt.timedelta(days=3))
    page = client.get("/clinician/roster").get_data(as_text=True)
    assert f'The next is on <a href="/clinician/roster?day={later.isoformat()}">{later:%A %-d %B}</a>.' in page
    bad = client.get("/clinician/roster?day=next-tuesday")
    assert bad.status_code == 400
    assert "Choose a day as year-month-day" in bad.get_data(as_text=True)
    for far in ("9999-12-31", "0001-01-01", "1999-12-31"):
        bad = client.get(f"/clinician/roster?day={far}")
        assert bad.status_code == 400, far
        assert "Check the year" in bad.get_data(as_text=True)


# --------------------------------------------------------------------------- the patient's side


def patient_form(client, session, path):
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    return csrf_from(page), f"/sessions/{session.id}/{path}"


def test_patient_sees_their_sessions_in_their_own_zone(client, clinic):
    User.update(timezone="Europe/Berlin").where(User.id == clinic.patient.id).execute()
    upcoming = book(clinic.patient, clinic.clinician, future_day(3), "10:00")
    past = book(clinic.patient, clinic.clinician, "2020-03-02", "10:00", now=dt.datetime(2020, 1, 1))
    signed_in(client, clinic.patient)
    page = client.get("/sessions").get_data(as_text=True)
    berlin = to_local(upcoming.starts_at, "Europe/Berlin")
    assert berlin.strftime("%A %-d %B, %H:%M") in page  # 16:00 in Berlin for 10:00 in New York
    assert page.index("Coming up") < page.index(f"/sessions/{upcoming.id}") < page.index("Earlier")
    assert page.index("Earlier") < page.index(f"/sessions/{past.id}")
    assert "Still to do: intention, music, ride home" in page
    detail = client.get(f"/sessions/{upcoming.id}").get_data(as_text=True)
    assert f'{berlin.strftime("%A %-d %B, %H:%M")} <span class="muted">(your time)</span>' in detail
    assert "No driving or machinery for 24 hours after your session." in detail
    assert 'id="intention"' in detail and 'id="playlist"' in detail and 'id="ride"' in detail


def test_patients_cannot_open_other_patients_sessions(client, clinic):
    other = make_patient(clinic.clinician)
    theirs = book(other, clinic.clinician, future_day())
    signed_in(client, clinic.patient)
    token = csrf_from(client.get("/sessions").get_data(as_text=True))
    assert client.get(f"/sessions/{theirs.id}").status_code == 404
    for path in ("intention", "playlist", "ride"):
        data = {"csrf_token": token, "explore": "x", "playlist": "", "confirmed": "y"}
        assert client.post(f"/sessions/{theirs.id}/{path}", data=data).status_code == 404
    assert Intention.select().count() == 0
    assert TreatmentSession.get_by_id(theirs.id).ride_confirmed_at is None


def test_an_intention_is_saved_upserted_and_shown_to_the_care_team(client, clinic, app):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    signed_in(client, clinic.patient)
    token, url = patient_form(client, session, "intention")
    first = {"csrf_token": token, "explore": "Grief for my father", "let_go": "", "carry": "I can stay."}
    assert client.post(url, data=first).status_code == 302
    second = {**first, "let_go": "Needing to be fine", "explore": "x" * 1000}
    assert client.post(url, data=second).status_code == 302
    intention = Intention.get()
    assert Intention.select().count() == 1
    assert (len(intention.explore), intention.let_go, intention.carry) == (1000, "Needing to be fine", "I can stay.")
    assert AuditEvent.select().where(AuditEvent.action == "intention_saved").count() == 2
    # The care team sees the full text with the session.
    with app.test_request_context():
        html = render_template("journey/_patient_sessions.html", journey=patient_sessions(clinic.patient))
    assert "x" * 1000 in html and "Needing to be fine" in html and "“I can stay.”" in html


@pytest.mark.parametrize(
    ("field", "text", "ok"),
    [
        ("explore", "x" * 1001, False),
        ("let_go", "y" * 1001, False),
        ("carry", "z" * 1001, False),
        ("carry", "  " + "z" * 1000 + "  ", True),  # surrounding spaces are trimmed
        ("explore", "a" * 900 + "\r\n" * 60 + "b" * 40, True),  # a line break counts once, as in the browser
    ],
    ids=["explore-1001", "let-go-1001", "carry-1001", "trimmed-1000", "crlf"],
)
def test_intentions_are_at_most_1000_characters(client, clinic, field, text, ok):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    signed_in(client, clinic.patient)
    token, url = patient_form(client, session, "intention")
    response = client.post(url, data={"csrf_token": token, field: text})
    if ok:
        assert response.status_code == 302
        assert len(getattr(Intention.get(), field)) <= 1000
    else:
        assert response.status_code == 422
        assert "Please keep this to 1,000 characters or fewer." in response.get_data(as_text=True)
        assert Intention.select().count() == 0


def test_crisis_language_in_an_intention_raises_an_alert_and_shows_support(client, clinic):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    signed_in(client, clinic.patient)
    token, url = patient_form(client, session, "intention")
    response = client.post(url, data={"csrf_token": token, "let_go": "Some days I want to die"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/support")
    alert = SafetyAlert.get()
    when = to_local(session.starts_at, NY).strftime("%-d %B %Y")
    assert (alert.patient_id, alert.reason, alert.detail) == (
        clinic.patient.id,
        "crisis_language",
        f"Crisis language in the intention for the session on {when}",
    )
    assert Intention.get().let_go == "Some days I want to die"  # saved too: the care team reads it
    # Saving it again (another field filled in) is not a second open alert.
    client.post(url, data={"csrf_token": token, "let_go": "Some days I want to die", "carry": "Breathe"})
    assert SafetyAlert.select().count() == 1


def test_preparation_is_read_only_once_the_session_has_started(client, clinic):
    session = book(clinic.patient, clinic.clinician, "2020-03-02", now=dt.datetime(2020, 1, 1))
    Intention.create(session=session, explore="Before")
    music = make_playlist()
    signed_in(client, clinic.patient)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "<textarea" not in page and 'type="radio"' not in page
    assert "Before" in page
    token = csrf_from(page, required=False) or Auth(client).csrf("/sessions")
    for path, data in (
        ("intention", {"explore": "After"}),
        ("playlist", {"playlist": str(music.id)}),
        ("ride", {"ride_name": "Late", "confirmed": "y"}),
    ):
        response = client.post(f"/sessions/{session.id}/{path}", data={"csrf_token": token, **data})
        assert response.status_code == 409
        assert "This session has started" in response.get_data(as_text=True)
    session = TreatmentSession.get_by_id(session.id)
    assert (Intention.get().explore, session.playlist_id, session.ride_confirmed_at) == ("Before", None, None)


def test_picking_the_music(client, clinic):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    chosen = make_playlist("Quiet Waters")
    retired = make_playlist("Old Favourites", active=False)
    prep = make_playlist("Before You Arrive", purpose="preparation")
    signed_in(client, clinic.patient)
    token, url = patient_form(client, session, "playlist")
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert "Quiet Waters" in page and "Old Favourites" not in page and "Before You Arrive" not in page
    for bad in (str(retired.id), str(prep.id), "999", None):
        data = {"csrf_token": token} | ({"playlist": bad} if bad is not None else {})
        response = client.post(url, data=data)
        assert response.status_code == 422
        assert "Choose one of the playlists listed." in response.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token, "playlist": str(chosen.id)}).status_code == 302
    assert TreatmentSession.get_by_id(session.id).playlist_id == chosen.id
    assert client.post(url, data={"csrf_token": token, "playlist": ""}).status_code == 302
    assert TreatmentSession.get_by_id(session.id).playlist_id is None


def test_confirming_the_ride_home(client, clinic):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    talk = book(clinic.patient, clinic.clinician, future_day(4), kind="integration")
    signed_in(client, clinic.patient)
    token, url = patient_form(client, session, "ride")
    unticked = client.post(url, data={"csrf_token": token, "ride_name": "Dana"})
    assert unticked.status_code == 422
    assert "Tick the box once someone has agreed to take you home." in unticked.get_data(as_text=True)
    too_long = client.post(url, data={"csrf_token": token, "ride_name": "D" * 121, "confirmed": "y"})
    assert too_long.status_code == 422
    assert TreatmentSession.get_by_id(session.id).ride_confirmed_at is None
    assert client.post(url, data={"csrf_token": token, "ride_name": " Dana ", "confirmed": "y"}).status_code == 302
    stored = TreatmentSession.get_by_id(session.id)
    assert stored.ride_name == "Dana" and stored.ride_confirmed_at is not None
    # Unticking later withdraws the confirmation, so the roster shows it again.
    assert client.post(url, data={"csrf_token": token, "ride_name": "Dana"}).status_code == 302
    assert TreatmentSession.get_by_id(session.id).ride_confirmed_at is None
    # A session without dosing asks for no ride.
    assert client.post(f"/sessions/{talk.id}/ride", data={"csrf_token": token, "confirmed": "y"}).status_code == 404
    assert 'id="ride"' not in client.get(f"/sessions/{talk.id}").get_data(as_text=True)


def test_session_pages_never_prompt_driving(client, clinic):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    signed_in(client, clinic.patient)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", page)
    sentences = [s for s in re.split(r"[.!?]", text) if re.search(r"\bdriv", s, re.I)]
    assert sentences, "the page says who drives"
    for sentence in sentences:
        assert re.search(r"no driving|someone|drive me home", sentence, re.I), sentence


# --------------------------------------------------------------------------- the calendar feed


def feed_url_from(html: str) -> str:
    return re.search(r'id="calendar-link">http://localhost(/calendar/[^<]+\.ics)<', html).group(1)


def new_link(client, page="/sessions") -> str:
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post("/calendar/link", data={"csrf_token": token})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Anyone with this link can see your appointment times" in html
    return feed_url_from(html)


def test_the_patients_calendar_is_generic_and_stable(client, clinic):
    kept = book(clinic.patient, clinic.clinician, future_day(3))
    gone = book(clinic.patient, clinic.clinician, future_day(4), kind="nasal_spray")
    scheduling.cancel(gone, by=clinic.clinician)
    book(make_patient(clinic.clinician, name="Someone Else"), clinic.clinician, future_day(3))
    signed_in(client, clinic.patient)
    url = new_link(client)
    assert User.get_by_id(clinic.patient.id).calendar_token_hash == token_hash(url[10:-4])
    Auth(client).logout()

    with client.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        assert response.headers["Cache-Control"] == "no-store"
        body = response.get_data(as_text=True)
    events = {str(e["UID"]): e for e in Calendar.from_ical(body).walk("VEVENT")}
    assert len(events) == 2
    assert {str(e["SUMMARY"]) for e in events.values()} == {"aftercare appointment"}
    for word in ("Robin", "Vale", "Someone", "infusion", "nasal", "ketamine", "session 1"):
        assert word.lower() not in body.lower()
    by_uid = {uid: e for uid, e in events.items()}
    kept_event = by_uid[f"session-{kept.id}@localhost"]
    assert kept_event.decoded("DTSTART") == kept.starts_at.replace(tzinfo=dt.UTC)
    assert kept_event.decoded("DTEND") == kept.ends_at.replace(tzinfo=dt.UTC)
    assert f"DTSTART:{kept.starts_at.strftime('%Y%m%dT%H%M%S')}Z" in body
    assert str(kept_event["STATUS"]) == "CONFIRMED"
    assert str(by_uid[f"session-{gone.id}@localhost"]["STATUS"]) == "CANCELLED"
    with client.get(url) as again:
        assert set(re.findall(r"UID:(\S+)", again.get_data(as_text=True))) == set(events)


def test_the_clinicians_calendar_holds_their_patients_sessions_without_names(client, clinic):
    mine = book(clinic.patient, clinic.clinician, future_day(3))
    other = book(make_patient(make_clinician(), name="Not Yours"), make_clinician(), future_day(3), "14:00")
    signed_in(client, clinic.clinician)
    url = new_link(client, "/clinician/roster")
    with client.get(url) as response:
        body = response.get_data(as_text=True)
    assert f"UID:session-{mine.id}@localhost" in body and f"session-{other.id}@" not in body
    assert "Robin" not in body and "SUMMARY:aftercare appointment" in body
    # LOG-01: who downloaded which patient's appointment times.
    feeds = AuditEvent.select().where(AuditEvent.action == "calendar_feed")
    assert [(e.actor_id, e.patient_id) for e in feeds] == [(clinic.clinician.id, clinic.patient.id)]


def test_replaced_revoked_unknown_and_closed_calendar_links_are_404(client, clinic):
    book(clinic.patient, clinic.clinician, future_day(3))
    signed_in(client, clinic.patient)
    old = new_link(client)
    new = new_link(client)
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    token = csrf_from(client.get("/sessions").get_data(as_text=True))
    assert client.post("/calendar/link/revoke", data={"csrf_token": token}).status_code == 302
    assert client.get(new).status_code == 404
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    newest = new_link(client)
    User.update(active=False).where(User.id == clinic.patient.id).execute()
    assert client.get(newest).status_code == 404


def test_the_link_is_shown_once_and_never_stored_in_clear(client, clinic):
    signed_in(client, clinic.patient)
    url = new_link(client)
    token = url[len("/calendar/") : -len(".ics")]
    assert len(token) >= 43  # 32 random bytes
    assert token not in client.get("/sessions").get_data(as_text=True)
    assert User.get_by_id(clinic.patient.id).calendar_token_hash != token


# --------------------------------------------------------------------------- the clinician's partial and the export


def test_the_patient_page_partial_lists_sessions_with_actions(app, clinic):
    upcoming = book(clinic.patient, clinic.clinician, future_day(3))
    to_mark = book(clinic.patient, clinic.clinician, "2020-03-02", now=dt.datetime(2020, 1, 1))
    User.update(timezone="Asia/Tokyo").where(User.id == clinic.patient.id).execute()
    patient = User.get_by_id(clinic.patient.id)
    with app.test_request_context():
        html = render_template("journey/_patient_sessions.html", journey=patient_sessions(patient))
    assert f"/clinician/sessions/{upcoming.id}/edit" in html
    assert f"/clinician/sessions/{upcoming.id}/cancel" in html
    assert f"/clinician/sessions/{to_mark.id}/status" in html and "To mark" in html
    assert f"/clinician/sessions/{to_mark.id}/edit" not in html
    assert to_local(upcoming.starts_at, "Asia/Tokyo").strftime("%a %H:%M JST") in html
    assert "Not confirmed" in html and "Not chosen" in html


def test_the_export_holds_sessions_intentions_picks_and_rides(clinic):
    session = book(clinic.patient, clinic.clinician, future_day(3))
    book(clinic.patient, clinic.clinician, future_day(4), kind="integration")
    music = make_playlist("Quiet Waters")
    TreatmentSession.update(playlist=music, ride_name="Dana", ride_confirmed_at=utcnow()).where(
        TreatmentSession.id == session.id
    ).execute()
    Intention.create(session=session, explore="=cmd|' /C calc'!A0", carry="I am here")
    section = sessions_section(User.get_by_id(clinic.patient.id))
    assert section.key == "sessions" and section.csv_name == "sessions.csv"
    first, second = section.records
    assert first["intention"]["carry"] == "I am here"
    assert first["playlist"] == {"title": "Quiet Waters", "purpose": "session"}
    assert first["ride_home"]["name"] == "Dana" and first["ride_home"]["confirmed_at"].endswith("Z")
    assert (second["intention"], second["playlist"], second["ride_home"]) == (None, None, None)
    assert len(section.rows()[0]) == len(section.columns)
    assert b"'=cmd" in section.csv()  # IN-04: no formula reaches a spreadsheet


# --------------------------------------------------------------------------- fuzzing (IN-01: never a 500)

fuzz_values = st.text(max_size=40) | st.sampled_from(
    ["", "0", "60", "-1", "²", "1e3", f"{NEXT_YEAR}-02-30", "9999-12-31", "0001-01-01", "23:59", "24:00",
     "infusion", "completed", "no_show", "\x00", "é" * 5, "x" * 1001, "y"]
)  # fmt: skip
fuzz_fields = st.dictionaries(
    st.sampled_from(
        [
            "kind",
            "date",
            "time",
            "duration",
            "status",
            "explore",
            "let_go",
            "carry",
            "playlist",
            "ride_name",
            "confirmed",
        ]
    ),
    fuzz_values,
    max_size=8,
)


@pytest.fixture
def fuzzing(app, clinic):
    app.config["WTF_CSRF_ENABLED"] = False  # fuzzing reaches validation, not the token check
    clients = {"clinician": app.test_client(), "patient": app.test_client()}
    signed_in(clients["clinician"], clinic.clinician)
    signed_in(clients["patient"], clinic.patient)
    session = book(clinic.patient, clinic.clinician, future_day(200))
    make_playlist()
    return clients, {"patient": clinic.patient.id, "session": session.id}


TARGETS = [
    ("clinician", "/clinician/patients/{patient}/sessions/new"),
    ("clinician", "/clinician/sessions/{session}/edit"),
    ("clinician", "/clinician/sessions/{session}/status"),
    ("patient", "/sessions/{session}/intention"),
    ("patient", "/sessions/{session}/playlist"),
    ("patient", "/sessions/{session}/ride"),
]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=fuzz_fields, target=st.sampled_from(TARGETS))
def test_journey_forms_never_500(fuzzing, data, target):
    clients, ids = fuzzing
    role, path = target
    response = clients[role].post(path.format(**ids), data=data)
    assert response.status_code < 500, (path, data)
