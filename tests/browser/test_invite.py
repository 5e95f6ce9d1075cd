"""A patient joins by invite: the clinician creates it, the patient opens it on their phone."""

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

ZONE = "America/Chicago"


def check_zone_prefilled(page):
    """The zone comes from the device (context timezone_id). Checked softly, so the rest of the
    flow still runs; then the patient confirms it, as the form asks them to."""
    zone = page.get_by_label("Your time zone")
    expect.soft(zone, "time zone select pre-filled from the browser").to_have_value(ZONE, timeout=1500)
    zone.select_option(ZONE)


def choose_password(page, password=factories.PASSWORD):
    page.get_by_label("New password").fill(password)
    page.get_by_label("Type it again").fill(password)


def test_clinician_invites_and_patient_joins_by_link(phone, phone_context, seed):
    clinician = seed.clinician(name="Dana Reyes")
    sign_in(phone, clinician)

    phone.get_by_role("link", name="Invite a patient").first.click()
    expect(phone).to_have_url(re.compile(r"/clinician/invite$"))
    check_a11y(phone, "invite")
    phone.get_by_label("Patient's name").fill("Jordan Blake")
    phone.get_by_label("Email").fill("jordan.blake@example.org")
    phone.get_by_role("button", name="Create invite").click()

    expect(phone.get_by_role("heading", level=1)).to_have_text("Invite ready for Jordan Blake")
    link = phone.locator("#invite-link").inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/join/[\w-]{20,}", link), link
    expect(phone.locator("#invite-code")).to_have_text(re.compile(r"^\s*[A-Z0-9]{5}-[A-Z0-9]{5}\s*$"))
    check_a11y(phone, "invite-ready")

    # The patient, on their own phone in Chicago.
    patient_page = phone_context(timezone_id=ZONE).new_page()
    patient_page.goto(link)
    expect(patient_page).to_have_url(re.compile(r"/join/accept$"))  # the token leaves the address bar
    expect(patient_page.get_by_role("heading", level=1)).to_have_text("Welcome, Jordan Blake")
    check_zone_prefilled(patient_page)
    check_a11y(patient_page, "accept")

    choose_password(patient_page)
    patient_page.get_by_label(re.compile("I have read what my care team will see")).check()
    patient_page.get_by_role("button", name="Create my account").click()

    expect(patient_page).to_have_url(re.compile(r"/home$"))
    expect(patient_page).to_have_title(re.compile(r"^Today"))
    expect.soft(patient_page.locator(".flashes"), "welcome message after joining").to_contain_text(
        "Welcome", timeout=1500
    )
    expect(patient_page.locator("main")).to_contain_text("Dana Reyes")
    # Used up: the link no longer works.
    again = patient_page.request.get(link, max_redirects=0)
    assert again.status == 404, again.status

    # Back on the clinician's side: the new patient is in the panel (nothing logged yet),
    # and their record carries the zone they confirmed.
    phone.goto("/clinician/")
    row = phone.get_by_role("row", name=re.compile("Jordan Blake"))
    expect(row).to_contain_text("Nothing yet (joined today)")
    expect(row).not_to_contain_text("Quiet 5+ days")  # five days from joining, not from nothing
    phone.get_by_role("link", name="Jordan Blake").click()
    expect(phone).to_have_url(re.compile(r"/clinician/patients/\d+$"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Jordan Blake")
    expect(phone.locator("main")).to_contain_text(ZONE.replace("_", " "))
    check_a11y(phone, "clinician-patient")


def test_patient_joins_with_a_code_and_must_consent(phone_context, seed):
    clinician = seed.clinician()
    _, _, code = seed.invite(clinician, name="Priya Nair")
    page = phone_context(timezone_id=ZONE).new_page()

    page.goto("/join")
    check_a11y(page, "join")
    page.get_by_label("Invite code").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/join/accept$"))
    check_zone_prefilled(page)
    choose_password(page)
    page.get_by_role("button", name="Create my account").click()

    # Without consent the form comes back, with the error tied to the checkbox.
    consent = page.get_by_label(re.compile("I have read what my care team will see"))
    expect(page.locator("#consent-error")).to_contain_text("tick the box")
    expect(consent).to_have_attribute("aria-invalid", "true")
    check_a11y(page, "accept-error")

    choose_password(page)
    consent.check()
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/home$"))


def test_wrong_invite_code_is_refused(phone, seed):
    phone.goto("/join")
    phone.get_by_label("Invite code").fill("ABCDE-FGHJK")
    phone.get_by_role("button", name="Continue").click()

    expect(phone).to_have_url(re.compile(r"/join$"))
    expect(phone.locator("#code-error")).to_contain_text("not valid")
    check_a11y(phone, "join-error")
