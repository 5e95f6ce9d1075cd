"""The inbox, clinic messages and what the patient controls: nothing depends on catching a notification."""

import datetime as dt
import io
import json
import re
import zipfile

import pytest
from peewee import SqliteDatabase

from aftercare.db import db
from aftercare.journey import scheduling
from aftercare.models import AuditEvent
from aftercare.models import Reminder
from aftercare.models import REMINDER_CANCELLED
from aftercare.models import REMINDER_PLANNED
from aftercare.models import REMINDER_SENT
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.reminders import inbox
from aftercare.reminders import planner
from aftercare.reminders.dispatcher import Dispatcher
from tests.conftest import Auth
from tests.conftest import JsonApi
from tests.conftest import post_form
from tests.factories import make_clinician
from tests.factories import make_device
from tests.factories import make_patient


def now():
    return dt.datetime.now().replace(microsecond=0)


def sent(patient, rule="test", text="Something for today.", *, at=None, **fields) -> Reminder:
    """A reminder that reached its time (as the dispatcher leaves it)."""
    at = at or now() - dt.timedelta(minutes=5)
    return Reminder.create(
        user=patient,
        rule=rule,
        slot=f"{rule}:{at.isoformat()}:{Reminder.select().count()}",
        due_at=at,
        expires_at=at + dt.timedelta(hours=4),
        sent_at=at,
        status=REMINDER_SENT,
        text=text,
        path="/home",
        **fields,
    )


def dispatch(app, clock=None):
    with app.app_context():
        dispatcher = Dispatcher(threads=1, **({"clock": clock} if clock else {}))
        try:
            return dispatcher.run_once()
        finally:
            dispatcher.close()


# ---------------------------------------------------------------------------- the inbox


def test_the_inbox_lists_what_arrived_newest_first_and_marks_it_read(client, people):
    older = sent(people.patient, "mood_daily", "How are you today?", at=now() - dt.timedelta(days=2))
    newer = sent(people.patient, "after_day1", "A day on from your session. Today's practice: A walk.")
    Reminder.create(  # planned, not yet due: not in the inbox
        user=people.patient,
        rule="checkin",
        slot="x",
        due_at=now() + dt.timedelta(days=1),
        expires_at=now() + dt.timedelta(days=2),
        path="/home",
    )
    Auth(client).login(people.patient)
    today = client.get("/home").get_data(as_text=True)
    assert "2 unread" in today  # the tab's count, said in words for screen readers
    page = client.get("/inbox").get_data(as_text=True)
    assert page.index("A day on from your session") < page.index("How are you today?")
    assert "cannot be answered" in page
    assert "A questionnaire" not in page
    assert Reminder.get_by_id(older.id).read_at is not None and Reminder.get_by_id(newer.id).read_at is not None
    assert "unread" not in client.get("/home").get_data(as_text=True)


def test_another_patients_inbox_is_never_shown(client, people):
    other = make_patient(people.clinician)
    sent(other, "message", "For the other patient only.")
    Auth(client).login(people.patient)
    assert "For the other patient only." not in client.get("/inbox").get_data(as_text=True)
    assert client.get("/api/v1/inbox").get_json()["items"] == []


