"""Every remaining page through axe-core: public pages on a phone, staff pages on a desktop."""

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_a11y
from tests.browser.conftest import enter_code
from tests.browser.conftest import sign_in
from tests.browser.conftest import submit_password

pytestmark = pytest.mark.browser


def test_public_pages_on_a_phone(phone, seed):
    phone.goto("/crisis")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Help right now")
    expect(phone.get_by_role("link", name=re.compile("988"))).not_to_have_count(0)
    check_a11y(phone, "crisis")

    phone.goto("/install")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("home screen")
    check_a11y(phone, "install")

    phone.goto("/offline")
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    check_a11y(phone, "offline-online")


def test_skip_link_is_the_first_stop_and_reaches_main(phone, seed):
    phone.goto("/crisis")  # no autofocus field on this page
    phone.keyboard.press("Tab")
    skip = phone.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"#main$"))


def test_clinician_pages_on_a_desktop(desktop, seed):
    clinician = seed.clinician(totp=False)
    patient = seed.patient(clinician, name="Grace Kim")

    desktop.goto("/login")
    check_a11y(desktop, "login")
    submit_password(desktop, clinician.email)
    expect(desktop).to_have_url(re.compile(r"/login/two-step"))
    check_a11y(desktop, "two-step-enrol")
    secret = desktop.locator("#totp-secret").inner_text().strip()
    enter_code(desktop, pyotp.TOTP(secret).now(), "Turn on two-step verification")
    expect(desktop.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    check_a11y(desktop, "recovery-codes")
    desktop.get_by_role("link", name="I have saved them").click()

    expect(desktop).to_have_url(re.compile(r"/clinician/$"))
    expect(desktop.get_by_role("link", name="Grace Kim")).to_be_visible()
    check_a11y(desktop, "clinician-panel")

    desktop.get_by_role("link", name="Grace Kim").click()
    expect(desktop).to_have_url(re.compile(rf"/clinician/patients/{patient.id}$"))
    check_a11y(desktop, "clinician-patient")

    desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    desktop.get_by_role("main").get_by_role("link", name="Invite a patient").click()
    check_a11y(desktop, "invite")
    desktop.get_by_label("Patient's name").fill("Ola Nowak")
    desktop.get_by_label("Email").fill("ola.nowak@example.org")
    desktop.get_by_role("button", name="Create invite").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Invite ready for Ola Nowak")
    check_a11y(desktop, "invite-ready")

    desktop.get_by_role("link", name="Back to your patients").click()
    expect(desktop.locator("#pending-heading")).to_be_visible()
    expect(desktop.locator("main")).to_contain_text("Ola Nowak")
    check_a11y(desktop, "clinician-panel-pending")

    desktop.get_by_role("link", name="My account", exact=True).click()
    check_a11y(desktop, "account")

    desktop.get_by_role("navigation", name="Main").get_by_role("link", name="Practices").click()
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Integration practices")
    check_a11y(desktop, "practices")
    desktop.get_by_role("link", name="New practice").click()
    desktop.get_by_label("Title").fill("Drive to the coast")
    desktop.get_by_label("What the patient is asked to do").fill("Watch the waves for a while.")
    desktop.get_by_label("The session day").check()
    desktop.get_by_role("button", name="Add to the library").click()
    expect(desktop.locator("#description-error")).to_contain_text("must not drive")
    check_a11y(desktop, "practice-refused")
    desktop.get_by_label("The session day").uncheck()
    desktop.get_by_label("The day after").uncheck()
    desktop.get_by_role("button", name="Add to the library").click()
    expect(desktop.locator(".flashes")).to_contain_text("Added “Drive to the coast” to the library.")
    added = desktop.locator(".practice-card", has_text="Drive to the coast")
    expect(added).to_contain_text("Offered on: Two days after, three days after")
    expect(added).to_be_in_viewport()  # the page lands on the practice just added


def test_admin_pages_on_a_desktop(desktop, seed):
    admin = seed.admin()

    sign_in(desktop, admin, check=True)
    check_a11y(desktop, "admin-accounts")

    desktop.get_by_role("link", name="Clinic settings").click()
    expect(desktop).to_have_url(re.compile(r"/admin/settings$"))
    check_a11y(desktop, "admin-settings")

    desktop.get_by_role("link", name="Audit log").click()
    expect(desktop).to_have_url(re.compile(r"/admin/audit$"))
    check_a11y(desktop, "admin-audit")
