"""What reminders say (PUSH-01, CLIN-08): nothing clinical on a lock screen, no prompt to drive on a session day."""

import datetime as dt

import pytest

from aftercare.models import AuditEvent
from aftercare.models import Reminder
from aftercare.models import ReminderText
from aftercare.reminders import texts
from aftercare.safety import suggests_driving
from tests.conftest import Auth
from tests.conftest import post_form
from tests.factories import make_intention
from tests.factories import make_practice
from tests.factories import make_session

KINDS = list(texts.DEFAULTS)


@pytest.mark.parametrize("rule", KINDS)
def test_every_default_lock_screen_text_is_generic(rule):
    wording = texts.DEFAULTS[rule]
    assert texts.lock_screen_problem(wording.title) is None
    assert texts.lock_screen_problem(wording.body) is None
    assert texts.problems(rule, title=wording.title, body=wording.body, lead=wording.lead) == {}


@pytest.mark.parametrize("rule", sorted(texts.SESSION_DAY))
def test_session_day_texts_never_prompt_driving(rule):
    wording = texts.DEFAULTS[rule]
    for text in (wording.title, wording.body, wording.lead):
        assert not suggests_driving(text)


def test_the_evening_text_tells_the_patient_not_to_drive():
    assert "No driving" in texts.DEFAULTS["after_evening"].lead


# Lock-screen words that give too much away -> refused (one per family of words in CLINICAL_WORDS).
LEAKS = [
    "Your ketamine appointment is tomorrow",
    "Time for your Spravato",
    "Infusion tomorrow",
    "How is your depression today?",
    "Feeling anxious? Open the app",
    "Your PHQ-9 is due",
    "Your mood score dropped",
    "Therapy tomorrow at ten",
    "Your session is in two hours",
    "A note from your psychiatrist",
    "Crisis support is available",
    "Your treatment plan changed",
    "Write in your journal",
    "Reminder 2 of 3",  # numbers: scores, counts, times
]


@pytest.mark.parametrize("text", LEAKS)
def test_clinical_words_and_numbers_never_reach_a_lock_screen(text):
    assert texts.lock_screen_problem(text) is not None


# (rule, field, text) an administrator types -> refused with a message on that field.
BAD_WORDINGS = [
    ("checkin", "body", "Your questionnaire is waiting"),
    ("checkin", "title", "Ketamine clinic"),
    ("checkin", "body", ""),
    ("checkin", "body", "x" * 141),
    ("checkin", "lead", "It is time for {measures} and {score}."),  # a placeholder this kind does not have
    ("checkin", "lead", "Braces { left open"),
    ("checkin", "lead", "{measures.__class__}"),
    ("session_2h", "lead", "Drive over in good time; parking is at the back."),  # CLIN-08
    ("after_evening", "body", "Ride your bike to clear your head."),
]


@pytest.mark.parametrize(("rule", "field", "text"), BAD_WORDINGS)
def test_an_administrator_cannot_save_wording_that_leaks_or_prompts_driving(client, people, rule, field, text):
    Auth(client).login(people.admin)
    wording = texts.DEFAULTS[rule]
    data = {"title": wording.title, "body": wording.body, "lead": wording.lead, field: text}
    response = post_form(client, f"/admin/reminders/{rule}", data)
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)
    assert not ReminderText.select().exists()


def test_an_administrator_changes_and_restores_the_wording(client, people):
    Auth(client).login(people.admin)
    data = {
        "title": "aftercare",
        "body": "A few questions, when you have a moment.",
        "lead": "Your {measures} is ready.",
    }
    response = post_form(client, "/admin/reminders/checkin", data)
    assert response.status_code == 302
    assert texts.wordings()["checkin"].body == "A few questions, when you have a moment."
    page = client.get("/admin/reminders/").get_data(as_text=True)
    assert "Your wording" in page and "A few questions, when you have a moment." in page
    assert AuditEvent.select().where(AuditEvent.action == "reminder_text_changed").count() == 1
    post_form(client, "/admin/reminders/checkin/restore", page="/admin/reminders/checkin")
    assert texts.wordings()["checkin"] == texts.DEFAULTS["checkin"]


def test_an_unknown_kind_is_not_found(client, people):
    Auth(client).login(people.admin)
    assert client.get("/admin/reminders/no_such_kind").status_code == 404


def test_stored_wordings_are_all_generic(client, people):
    # Whatever is in the table (a restored backup, a hand edit), the lock screen is checked again at send.
    for rule, wording in texts.wordings().items():
        assert texts.problems(rule, title=wording.title, body=wording.body, lead=wording.lead) == {}


# ---------------------------------------------------------------------------- the in-app text when sent


def reminder(patient, rule, session=None):
    now = dt.datetime.now()
    return Reminder.create(
        user=patient,
        rule=rule,
        slot="s",
        session=session,
        due_at=now,
        expires_at=now + dt.timedelta(hours=1),
        path="/",
    )


def test_the_day_before_lists_only_what_is_still_to_do(people):
    patient = people.patient
    session = make_session(patient, starts_at=dt.datetime.now() + dt.timedelta(hours=24), status="scheduled")
    make_intention(session, carry="Be kind to myself")
    message = texts.message(reminder(patient, "session_24h", session), patient, texts.DEFAULTS["session_24h"])
    assert message.text.startswith("Your session is tomorrow, ")
    assert "Choose the music for the room" in message.text and "Confirm who drives you home" in message.text
    assert "Set your intention" not in message.text
    assert texts.lock_screen_problem(message.title + " " + message.body) is None


def test_days_after_carry_the_practice_and_the_patients_own_intention(people):
    patient = people.patient
    session = make_session(patient, starts_at=dt.datetime.now() - dt.timedelta(hours=25))
    make_intention(session, carry="Stay curious")
    make_practice(title="A slow walk outside", days="1")
    message = texts.message(reminder(patient, "after_day1", session), patient, texts.DEFAULTS["after_day1"])
    assert "Today's practice: A slow walk outside." in message.text
    assert "“Stay curious”" in message.text
    assert "Stay curious" not in message.body + message.title  # the intention stays off the lock screen


def test_a_reminder_about_a_cancelled_session_is_not_sent(people):
    patient = people.patient
    session = make_session(patient, starts_at=dt.datetime.now() + dt.timedelta(hours=24), status="cancelled")
    assert texts.message(reminder(patient, "session_24h", session), patient, texts.DEFAULTS["session_24h"]) is None


def test_the_daily_nudge_stays_quiet_once_mood_is_logged(people):
    from tests.factories import make_mood

    patient = people.patient
    nudge = reminder(patient, "mood_daily")
    assert texts.message(nudge, patient, texts.DEFAULTS["mood_daily"]) is not None
    make_mood(patient)
    assert texts.message(nudge, patient, texts.DEFAULTS["mood_daily"]) is None
