"""Before treatment on a phone: a new patient joins, answers the intake over two visits (offline in the
middle), the clinician reviews it, and the "before your first session" guide opens offline."""

import re

import pytest
from playwright.sync_api import expect
from playwright.sync_api import Page

from aftercare.models import Intake
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker
from tests.browser.test_invite import choose_password

pytestmark = pytest.mark.browser

NO = "No"
HEALTH = [
    ("Have you ever been told you have high blood pressure?", "Yes"),
    ("Do you take medicine for your blood pressure?", NO),  # shown once the answer above is Yes
    ("Do you have heart disease", NO),
    ("Have you had a stroke", NO),
    ("raised pressure in your eyes", NO),
    ("Do you have liver disease?", NO),
    ("Have you ever had a seizure", NO),
    ("Do you have bladder problems", NO),
    ("Do you have sleep apnoea", NO),
]
# Answered offline.
LATER = [
    ("Are you pregnant, or could you be?", NO),
    ("Are you trying to get pregnant?", NO),
    ("Are you breastfeeding?", NO),
    ("psychosis", NO),
    ("mania", NO),
    ("dissociative disorder", NO),
    ("eating disorder", NO),
    ("stayed in hospital", NO),
    ("thoughts of ending your life at the moment", NO),
    ("Have you ever tried to end your life?", "Yes"),
]
# Answered on the second visit.
LAST = [
    ("How often do you have a drink containing alcohol?", "Never"),
    ("Your sex at birth", "Prefer not to say"),
    ("How often do you use cannabis?", "Never"),
    ("How often do you use stimulants", "Never"),
    ("Have you taken ketamine", NO),
    ("bad reaction to an anaesthetic", NO),
]


def answer(page: Page, pairs):
    for question, label in pairs:
        page.get_by_role("group", name=re.compile(re.escape(question))).get_by_label(label, exact=True).check()


def test_a_new_patient_answers_the_intake_over_two_visits_and_reads_the_guide_offline(
    phone, desktop, seed, live_server
):
    clinician = seed.clinician(name="Dana Reyes")
    seed.ensure_admin()
    invite, token, _ = seed.invite(clinician, name="Mara Quinn", email="mara@example.org")

    # Joining: the patient's phone.
    phone.goto(f"/join/{token}")
    choose_password(phone)
    phone.get_by_label(re.compile("I have read what my care team will see")).check()
    phone.get_by_role("button", name="Create my account").click()
    expect(phone).to_have_url(re.compile(r"/home$"))
    card = phone.get_by_role("region", name="Health questions before your first session")
    expect(card).to_be_visible()
    card.get_by_role("link", name="Start").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Health questions before treatment")
    # "Do you take medicine for your blood pressure?" waits until the first answer is Yes.
    treated = phone.get_by_role("group", name=re.compile("Do you take medicine for your blood pressure"))
    expect(treated).to_be_hidden()
    check_a11y(phone, "intake")

    # First visit, online: the health section, saved as a draft as it is answered.
    answer(phone, HEALTH[:1])
    expect(treated).to_be_visible()
    answer(phone, HEALTH[1:])
    phone.get_by_label("Weight").fill("154")
    phone.get_by_label("Unit").select_option("lb")
    phone.get_by_label("Feet and inches").check()
    phone.get_by_label("Feet", exact=True).fill("5")
    phone.get_by_label("Inches", exact=True).fill("9")
    expect(phone.locator("[data-intake-status]")).to_have_text("Saved.")

    # The connection drops: the next answers stay on the phone.
    wait_for_service_worker(phone)
    phone.context.set_offline(True)
    answer(phone, LATER)
    expect(phone.locator("[data-intake-status]")).to_contain_text("Saved on this phone")
    with live_server.database.connection_context():
        draft = Intake.get()
        assert draft.status == "draft" and "attempt_past" not in draft.answer_dict
        assert (draft.answer_dict["weight"], draft.answer_dict["height"]) == (69.9, 175.3)
    phone.goto("/home")  # leaving, still offline
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")

    # Second visit, online again: the answers kept on the phone come back and are sent.
    page = phone
    page.context.set_offline(False)
    page.goto("/intake")
    expect(page.locator("[data-intake-status]")).to_contain_text(re.compile("back in the form|Saved"))
    expect(
        page.get_by_role("group", name=re.compile("Have you ever tried to end your life")).get_by_label(
            "Yes", exact=True
        )
    ).to_be_checked()
    answer(page, LAST)
    page.get_by_label(re.compile("Who will take you home")).fill("My brother, Sam")
    page.get_by_role("button", name="Send to my clinic").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Health questions before treatment")
    expect(page.locator("main")).to_contain_text("Your clinic received your answers")
    check_a11y(page, "intake-sent")
    with live_server.database.connection_context():
        sent = Intake.get()
        assert sent.status == "submitted"
        assert (sent.answer_dict["attempt_past"], sent.answer_dict["pregnant"], sent.answer_dict["driver"]) == (
            "yes",
            "no",
            "My brother, Sam",
        )

    # The clinician: the panel says the intake waits, and the review records who and what.
    sign_in(desktop, clinician)
    desktop.goto("/clinician/")
    row = desktop.get_by_role("row", name=re.compile("Mara Quinn"))
    expect(row).to_contain_text("Intake to review")
    row.get_by_role("link", name="Mara Quinn").click()
    desktop.get_by_role("link", name="Intake screening").click()
    expect(desktop.get_by_role("heading", level=2, name="Needs your eye (2)")).to_be_visible()
    expect(desktop.locator("main")).to_contain_text("Past suicide attempt: review before the first session")
    expect(desktop.locator("main")).to_contain_text("69.9 kg (entered as 154 lb)")
    check_a11y(desktop, "intake-review")
    desktop.get_by_label(re.compile("Your note")).fill("Spoke with Mara; BP to be checked on the day.")
    desktop.get_by_role("button", name="Mark as reviewed").click()
    expect(desktop.locator("main")).to_contain_text("Reviewed by Dana Reyes")
    with live_server.database.connection_context():
        assert Intake.get().status == "reviewed"

    # Back on the patient's phone: reviewed, and Today offers the guide for before the first session.
    page.goto("/intake")
    expect(page.locator("main")).to_contain_text("reviewed them on")
    page.goto("/home")
    page.get_by_role("link", name=re.compile("Before your first session")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Before your first session")
    check_a11y(page, "guide")
    wait_for_service_worker(page)
    cached = page.evaluate("async () => (await caches.keys()).length")
    assert cached >= 1
    page.wait_for_function(
        """async () => {
            for (const name of await caches.keys()) {
                if (await (await caches.open(name)).match('/guides/before-your-first-session', {ignoreVary: true})) return true;
            }
            return false;
        }""",
        timeout=10_000,
    )
    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Before your first session")
    page.goto("/guides")
    expect(page.get_by_role("heading", level=1)).to_have_text("What to expect")
    page.context.set_offline(False)
