"""Sending reminders end to end, to a loopback push service that checks and decrypts every push (PUSH-01..04).

The clock is the dispatcher's own, so a test moves time forward instead of waiting for it.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from aftercare.journey import scheduling
from aftercare.localtime import to_local
from aftercare.models import Delivery
from aftercare.models import Device
from aftercare.models import Reminder
from aftercare.models import REMINDER_CANCELLED
from aftercare.models import REMINDER_EXPIRED
from aftercare.models import REMINDER_FAILED
from aftercare.models import REMINDER_PLANNED
from aftercare.models import REMINDER_SENT
from aftercare.models import User
from aftercare.push.sender import Sender
from aftercare.push.vapid import keys as vapid_keys_of
from aftercare.push.vapid import Signer
from aftercare.reminders import planner
from aftercare.reminders import status
from aftercare.reminders import texts
from aftercare.reminders.dispatcher import Dispatcher
from aftercare.reminders.dispatcher import topic
from tests.conftest import Auth
from tests.conftest import post_form
from tests.factories import make_checkin
from tests.factories import make_device
from tests.factories import make_patient

START = dt.datetime(2027, 6, 1, 12, 0)
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self, now=START):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def dispatch(push_app, clock):
    """Run one pass of the dispatcher at the clock's time; return what it did."""
    made = []

    def run(**options):
        with push_app.app_context():
            dispatcher = Dispatcher(clock=clock, threads=options.pop("threads", 2), **options)
            made.append(dispatcher)
            try:
                return dispatcher.run_once()
            finally:
                dispatcher.close()

    return run


def due(patient, rule="test", *, at=START, hours=4, session=None, slot=None):
    return Reminder.create(
        user=patient,
        rule=rule,
        slot=slot or f"{rule}:{at.isoformat()}",
        session=session,
        due_at=at,
        expires_at=at + dt.timedelta(hours=hours),
        path="/home",
    )


def answered(patient) -> None:
    """Both questionnaires answered today, so only the reminders a test is about fall due."""
    make_checkin(patient, "phq9", [1] * 9)
    make_checkin(patient, "gad7", [1] * 7)


def name_of(device: Device) -> str:
    return device.endpoint.rsplit("/", 1)[1]


# ---------------------------------------------------------------------------- delivered, at the right time


def test_a_planned_reminder_arrives_at_its_time_decryptable_and_generic(
    push_app, receiver, clock, dispatch, vapid_keys
):
    zone = "America/New_York"
    patient = make_patient(timezone=zone, mood_nudge_at="09:00", quiet_start="22:00", quiet_end="07:00")
    device = make_device(patient, receiver=receiver)
    planner.plan(patient, now=START)  # 08:00 in New York
    nudge = Reminder.select().where(Reminder.rule == "mood_daily").order_by(Reminder.due_at).first()
    assert to_local(nudge.due_at, zone).strftime("%H:%M") == "09:00"

    clock.now = nudge.due_at - dt.timedelta(minutes=1)
    dispatch()
    assert receiver.count == 0  # not a minute early

    clock.now = nudge.due_at
    dispatch()
    [message] = receiver.wait_for(1)
    notification = message.json["notification"]
    assert message.json["web_push"] == 8030
    assert notification == {
        "title": texts.DEFAULTS["mood_daily"].title,
        "body": texts.DEFAULTS["mood_daily"].body,
        "navigate": "http://localhost/home",
        "tag": topic(nudge.id, "test"),
        "lang": "en",
    }
    assert texts.lock_screen_problem(notification["title"] + " " + notification["body"]) is None
    # PUSH-02: TTL until it expires, an urgency, an opaque topic equal to the tag.
    assert 0 < message.ttl <= 2 * 3600 and message.urgency == "low" and message.topic == notification["tag"]
    assert message.claims["sub"] == vapid_keys.subject and message.claims["aud"] == receiver.url
    assert message.vapid_public_key == vapid_keys.public

    sent = Reminder.get_by_id(nudge.id)
    assert sent.status == REMINDER_SENT and sent.sent_at == nudge.due_at
    assert sent.text == texts.DEFAULTS["mood_daily"].lead  # the in-app text, kept for the app
    [delivery] = Delivery.select().where(Delivery.reminder == nudge.id)
    assert (delivery.outcome, delivery.status, delivery.device_id) == ("delivered", 201, device.id)
    assert Device.get_by_id(device.id).last_success_at == nudge.due_at