def test_the_inbox_pages_back(client, people):
    for n in range(35):
        sent(people.patient, text=f"Reminder number {n}.", at=now() - dt.timedelta(hours=n + 1))
    Auth(client).login(people.patient)
    first = client.get("/inbox").get_data(as_text=True)
    assert "Reminder number 0." in first and "Reminder number 34." not in first
    older = re.search(r'href="(/inbox\?before=\d+)">Older messages', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert "Reminder number 34." in second
    assert client.get("/inbox?before=abc").status_code == 200  # an odd cursor is the first page


def test_the_offline_copy_carries_the_newest_page(client, people):
    sent(people.patient, "message", "See you on Tuesday.", author=people.clinician)
    Auth(client).login(people.patient)
    data = client.get("/api/v1/inbox").get_json()
    assert data["user"] == str(people.patient.id)
    [item] = data["items"]
    assert item["text"] == "See you on Tuesday." and item["author"] == people.clinician.name


def test_the_offline_inbox_page_holds_no_ones_data(client, people):
    sent(people.patient, "message", "Private words.")
    Auth(client).login(people.patient)
    page = client.get("/inbox/offline").get_data(as_text=True)
    assert "Private words." not in page and people.patient.name not in page
    assert "data-offline-inbox" in page


# ---------------------------------------------------------------------------- messages


def test_a_clinician_messages_a_patient_and_it_reaches_the_inbox_and_devices(push_app, receiver, client, people):
    make_device(people.patient, receiver=receiver)
    Auth(client).login(people.clinician)
    response = post_form(
        client,
        f"/clinician/patients/{people.patient.id}/message",
        {"body": "Your results look good. See you Tuesday.", "title": ""},
        page=f"/clinician/patients/{people.patient.id}",
    )
    assert response.status_code == 302
    assert AuditEvent.select().where(AuditEvent.action == "message_sent").count() == 1
    # Sent when it falls due: at once, or when the patient's quiet hours end (21:00-08:00 by default).
    message = Reminder.get(Reminder.user == people.patient, Reminder.rule == "message")
    dispatch(push_app, clock=lambda: max(message.due_at, utcnow()))
    [push] = receiver.wait_for(1)
    assert push.json["notification"]["body"] == "A message from your clinic."  # generic on the lock screen
    assert "results" not in json.dumps(push.json)
    patient = Auth(app_client := push_app.test_client())
    patient.login(people.patient)
    page = app_client.get("/inbox").get_data(as_text=True)
    assert f"Message from {people.clinician.name}" in page and "Your results look good." in page
    record = client.get(f"/clinician/patients/{people.patient.id}").get_data(as_text=True)
    assert "Read " in record  # the clinician sees it was read


BAD_MESSAGES = [
    ({"body": ""}, "Write the message."),
    ({"body": "x" * 5000}, "Field cannot be longer than 2000 characters."),
    ({"body": "Hello", "title": "Your ketamine results"}, "tell anyone who sees the phone too much"),
    ({"body": "Hello", "title": "Session 3 tomorrow"}, "phone"),
]


@pytest.mark.parametrize(("data", "message"), BAD_MESSAGES)
def test_a_bad_message_is_refused_and_nothing_is_sent(client, people, data, message):
    Auth(client).login(people.clinician)
    response = post_form(
        client,
        f"/clinician/patients/{people.patient.id}/message",
        data,
        page=f"/clinician/patients/{people.patient.id}",
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert not Reminder.select().where(Reminder.rule == "message").exists()


def test_a_message_to_a_patient_outside_ones_care_is_not_found(client, people):
    other_clinician = make_clinician()
    stranger = make_patient(other_clinician)
    Auth(client).login(people.clinician)
    response = post_form(client, f"/clinician/patients/{stranger.id}/message", {"body": "Hello"}, page="/clinician/")
    assert response.status_code == 404
    assert not Reminder.select().where(Reminder.rule == "message").exists()


def test_a_message_waits_for_the_end_of_quiet_hours(people):
    from aftercare.reminders import messages

    patient = User.get_by_id(people.patient.id)
    patient.quiet_start, patient.quiet_end = "21:00", "08:00"
    patient.save()
    late = dt.datetime(2027, 6, 1, 23, 0)
    reminder = messages.send_message(people.clinician, patient, body="Call us tomorrow.", now=late)
    assert reminder.due_at == dt.datetime(2027, 6, 2, 8, 0)


def test_an_administrator_sends_a_notice_to_every_patient(client, people):
    second = make_patient(people.clinician)
    closed = make_patient(people.clinician)
    closed.closed_at, closed.active = now(), False
    closed.save()
    Auth(client).login(people.admin)
    response = post_form(
        client,
        "/admin/reminders/notice",
        {"body": "The clinic is closed on Friday. Our new number is 555 0100."},
        page="/admin/reminders/",
    )
    assert response.status_code == 302
    notices = Reminder.select().where(Reminder.rule == "notice")
    assert sorted(r.user_id for r in notices) == sorted([people.patient.id, second.id])
    assert "Notice sent to 2 patient(s)" in client.get("/admin/reminders/").get_data(as_text=True)


def test_booking_moving_and_cancelling_a_session_tell_the_patient(people):
    patient = User.get_by_id(people.patient.id)
    booked_at = dt.datetime(2027, 6, 1, 9, 0)
    session = scheduling.book(
        patient,
        by=people.clinician,
        kind="infusion",
        wall=dt.datetime(2027, 6, 10, 14, 0),
        duration_minutes=60,
        zone="UTC",
        now=booked_at,
    )
    scheduling.move(
        session,
        by=people.clinician,
        kind="infusion",
        wall=dt.datetime(2027, 6, 11, 9, 30),
        duration_minutes=60,
        zone="UTC",
        now=booked_at,
    )
    scheduling.cancel(scheduling._fresh(session), by=people.clinician, now=booked_at)
    told = {
        r.rule: r.text
        for r in Reminder.select().where(Reminder.rule.startswith("session_"))
        if r.rule in ("session_booked", "session_moved", "session_cancelled")
    }
    assert told == {
        "session_booked": "Your clinic booked your IV infusion for Thursday 10 June at 14:00.",
        "session_moved": "Your IV infusion has moved to Friday 11 June at 09:30. Please confirm your ride home for the new time.",
        "session_cancelled": "Your IV infusion on Friday 11 June at 09:30 is cancelled.",
    }


# ---------------------------------------------------------------------------- what the patient controls


def test_coming_up_lists_reminders_and_a_snooze_moves_one(client, people):
    patient = User.get_by_id(people.patient.id)
    start = now() + dt.timedelta(days=3)
    scheduling.book(
        patient,
        by=people.clinician,
        kind="infusion",
        wall=start.replace(hour=14, minute=0),
        duration_minutes=60,
        zone="UTC",
    )
    day_before = Reminder.get(Reminder.rule == "session_24h")
    Auth(client).login(people.patient)
    page = client.get("/reminders").get_data(as_text=True)
    assert "Your session tomorrow" in page
    response = post_form(client, f"/reminders/{day_before.id}/snooze", {"when": "hour"}, page="/reminders")
    assert response.status_code == 302
    moved = Reminder.get_by_id(day_before.id)
    assert moved.due_at == day_before.due_at + dt.timedelta(hours=1) == moved.snoozed_until
    planner.plan(User.get_by_id(patient.id))  # planning again keeps the snooze
    assert Reminder.get_by_id(day_before.id).due_at == moved.due_at


def test_a_snooze_past_the_reminders_use_is_refused(client, people):
    at = now() + dt.timedelta(minutes=30)
    reminder = Reminder.create(
        user=people.patient,
        rule="session_2h",
        slot="s",
        due_at=at,
        expires_at=at + dt.timedelta(minutes=90),
        path="/",
    )
    Auth(client).login(people.patient)
    post_form(client, f"/reminders/{reminder.id}/snooze", {"when": "three"}, page="/reminders")
    assert "That would be too late" in client.get("/reminders").get_data(as_text=True)
    assert Reminder.get_by_id(reminder.id).due_at == at


@pytest.mark.parametrize("choice", ["", "yesterday", "-1"])
def test_a_snooze_to_no_known_time_is_refused(client, people, choice):
    at = now() + dt.timedelta(hours=1)
    reminder = Reminder.create(
        user=people.patient,
        rule="checkin",
        slot="s",
        due_at=at,
        expires_at=at + dt.timedelta(days=3),
        path="/",
    )
    Auth(client).login(people.patient)
    post_form(client, f"/reminders/{reminder.id}/snooze", {"when": choice}, page="/reminders")
    assert Reminder.get_by_id(reminder.id).due_at == at


def test_a_reminder_already_sent_cannot_be_snoozed(people):
    reminder = sent(people.patient, "checkin")
    with pytest.raises(planner.SnoozeError):
        planner.snooze(people.patient, reminder, "hour")


def test_turning_a_kind_off_cancels_it_in_the_same_transaction(client, people):
    patient = User.get_by_id(people.patient.id)
    start = now() + dt.timedelta(days=3)
    session = scheduling.book(
        patient,
        by=people.clinician,
        kind="infusion",
        wall=start.replace(hour=14, minute=0),
        duration_minutes=60,
        zone="UTC",
    )
    Auth(client).login(people.patient)
    data = {"timezone": "UTC", "quiet_start": "21:00", "quiet_end": "08:00", "reminders_on": ["after", "checkin"]}
    assert post_form(client, "/settings", data).status_code == 302
    before = {r.rule: r.status for r in Reminder.select().where(Reminder.session == session)}
    assert before["session_24h"] == before["session_2h"] == REMINDER_CANCELLED
    assert before["after_day1"] == REMINDER_PLANNED
    assert "Turned off: Before each session" in client.get("/reminders").get_data(as_text=True)
    data["reminders_on"] = ["before", "after", "checkin"]
    post_form(client, "/settings", data)
    assert Reminder.get(Reminder.session == session, Reminder.rule == "session_24h").status == REMINDER_PLANNED


# ---------------------------------------------------------------------------- the export and closing


def test_messages_and_devices_are_in_the_export(client, people):
    sent(people.patient, "message", "Bring your notes.", author=people.clinician)
    make_device(people.patient, name="Pixel 8")
    Auth(client).login(people.patient)
    with client.get("/my-data/export.zip") as response:
        archive = zipfile.ZipFile(io.BytesIO(response.data))
    data = json.loads(archive.read("aftercare-export.json"))
    assert data["reminders"]["inbox"][0]["text"] == "Bring your notes."
    assert data["reminders"]["devices"][0]["name"] == "Pixel 8"
    assert "endpoint" not in json.dumps(data["reminders"]["devices"])
    assert b"Bring your notes." in archive.read("inbox.csv")


def test_a_closed_account_keeps_no_devices_and_gets_nothing_more(people):
    from aftercare.models import Device
    from aftercare.mydata import retention

    make_device(people.patient)
    waiting = Reminder.create(
        user=people.patient,
        rule="message",
        slot="m",
        due_at=now() + dt.timedelta(hours=1),
        expires_at=now() + dt.timedelta(days=7),
        path="/inbox",
        text="Hello",
    )
    retention.close_account(User.get_by_id(people.patient.id))
    assert not Device.select().exists()
    assert Reminder.get_by_id(waiting.id).status == REMINDER_CANCELLED


def test_json_api_for_devices_works_for_clinicians_too(client, people, receiver):
    Auth(client).login(people.clinician)
    response = JsonApi(client)("POST", "/api/v1/devices", {**receiver.subscription(), "name": "Work phone"})
    assert response.status_code == 422  # the receiver's host is not allowed in this app: refused, not forbidden
    assert "not a push service" in response.get_json()["fields"]["endpoint"]


def test_the_unread_count_reads_only_unread_reminders(app):
    """The badge on every patient page: through (user_id, read_at, sent_at), not every reminder ever sent."""
    if not isinstance(db.obj, SqliteDatabase):
        return  # PostgreSQL plans for itself
    with db.connection_context():
        plan = [row[3] for row in db.execute_sql(f"EXPLAIN QUERY PLAN {inbox.UNREAD.sql()}", (1, "sent", "failed"))]
    assert plan == [
        "SEARCH reminder USING INDEX reminder_user_id_read_at_sent_at (user_id=? AND read_at=? AND sent_at>?)"
    ]
