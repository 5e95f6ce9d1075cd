"""CLIN-04/08: crisis words, and what prompts driving on the day of a session."""

import pytest

from aftercare.safety import suggests_driving

PROMPTS = [
    "Drive to the pharmacy for your prescription.",
    "A scenic drive to the lake.",
    "Take the car to the shops.",
    "Go for a bike ride.",
    "Use your power tools in the garden.",
    "Rest, then drive home when you feel ready.",
    "No rush today. Drive to the coast if you like.",  # "no" in another sentence
    "Don't overthink it; drive somewhere quiet.",  # the negation ends with its clause
]
NOT_PROMPTS = [
    "No driving or machinery until tomorrow.",
    "Please do not drive today: ask someone to take you.",
    "Avoid driving for 24 hours.",
    "Do not use machinery or ride a bike until tomorrow.",
    "You must not drive, cycle or operate any machine today.",
    "Stay away from the car keys tonight.",
    "Rest, write a few words, or record a voice note.",
    "",
    None,
]


@pytest.mark.parametrize("text", PROMPTS)
def test_these_prompt_driving(text):
    assert suggests_driving(text)


@pytest.mark.parametrize("text", NOT_PROMPTS)
def test_telling_someone_not_to_drive_is_not_a_prompt(text):
    assert not suggests_driving(text)


@pytest.mark.parametrize("path", ["/home", "/checkins/phq9", "/checkins/gad7", "/journal/new", "/support", "/crisis"])
def test_entry_pages_say_plainly_nobody_watches_in_real_time(client, people, path):
    """CLIN-06: wherever a patient writes or answers, the page says it is not an emergency service."""
    from tests.conftest import Auth

    Auth(client).login(people.patient)
    html = " ".join(client.get(path).get_data(as_text=True).split())
    assert "not an emergency service" in html