def test_every_reminder_of_a_session_arrives_at_its_local_time_across_a_clock_change(
    push_app, receiver, clock, dispatch, people
):
    """Book a session on the weekend the clocks go forward and live through it, minute by minute where it matters."""
    zone = "America/New_York"
    patient = User.get_by_id(people.patient.id)
    patient.timezone, patient.quiet_start, patient.quiet_end = zone, "22:00", "07:00"
    patient.save()
    make_device(patient, receiver=receiver)
    answered(patient)
    booked = dt.datetime(2027, 3, 10, 15, 0)
    session = scheduling.book(
        patient,
        by=people.clinician,
        kind="infusion",
        wall=dt.datetime(2027, 3, 14, 10, 0),  # Sunday, the first day of daylight time
        duration_minutes=90,
        zone=zone,
        now=booked,
    )
    expected = {
        "session_24h": "2027-03-13 09:00",  # 24 hours before: the clock moved, the instant did not
        "session_2h": "2027-03-14 08:00",
        "after_evening": "2027-03-14 19:00",
        "after_day1": "2027-03-15 11:30",
        "after_day2": "2027-03-16 11:30",
        "after_day3": "2027-03-17 11:30",
    }
    rows = {r.rule: r for r in Reminder.select().where(Reminder.session == session, Reminder.rule.in_(list(expected)))}
    # The patient is told of the booking at once (a message, kept in the inbox).
    clock.now = booked
    dispatch()
    [told] = receiver.wait_for(1)
    assert told.json["notification"]["body"] == "Your clinic added an appointment."
    assert {rule: to_local(r.due_at, zone).strftime("%Y-%m-%d %H:%M") for rule, r in rows.items()} == expected

    arrived = 1
    for rule in expected:
        reminder = rows[rule]
        clock.now = reminder.due_at - dt.timedelta(seconds=30)
        dispatch()
        assert receiver.count == arrived, f"{rule} arrived early"
        clock.now = reminder.due_at
        dispatch()
        arrived += 1
        message = receiver.wait_for(arrived)[-1]
        assert message.json["notification"]["tag"] == topic(reminder.id, "test")
        assert Reminder.get_by_id(reminder.id).status == REMINDER_SENT
    assert receiver.count == len(expected) + 1


def test_a_session_moved_after_planning_reminds_for_the_new_time_only(push_app, receiver, clock, dispatch, people):
    patient = User.get_by_id(people.patient.id)
    make_device(patient, receiver=receiver)
    answered(patient)
    booked = START
    session = scheduling.book(
        patient, by=people.clinician, kind="infusion", wall=dt.datetime(2027, 6, 5, 14), duration_minutes=60, now=booked
    )
    scheduling.move(
        session, by=people.clinician, kind="infusion", wall=dt.datetime(2027, 6, 6, 14), duration_minutes=60, now=booked
    )
    clock.now = booked
    dispatch()  # the booking and the move, told at once
    assert sorted(m.json["notification"]["body"] for m in receiver.wait_for(2)) == [
        "One of your appointments changed.",
        "Your clinic added an appointment.",
    ]
    clock.now = dt.datetime(2027, 6, 4, 14, 0)  # the old day-before moment
    dispatch()
    assert receiver.count == 2
    clock.now = dt.datetime(2027, 6, 5, 14, 0)
    dispatch()
    assert receiver.wait_for(3)[-1].json["notification"]["navigate"] == f"http://localhost/sessions/{session.id}"


# ---------------------------------------------------------------------------- what push services answer (PUSH-04)


@pytest.mark.parametrize("answer", [404, 410])
def test_a_gone_subscription_removes_that_device_only(push_app, receiver, dispatch, people, answer):
    gone = make_device(people.patient, receiver=receiver, name="Old phone")
    kept = make_device(people.patient, receiver=receiver, name="New phone")
    receiver.respond(name_of(gone), answer)
    reminder = due(people.patient)
    tally = dispatch()
    assert tally.outcomes == {"delivered": 1, "gone": 1}
    assert [d.id for d in Device.select()] == [kept.id]
    assert Reminder.get_by_id(reminder.id).status == REMINDER_SENT
    record = Delivery.get(Delivery.outcome == "gone")
    assert (record.status, record.device_id, record.host) == (answer, None, receiver.host_entry)


def test_the_only_device_gone_means_the_reminder_failed(push_app, receiver, dispatch, people):
    device = make_device(people.patient, receiver=receiver)
    receiver.respond(name_of(device), 410)
    reminder = due(people.patient)
    dispatch()
    assert Reminder.get_by_id(reminder.id).status == REMINDER_FAILED
    assert not Device.select().exists()


