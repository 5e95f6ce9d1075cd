"""First run: on an empty database the app asks for its administrator, then two-step enrolment."""

import re

import pyotp
import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import check_a11y
from tests.browser.conftest import enter_code
from tests.browser.conftest import submit_password

pytestmark = pytest.mark.browser


def test_first_run_creates_the_administrator(phone, empty_server):
    base = empty_server.url

    phone.goto(f"{base}/")
    expect(phone).to_have_url(f"{base}/setup")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Welcome to aftercare")
    check_a11y(phone, "setup")

    phone.get_by_label("Your name").fill("Alex Admin")
    phone.get_by_label("Email").fill("alex@clinic.example")
    phone.get_by_label("New password").fill(factories.PASSWORD)
    phone.get_by_label("Type it again").fill(factories.PASSWORD)
    phone.get_by_role("button", name="Create administrator").click()

    expect(phone).to_have_url(f"{base}/login")
    expect(phone.locator(".flashes")).to_contain_text("administrator account is ready")
    # Setup is a one-time page.
    response = phone.request.get(f"{base}/setup", max_redirects=0)
    assert response.status == 404, response.status

    submit_password(phone, "alex@clinic.example", base=base)
    expect(phone).to_have_url(re.compile(r"/login/two-step"))
    secret = phone.locator("#totp-secret").inner_text().strip()
    enter_code(phone, pyotp.TOTP(secret).now(), "Turn on two-step verification")

    expect(phone.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    phone.get_by_role("link", name="I have saved them").click()
    expect(phone).to_have_url(f"{base}/admin/")
    expect(phone.locator("main")).to_contain_text("alex@clinic.example")
