"""The cohort page in Chromium at desktop and tablet sizes: pictures with their tables, axe-core clean."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from aftercare.journey import scheduling
from aftercare.models import utcnow
from tests import factories
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SIZES = [{"width": 1280, "height": 900}, {"width": 820, "height": 1180}]


def seed_cohort(seed, clinician, count=6):
    """Patients a fortnight into their series, with a PHQ-9 before it and mood after each session."""
    now = utcnow().replace(microsecond=0)
    with seed.database.connection_context():
        music = factories.make_playlist("Evening drone")
        for n in range(count):
            patient = factories.make_patient(clinician, name=f"Cohort Patient {n}")
            factories.make_phq9(patient, 16 + n % 3, days_ago=20)
            for k in range(6):
                started = now - dt.timedelta(days=18 - 3 * k)
                factories.make_session(patient, starts_at=started, playlist=music)
            scheduling.series_changed(patient)
            for hours in (2, 20, 40, 60, 100):
                factories.make_mood(patient, 4 + (hours + n) % 5, recorded_at=now - dt.timedelta(days=18, hours=-hours))
            factories.make_phq9(patient, 8 + n % 4, days_ago=1)


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "tablet"])
def test_a_clinician_reads_the_cohort(new_context, seed, size):
    seed.admin()
    clinician = seed.clinician(name="Dr Ada Rivers")
    seed_cohort(seed, clinician)
    page = new_context(viewport=size).new_page()
    sign_in(page, clinician)
    page.get_by_role("link", name="Cohort", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cohort")
    expect(page.locator("main")).to_contain_text("6 patients in your care")
    expect(page.get_by_role("img")).to_have_count(3)
    window = page.locator("section", has=page.get_by_role("heading", name="When in the window do patients feel best?"))
    window.get_by_text("Show the numbers").click()
    expect(window.get_by_role("row")).to_have_count(7)  # a header and six buckets
    rates = page.locator("section", has=page.get_by_role("heading", name="Response and remission on the PHQ-9"))
    expect(rates.get_by_role("row", name="After session 6")).to_contain_text("6")
    check_a11y(page, f"cohort-{size['width']}")
    # A range that ends before it starts: told so, nothing else shown.
    page.get_by_label("From").fill("2026-05-01")
    page.get_by_label("To").fill("2026-04-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("The range ends before it starts.")).to_be_visible()
    expect(page.get_by_role("img")).to_have_count(0)
    check_a11y(page, f"cohort-bad-range-{size['width']}")


def test_an_admin_sees_the_clinics_figures_without_names(new_context, seed):
    admin = seed.admin()
    seed_cohort(seed, seed.clinician(name="Dr Ada Rivers"))
    page = new_context(viewport=SIZES[0]).new_page()
    sign_in(page, admin)
    page.get_by_role("link", name="Clinic figures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinic figures")
    expect(page.get_by_label("From (month)")).to_have_attribute("type", "month")
    expect(page.get_by_role("img")).to_have_count(3)
    expect(page.locator("main")).not_to_contain_text("Cohort Patient")
    check_a11y(page, "admin-cohort")