@pytest.mark.parametrize(
    ("retry_after", "pause"),
    [("120", 120), (None, 30), ("Wed, 02 Jun 2027 12:00:00 GMT", None)],
)
def test_too_many_requests_is_retried_after_the_pause_asked_for(
    push_app, receiver, clock, dispatch, people, retry_after, pause
):
    device = make_device(people.patient, receiver=receiver)
    receiver.respond(name_of(device), 429, headers={"Retry-After": retry_after} if retry_after else {}, times=1)
    reminder = due(people.patient, hours=48)
    dispatch()
    waiting = Reminder.get_by_id(reminder.id)
    assert waiting.status == REMINDER_PLANNED and waiting.attempts == 1
    if pause is None:  # an HTTP date: as long as the real clock says, capped at an hour
        assert START < waiting.due_at <= START + dt.timedelta(hours=1)
    else:
        assert waiting.due_at == START + dt.timedelta(seconds=pause)
    clock.now = waiting.due_at - dt.timedelta(seconds=1)
    dispatch()
    assert receiver.count == 0
    clock.now = waiting.due_at
    dispatch()
    assert receiver.count == 1
    assert Reminder.get_by_id(reminder.id).status == REMINDER_SENT
    assert [d.outcome for d in Delivery.select().order_by(Delivery.id)] == ["retry", "delivered"]


@pytest.mark.parametrize("answer", [500, 503])
def test_a_server_error_is_retried_with_the_same_topic_and_tag(push_app, receiver, clock, dispatch, people, answer):
    device = make_device(people.patient, receiver=receiver)
    receiver.respond(name_of(device), answer, times=1)
    reminder = due(people.patient)
    dispatch()
    clock.advance(seconds=30)
    dispatch()
    first, second = receiver.attempts
    assert (first.status, second.status) == (answer, 201)
    assert first.headers["topic"] == second.headers["topic"] == topic(reminder.id, "test")
    assert receiver.messages[-1].json["notification"]["tag"] == topic(reminder.id, "test")


@pytest.mark.parametrize("answer", [401, 403])
def test_refused_credentials_raise_an_alarm_and_delete_nothing(
    push_app, receiver, clock, dispatch, people, client, answer
):
    devices = [make_device(people.patient, receiver=receiver) for _ in range(3)]
    for device in devices:
        receiver.respond(name_of(device), answer)
    reminder = due(people.patient)
    dispatch()
    assert Device.select().count() == 3  # never a mass delete
    assert Reminder.get_by_id(reminder.id).status == REMINDER_PLANNED  # tried again: the fix may come
    with push_app.test_request_context():
        [refusal] = status.refusals(now=START)
    assert (refusal.host, refusal.count) == (receiver.host_entry, 3)
    Auth(client).login(people.admin)
    assert "Reminders are not reaching phones" in client.get("/admin/").get_data(as_text=True)
    assert "no device has been removed" in client.get("/admin/reminders/").get_data(as_text=True)


def test_a_redirect_is_not_followed(push_app, receiver, dispatch, people):
    device = make_device(people.patient, receiver=receiver)
    elsewhere = make_device(people.patient, receiver=receiver)
    Device.delete().where(Device.id == elsewhere.id).execute()
    receiver.redirect(name_of(device), elsewhere.endpoint)
    reminder = due(people.patient)
    dispatch()
    assert [a.status for a in receiver.attempts] == [307]  # nothing went to the redirect's target
    assert Reminder.get_by_id(reminder.id).status == REMINDER_FAILED
    assert Delivery.get().outcome == "failed"


def test_a_push_service_that_hangs_times_out_and_is_retried(push_app, receiver, clock, people):
    device = make_device(people.patient, receiver=receiver)
    receiver.hang(name_of(device), 5, times=1)
    reminder = due(people.patient)
    with push_app.app_context():
        sender = Sender(Signer(vapid_keys_of(push_app.config)), read_seconds=0.3)
        dispatcher = Dispatcher(clock=clock, sender=sender, threads=1)
        dispatcher.run_once()
        assert Reminder.get_by_id(reminder.id).status == REMINDER_PLANNED
        assert Delivery.get().outcome == "retry" and Delivery.get().status is None
        clock.advance(seconds=30)
        dispatcher.run_once()
        dispatcher.close()
    assert Reminder.get_by_id(reminder.id).status == REMINDER_SENT


def test_too_large_is_not_retried(push_app, receiver, dispatch, people):
    device = make_device(people.patient, receiver=receiver)
    receiver.respond(name_of(device), 413)
    reminder = due(people.patient)
    dispatch()
    assert Reminder.get_by_id(reminder.id).status == REMINDER_FAILED
    assert Device.select().count() == 1


