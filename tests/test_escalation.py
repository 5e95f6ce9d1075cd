"""Safety alerts reach clinicians (CLIN-03): a generic push to the care team, escalation after the clinic's
set working minutes to the care team and whoever is on call, and push never the only channel (CLIN-05)."""

import datetime as dt

import pytest

from aftercare import alerts
from aftercare import settings
from aftercare import workhours
from aftercare.models import AuditEvent
from aftercare.models import Reminder
from aftercare.models import REMINDER_CANCELLED
from aftercare.models import SafetyAlert
from aftercare.reminders import status
from aftercare.reminders.dispatcher import Dispatcher
from tests.conftest import Auth
from tests.conftest import JsonApi
from tests.factories import make_alert
from tests.factories import make_clinician
from tests.factories import make_device
from tests.factories import make_patient
from tests.factories import phq9_answers

MONDAY = dt.date(2027, 6, 7)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """UTC on the given day of that week (0 = Monday)."""
    return dt.datetime.combine(MONDAY + dt.timedelta(days=day), dt.time(hour, minute))


WEEKDAYS_9_TO_5 = settings.ClinicSettings(work_days=(0, 1, 2, 3, 4), work_start="09:00", work_end="17:00")

# start, end -> working minutes between them (clinic in UTC, Monday to Friday, 09:00-17:00)
WORKING_MINUTES = [
    (at(0, 10), at(0, 11, 1), 61),
    (at(0, 8), at(0, 9, 30), 30),  # before opening counts from opening
    (at(4, 16, 30), at(7, 9, 31), 61),  # Friday afternoon to Monday morning: the weekend counts nothing
    (at(5, 10), at(7, 9), 0),  # Saturday to Monday's opening
    (at(0, 18), at(1, 8), 0),  # a night
    (at(0, 10), at(0, 9), 0),  # backwards
    (at(0, 9), at(0, 17), 480),
]


@pytest.mark.parametrize(("start", "end", "minutes"), WORKING_MINUTES)
def test_working_minutes(start, end, minutes):
    assert workhours.working_minutes(start, end, WEEKDAYS_9_TO_5) == minutes


def test_working_minutes_follow_the_clinics_clocks():
    # Berlin springs forward on Sunday 28 March 2027: Friday 16:00 to Monday 10:00 local is 2 working hours.
    berlin = settings.ClinicSettings(timezone="Europe/Berlin", work_days=(0, 1, 2, 3, 4))
    friday = dt.datetime(2027, 3, 26, 15, 0)  # 16:00 CET
    monday = dt.datetime(2027, 3, 29, 8, 0)  # 10:00 CEST
    assert workhours.working_minutes(friday, monday, berlin) == 120


@pytest.fixture
def clinic(people):
    settings.update(
        timezone="UTC", work_days=(0, 1, 2, 3, 4), work_start="09:00", work_end="17:00", escalate_minutes=60
    )
    return people


def raised(people, when: dt.datetime) -> SafetyAlert:
    alert = make_alert(people.patient)
    SafetyAlert.update(created_at=when).where(SafetyAlert.id == alert.id).execute()
    return SafetyAlert.get_by_id(alert.id)


def test_an_alert_unacknowledged_for_61_working_minutes_escalates_once(clinic):
    alert = raised(clinic, at(0, 10))
    assert alerts.escalate_due(at(0, 10, 59)) == []
    assert [a.id for a in alerts.escalate_due(at(0, 11, 1))] == [alert.id]
    assert alerts.escalate_due(at(0, 11, 2)) == []  # a rerun escalates nothing twice
    assert alerts.escalate_due(at(1, 9)) == []
    assert SafetyAlert.get_by_id(alert.id).escalated_at == at(0, 11, 1)


def test_out_of_hours_the_clock_waits_for_the_clinic_to_open(clinic):
    alert = raised(clinic, at(4, 18))  # Friday evening
    assert alerts.escalate_due(at(5, 12)) == []  # Saturday
    assert alerts.escalate_due(at(7, 9, 59)) == []  # Monday, 59 working minutes
    assert [a.id for a in alerts.escalate_due(at(7, 10, 1))] == [alert.id]


def test_an_acknowledged_alert_never_escalates(clinic):
    alert = raised(clinic, at(0, 10))
    alerts.acknowledge(alert, by=clinic.clinician, note="Called, safe.")
    assert alerts.escalate_due(at(0, 12)) == []


def test_the_clinic_sets_the_time(clinic):
    settings.update(escalate_minutes=15)
    alert = raised(clinic, at(0, 10))
    assert [a.id for a in alerts.escalate_due(at(0, 10, 16))] == [alert.id]


def test_escalated_alerts_top_the_panel_of_the_care_team_and_whoever_is_on_call(clinic, client):
    on_call = make_clinician(name="Oscar On-Call")
    bystander = make_clinician(name="Bea Bystander")
    settings.update(on_call=(on_call.id,))
    calm = make_patient(clinic.clinician, name="Aaron Calm")  # sorts first by name, but not by need
    alert = raised(clinic, at(0, 10))
    alerts.escalate_due(at(0, 11, 1))

    Auth(client).login(clinic.clinician)
    panel = client.get("/clinician/").get_data(as_text=True)
    assert "Escalated: 1 safety alert" in panel
    assert panel.index(clinic.patient.name) < panel.index(calm.name)
    Auth(client).logout()

    calling = client.application.test_client()
    Auth(calling).login(on_call)
    panel = calling.get("/clinician/").get_data(as_text=True)
    assert clinic.patient.name in panel and "you are on call; not in your care" in panel
    assert calm.name not in panel  # only the escalated patient, nobody else in the clinic
    record = calling.get(f"/clinician/patients/{clinic.patient.id}")
    assert record.status_code == 200 and "You are on call" in record.get_data(as_text=True)
    view = AuditEvent.select().where(AuditEvent.action == "view_patient", AuditEvent.actor_id == on_call.id).get()
    assert (view.patient_id, view.detail) == (clinic.patient.id, "on call")
    assert calling.get(f"/clinician/patients/{calm.id}").status_code == 404

    other = client.application.test_client()
    Auth(other).login(bystander)  # neither care team nor on call
    assert clinic.patient.name not in other.get("/clinician/").get_data(as_text=True)
    assert other.get(f"/clinician/patients/{clinic.patient.id}").status_code == 404

    alerts.acknowledge(SafetyAlert.get_by_id(alert.id), by=clinic.clinician, note="Spoke with them.")
    assert calling.get(f"/clinician/patients/{clinic.patient.id}").status_code == 404  # acknowledged: access ends


