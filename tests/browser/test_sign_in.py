"""Signing in at phone size as each role, and enrolling two-step verification."""

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_a11y
from tests.browser.conftest import enter_code
from tests.browser.conftest import expect_current_page
from tests.browser.conftest import sign_in
from tests.browser.conftest import submit_password

pytestmark = pytest.mark.browser


def test_patient_signs_in_to_today(phone, seed):
    clinician = seed.clinician(name="Dana Reyes")
    patient = seed.patient(clinician)

    sign_in(phone, patient, check=True)

    expect(phone).to_have_title(re.compile(r"^Today"))
    expect_current_page(phone, "/home")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Patient")
    expect(phone.locator("main")).to_contain_text("Dana Reyes")
    check_a11y(phone, "patient-home")

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="More").click()
    expect(phone).to_have_url(re.compile(r"/more$"))
    check_a11y(phone, "patient-more")
    phone.get_by_role("link", name=re.compile("^My account")).click()
    expect(phone).to_have_url(re.compile(r"/account$"))
    check_a11y(phone, "account")

    phone.get_by_role("link", name=re.compile("^Reminders and quiet hours")).click()
    expect(phone).to_have_url(re.compile(r"/settings$"))
    check_a11y(phone, "patient-settings")

    phone.get_by_role("link", name="History", exact=True).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your history")
    check_a11y(phone, "patient-history")

    phone.goto("/my-data/")
    check_a11y(phone, "my-data")


def test_clinician_signs_in_with_a_code(phone, seed):
    clinician = seed.clinician()

    sign_in(phone, clinician, check=True)

    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    expect_current_page(phone, "/clinician/")
    check_a11y(phone, "clinician-panel")


def test_admin_signs_in_and_sees_accounts_settings_audit(phone, seed):
    admin = seed.admin()

    sign_in(phone, admin)
    expect_current_page(phone, "/admin/")
    expect(phone.locator("main")).to_contain_text(admin.email)
    check_a11y(phone, "admin-accounts")

    phone.get_by_role("link", name="Clinic settings").click()
    expect(phone).to_have_url(re.compile(r"/admin/settings$"))
    expect(phone.locator("main")).to_contain_text("988")
    check_a11y(phone, "admin-settings")

    phone.get_by_role("link", name="Audit log").click()
    expect(phone).to_have_url(re.compile(r"/admin/audit$"))
    expect(phone.locator("main")).to_contain_text("Signed in")
    check_a11y(phone, "admin-audit")


def test_wrong_password_is_refused_accessibly(phone, seed):
    patient = seed.patient()

    submit_password(phone, patient.email, "not the right password")

    expect(phone).to_have_url(re.compile(r"/login$"))
    error = phone.locator(".error")
    expect(error).to_contain_text("do not match")
    expect(phone.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    check_a11y(phone, "login-error")


def test_wrong_code_is_refused(phone, seed):
    clinician = seed.clinician()

    submit_password(phone, clinician.email)
    expect(phone).to_have_url(re.compile(r"/login/verify"))
    enter_code(phone, "000000", "Continue")

    expect(phone).to_have_url(re.compile(r"/login/verify"))
    expect(phone.locator(".error")).to_contain_text("did not work")
    check_a11y(phone, "verify-error")


def test_staff_without_two_step_enrols_on_first_sign_in(phone, seed):
    clinician = seed.clinician(totp=False)

    submit_password(phone, clinician.email)

    expect(phone).to_have_url(re.compile(r"/login/two-step"))
    expect(phone.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret = phone.locator("#totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    check_a11y(phone, "two-step-enrol")

    enter_code(phone, pyotp.TOTP(secret).now(), "Turn on two-step verification")

    expect(phone.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = phone.locator("#recovery-codes").inner_text().split()
    assert len(codes) >= 8 and len(set(codes)) == len(codes), codes
    check_a11y(phone, "recovery-codes")

    phone.get_by_role("link", name="I have saved them").click()
    expect(phone).to_have_url(re.compile(r"/clinician/$"))


def test_sign_out_ends_the_session(phone, seed):
    patient = seed.patient()
    sign_in(phone, patient)

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="More").click()
    phone.get_by_role("button", name="Sign out").click()

    expect(phone).to_have_url(re.compile(r"/login$"))
    expect(phone.locator(".flashes")).to_contain_text("signed out")
    phone.goto("/home")
    expect(phone).to_have_url(re.compile(r"/login"))