def test_a_retry_goes_only_to_devices_not_yet_reached(push_app, receiver, clock, dispatch, people):
    reached = make_device(people.patient, receiver=receiver)
    busy = make_device(people.patient, receiver=receiver)
    receiver.respond(name_of(busy), 500, times=1)
    due(people.patient)
    dispatch()
    clock.advance(seconds=30)
    dispatch()
    names = [m.name for m in receiver.messages]
    assert sorted(names) == sorted([name_of(reached), name_of(busy)])  # each once


def test_an_endpoint_outside_the_allowlist_is_never_contacted(push_app, receiver, dispatch, people):
    outside = make_device(people.patient, endpoint="http://127.0.0.1:9/push/elsewhere")
    reminder = due(people.patient)
    dispatch()
    assert receiver.attempts == []
    record = Delivery.get()
    assert (record.outcome, record.status) == ("failed", None)
    assert Reminder.get_by_id(reminder.id).status == REMINDER_FAILED
    assert Device.get_by_id(outside.id)  # kept: the clinic may list its host again


def test_an_expired_reminder_is_never_sent_late(push_app, receiver, clock, dispatch, people):
    make_device(people.patient, receiver=receiver)
    reminder = due(people.patient, hours=1)
    clock.advance(hours=2)
    tally = dispatch()
    assert tally.expired == 1 and receiver.count == 0
    assert Reminder.get_by_id(reminder.id).status == REMINDER_EXPIRED


def test_nothing_goes_to_a_deactivated_patient(push_app, receiver, dispatch, people):
    make_device(people.patient, receiver=receiver)
    reminder = due(people.patient)
    User.update(active=False).where(User.id == people.patient.id).execute()
    dispatch()
    assert receiver.count == 0
    assert Reminder.get_by_id(reminder.id).status == REMINDER_CANCELLED


def test_a_reminder_with_no_device_is_kept_for_the_app(push_app, receiver, dispatch, people):
    reminder = due(people.patient)
    dispatch()
    sent = Reminder.get_by_id(reminder.id)
    assert sent.status == REMINDER_SENT and sent.text


def test_without_a_proper_subject_nothing_is_sent(push_app, receiver, dispatch, runner, people):
    push_app.config["VAPID_SUBJECT"] = "it@example-clinic.org"  # not a mailto: URL
    make_device(people.patient, receiver=receiver)
    reminder = due(people.patient)
    dispatch()
    assert receiver.attempts == [] and Reminder.get_by_id(reminder.id).status == REMINDER_PLANNED
    result = runner.invoke(args=["reminders", "dispatch"])
    assert result.exit_code != 0 and "mailto: address or an https URL" in result.output