def test_escalation_without_any_device_still_reaches_the_panel(clinic, client):
    raised(clinic, at(0, 10))
    alerts.escalate_due(at(0, 11, 1))
    assert not Reminder.select().exists()  # nobody has a device: no push queued, nothing lost
    Auth(client).login(clinic.clinician)
    assert "Escalated: 1 safety alert" in client.get("/clinician/").get_data(as_text=True)


# ---------------------------------------------------------------------------- the pushes themselves


def dispatch(app, now):
    with app.app_context():
        dispatcher = Dispatcher(clock=lambda: now, threads=1)
        try:
            return dispatcher.run_once()
        finally:
            dispatcher.close()


def test_a_new_alert_reaches_the_clinicians_device_generically(push_app, receiver, client, clinic):
    make_device(clinic.clinician, receiver=receiver, name="Work phone")
    Auth(client).login(clinic.patient)
    answer = {
        "instrument": "phq9",
        "client_id": "6b0e4c5e-7b0a-4f4e-9a52-3c7d2f9e8a11",
        "answers": phq9_answers(12, item9=1),
    }
    assert JsonApi(client)("POST", "/api/v1/checkins", answer).status_code == 201
    [queued] = Reminder.select().where(Reminder.rule == "alert_new")
    assert queued.user_id == clinic.clinician.id and queued.path.startswith(f"/clinician/patients/{clinic.patient.id}")
    dispatch(push_app, dt.datetime.now())
    [push] = receiver.wait_for(1)
    assert push.json["notification"]["body"] == "Someone in your care needs attention."
    assert push.urgency == "high"
    words = str(push.json)
    assert clinic.patient.name not in words and "PHQ" not in words and "item" not in words


def test_an_alert_acknowledged_before_its_push_goes_sends_nothing(push_app, receiver, clinic):
    make_device(clinic.clinician, receiver=receiver)
    alert = alerts.raise_alert(clinic.patient, about="mood:1", reason="crisis_language", detail="Crisis language")
    alerts.acknowledge(alert, by=clinic.clinician, note="Seen in clinic.")
    dispatch(push_app, dt.datetime.now())
    assert receiver.count == 0
    assert Reminder.get(Reminder.rule == "alert_new").status == REMINDER_CANCELLED


def test_escalation_pushes_the_care_team_and_on_call_in_the_same_pass(push_app, receiver, clinic):
    on_call = make_clinician()
    settings.update(on_call=(on_call.id,), timezone="UTC", work_days=(0, 1, 2, 3, 4), escalate_minutes=60)
    team_device = make_device(clinic.clinician, receiver=receiver)
    call_device = make_device(on_call, receiver=receiver)
    raised(clinic, at(0, 10))
    dispatch(push_app, at(0, 11, 1))
    names = sorted(m.name for m in receiver.wait_for(2))
    assert names == sorted(d.endpoint.rsplit("/", 1)[1] for d in (team_device, call_device))
    assert {m.json["notification"]["body"] for m in receiver.messages} == {"Someone still needs attention."}
    dispatch(push_app, at(0, 11, 5))
    assert receiver.count == 2  # escalated once, pushed once


# ---------------------------------------------------------------------------- what the administrator sees


def test_the_administrator_sees_how_long_alerts_waited_without_names(clinic, client):
    for minutes in (10, 30, 120):
        alert = raised(clinic, at(0, 9))
        SafetyAlert.update(
            acknowledged_at=at(0, 9) + dt.timedelta(minutes=minutes), acknowledged_by=clinic.clinician
        ).where(SafetyAlert.id == alert.id).execute()
    [week] = status.alert_waits(now=at(2, 12))
    assert (week.week, week.median_minutes, week.longest_minutes, week.count_label) == (MONDAY, 30, 120, "fewer than 5")
    Auth(client).login(clinic.admin)
    page = client.get("/admin/reminders/").get_data(as_text=True)
    assert "How long safety alerts waited" in page
    assert clinic.patient.name not in page


def test_the_queue_as_counts_only(push_app, clinic, client):
    make_device(clinic.patient, name="Pixel")
    Reminder.create(
        user=clinic.patient,
        rule="message",
        slot="q",
        due_at=dt.datetime.now() - dt.timedelta(minutes=1),
        expires_at=dt.datetime.now() + dt.timedelta(days=1),
        path="/inbox",
        text="Private words for the patient.",
    )
    queue = status.queue()
    assert (queue.due, queue.devices) == (1, {"Google (Chrome, Android)": 1})
    Auth(client).login(clinic.admin)
    page = client.get("/admin/reminders/").get_data(as_text=True)
    assert "Private words" not in page and clinic.patient.name not in page and "Pixel" not in page
