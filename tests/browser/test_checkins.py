"""PHQ-9 in the browser: item 9 above 0 shows crisis help on the very next screen and raises an alert."""

import pytest
from playwright.sync_api import expect

from aftercare.models import CheckIn
from aftercare.models import SafetyAlert
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker

pytestmark = pytest.mark.browser


def answer_all(page, count, value="0"):
    for n in range(1, count + 1):
        page.locator(f"input[name=q{n}][value='{value}']").check()


def test_item_9_shows_crisis_help_next_and_raises_an_alert(phone, seed):
    patient = seed.patient(name="Priya Nair")
    sign_in(phone, patient)
    phone.locator("a.tile", has_text="Mood questionnaire (PHQ-9)").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("PHQ-9")
    check_a11y(phone, "phq9")
    answer_all(phone, 8, "1")
    phone.locator("input[name=q9][value='1']").check()
    phone.get_by_role("button", name="Send my answers").click()

    main = phone.locator("main")
    expect(main).to_contain_text("988")
    expect(phone.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(main).to_contain_text("9 out of 27")
    check_a11y(phone, "phq9-item9-result")
    with seed.database.connection_context():
        checkin = CheckIn.get(CheckIn.patient == patient.id)
        alert = SafetyAlert.get(SafetyAlert.patient == patient.id)
    assert (alert.checkin_id, alert.reason, alert.acknowledged_at) == (checkin.id, "phq9_item9", None)


def test_item_9_at_zero_gives_a_calm_result_and_no_alert(phone, seed):
    patient = seed.patient(name="Tom Becker")
    sign_in(phone, patient)
    phone.goto("/checkins/phq9")
    answer_all(phone, 9, "0")
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(phone.locator("main")).to_contain_text("0 out of 27 · minimal")
    with seed.database.connection_context():
        assert not SafetyAlert.select().where(SafetyAlert.patient == patient.id).exists()


def test_a_missed_question_is_named_and_answers_are_kept(phone, seed):
    sign_in(phone, seed.patient(name="Hannah Weiss"))
    phone.goto("/checkins/gad7")
    answer_all(phone, 6, "2")  # question 7 left out
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("alert")).to_contain_text("Question 7 needs one of the four answers")
    expect(phone.locator("input[name=q6][value='2']")).to_be_checked()
    check_a11y(phone, "gad7-incomplete")


def test_crisis_page_works_offline_after_a_checkin(phone, seed):
    sign_in(phone, seed.patient(name="Grace Kim"))
    assert wait_for_service_worker(phone) == "activated"
    phone.context.set_offline(True)
    phone.goto("/crisis")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Help right now")
    expect(phone.locator("main")).to_contain_text("988")
    phone.context.set_offline(False)