def test_the_dispatch_command_sends_what_is_due(push_app, receiver, runner, people):
    make_device(people.patient, receiver=receiver)
    due(people.patient, at=dt.datetime.now().replace(microsecond=0) - dt.timedelta(minutes=1))
    result = runner.invoke(args=["reminders", "dispatch"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output and "delivered 1" in result.output
    assert receiver.count == 1


def test_a_patient_sends_themselves_a_test_reminder(push_app, receiver, client, people):
    make_device(people.patient, receiver=receiver, name="Pixel")
    Auth(client).login(people.patient)
    response = post_form(client, "/settings/reminders/test", page="/settings")
    assert response.status_code == 302
    page = client.get("/settings").get_data(as_text=True)
    assert "Test reminder sent. Pixel: sent." in page
    [message] = receiver.wait_for(1)
    assert message.json["notification"]["navigate"] == "http://localhost/settings"
    again = post_form(client, "/settings/reminders/test", page="/settings")
    assert again.status_code == 302 and receiver.count == 1  # not twice within seconds
    assert "sent a moment ago" in client.get("/settings").get_data(as_text=True)


def test_the_test_says_what_went_wrong(push_app, receiver, client, people):
    device = make_device(people.patient, receiver=receiver, name="Pixel")
    receiver.respond(name_of(device), 410)
    Auth(client).login(people.patient)
    post_form(client, "/settings/reminders/test", page="/settings")
    page = client.get("/settings").get_data(as_text=True)
    assert "Test reminder not delivered. Pixel: no longer subscribed" in page


# ---------------------------------------------------------------------------- several workers, and crashes


def _queue(receiver, patients: int, each: int, at: dt.datetime) -> list[int]:
    """Create `patients` patients with one receiver device each, and `each` due reminders per patient."""
    rows = []
    for _ in range(patients):
        patient = make_patient()
        make_device(patient, receiver=receiver)
        rows.extend(
            {
                "user": patient.id,
                "rule": "test",
                "slot": f"load:{n}",
                "due_at": at,
                "expires_at": at + dt.timedelta(hours=6),
                "path": "/home",
            }
            for n in range(each)
        )
    for start in range(0, len(rows), 500):
        Reminder.insert_many(rows[start : start + 500]).execute()
    return [r.id for r in Reminder.select(Reminder.id).where(Reminder.slot.startswith("load:"))]


def test_two_workers_share_the_queue_without_sending_anything_twice(push_app, receiver, clock):
    ids = _queue(receiver, patients=100, each=20, at=START)
    assert len(ids) == 2000
    results = []

    def worker():
        with push_app.app_context():
            dispatcher = Dispatcher(clock=clock, threads=2, batch=50)
            try:
                results.append(dispatcher.run_once())
            finally:
                dispatcher.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    receiver.wait_for_count(2000, timeout=60)
    topics = [m.topic for m in receiver.messages]
    assert len(topics) == len(set(topics)) == 2000  # none sent twice
    assert sum(r.sent for r in results) == 2000
    assert all(r.sent > 0 for r in results), "both workers took part"
    assert Reminder.select().where(Reminder.status == REMINDER_SENT).count() == 2000


def _worker_env(push_app, database_url) -> dict:
    config = push_app.config
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "AFTERCARE_ENV": "development",
        "AFTERCARE_SECRET_KEY": config["SECRET_KEY"],
        "AFTERCARE_BASE_URL": "http://localhost",
        "AFTERCARE_DATABASE_URL": database_url,
        "AFTERCARE_VAPID_PRIVATE_KEY": config["VAPID_PRIVATE_KEY"],
        "AFTERCARE_VAPID_SUBJECT": config["VAPID_SUBJECT"],
        "AFTERCARE_PUSH_ALLOWED_HOSTS": config["PUSH_ALLOWED_HOSTS"],
    }


def _start_worker(env, *extra):
    command = [sys.executable, "-m", "flask", "--app", "aftercare", "reminders", "work", "--idle", "0.2", *extra]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_worker_killed_mid_batch_loses_nothing_and_repeats_only_what_was_in_flight(push_app, receiver, database_url):
    now = dt.datetime.now().replace(microsecond=0)
    ids = _queue(receiver, patients=20, each=15, at=now - dt.timedelta(minutes=1))
    for name in {m.endpoint.rsplit("/", 1)[1] for m in Device.select()}:
        receiver.hang(name, 0.03)  # slow enough to catch the worker in the middle of a batch
    env = _worker_env(push_app, database_url)
    batch = 25
    first = _start_worker(env, "--batch", str(batch), "--lease", "2", "--threads", "4")
    try:
        receiver.wait_for_count(60, timeout=60)
    except AssertionError:
        first.kill()
        raise AssertionError(f"the worker sent nothing; it said:\n{first.communicate(timeout=10)[0]}") from None
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=10)
    killed_at = receiver.count
    assert killed_at < len(ids), "the worker finished before it could be killed"

    second = _start_worker(env, "--batch", str(batch), "--lease", "2", "--threads", "4")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if Reminder.select().where(Reminder.id.in_(ids), Reminder.status == REMINDER_SENT).count() == len(ids):
                break
            time.sleep(0.2)
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=30)
    finally:
        if second.poll() is None:
            second.kill()
    assert second.returncode == 0, output
    assert "Stopped." in output

    assert Reminder.select().where(Reminder.id.in_(ids), Reminder.status == REMINDER_SENT).count() == len(ids)
    received = [m.json["notification"]["tag"] for m in receiver.messages]
    wanted = {topic(i, push_app.config["SECRET_KEY"]) for i in ids}
    assert set(received) == wanted  # every due reminder arrived
    repeats = len(received) - len(set(received))
    assert repeats <= batch  # only the batch in flight when the worker died went twice
    for message in receiver.messages:  # and a repeat carries the same Topic as its tag, so it replaces
        assert message.topic == message.json["notification"]["tag"]


def test_the_administrator_hears_when_no_worker_is_running(push_app, client, people):
    due(people.patient, at=dt.datetime.now().replace(microsecond=0) - dt.timedelta(minutes=30))
    Auth(client).login(people.admin)
    page = client.get("/admin/reminders/").get_data(as_text=True)
    assert "1 reminder(s) are more than 10 minutes overdue. Is the worker running" in page
    assert "Reminders are not reaching phones" in client.get("/admin/").get_data(as_text=True)
