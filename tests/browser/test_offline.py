"""The service worker: it controls the app, keeps crisis help available offline, never caches health data."""

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import cached_urls
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker

pytestmark = pytest.mark.browser

# Pages that carry someone's data: none may ever be in Cache Storage.
PRIVATE_PREFIXES = ("/home", "/settings", "/account", "/clinician", "/admin", "/join", "/login", "/reset", "/setup")


def cached_paths(page) -> set[str]:
    return {urlparse(url).path for url in cached_urls(page)}


def assert_nothing_private_cached(page):
    private = sorted(p for p in cached_paths(page) if p == "/" or p.startswith(PRIVATE_PREFIXES))
    assert not private, f"authenticated or personal pages in Cache Storage: {private}"


def test_patient_offline_sees_offline_page_with_crisis_help(phone, seed):
    patient = seed.patient(name="Maya Chen")
    sign_in(phone, patient)
    assert wait_for_service_worker(phone) == "activated"
    paths = cached_paths(phone)
    assert {"/offline", "/crisis"} <= paths, paths
    assert_nothing_private_cached(phone)

    phone.context.set_offline(True)
    phone.reload()

    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(phone.locator("main")).to_contain_text("988")
    # Precached without cookies: nothing about who is signed in.
    expect(phone.locator("body")).not_to_contain_text("Maya")
    expect(phone.get_by_role("button", name="Sign out")).to_have_count(0)
    check_a11y(phone, "offline")

    phone.get_by_role("link", name="Help now").click()
    expect(phone).to_have_url(re.compile(r"/crisis$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Help right now")
    expect(phone.locator("main")).to_contain_text("988")

    # Another app page, typed in while offline, gets the offline page too.
    phone.goto("/settings")
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")

    phone.context.set_offline(False)
    phone.goto("/home")
    expect(phone).to_have_title(re.compile(r"^Today"))
    assert_nothing_private_cached(phone)


def test_crisis_help_and_the_guides_open_offline_from_a_fresh_visit(phone, seed):
    phone.goto("/login")
    wait_for_service_worker(phone)

    phone.context.set_offline(True)
    phone.goto("/crisis")

    expect(phone.get_by_role("heading", level=1)).to_have_text("Help right now")
    expect(phone.locator("main")).to_contain_text("988")
    check_a11y(phone, "crisis-offline")

    # The guides came with the install, so one never opened reads offline, under the site's policy.
    response = phone.goto("/guides/the-first-24-hours")
    expect(phone.get_by_role("heading", level=1)).to_have_text("The first 24 hours")
    expect(phone.locator("main")).to_contain_text("Do not drive")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    check_a11y(phone, "guide-offline")


def test_clinician_pages_are_never_cached(phone, seed):
    clinician = seed.clinician()
    seed.patient(clinician, name="Luis Ortega")
    sign_in(phone, clinician)
    wait_for_service_worker(phone)

    phone.get_by_role("link", name="Luis Ortega").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Luis Ortega")
    phone.goto("/account")
    phone.goto("/clinician/")

    assert_nothing_private_cached(phone)
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    expect(phone.locator("body")).not_to_contain_text("Luis Ortega")
