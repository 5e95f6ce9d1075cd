"""The clinician's panel in Chromium at desktop and tablet sizes: who needs attention, filtered, found, paged."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from aftercare.clinician.panel import PAGE_SIZE
from aftercare.models import utcnow
from tests import factories
from tests.browser.conftest import check_a11y
from tests.browser.conftest import SCREENSHOTS
from tests.browser.conftest import sign_in
from tests.browser.test_cohort import seed_cohort

pytestmark = pytest.mark.browser
SIZES = [{"width": 1280, "height": 900}, {"width": 820, "height": 1180}]


def seed_panel(seed, clinician):
    """Fifty-three patients: one with an open alert, one quiet for a week, one whose mood fell; the rest well."""
    today = utcnow().date()
    with seed.database.connection_context():
        for n in range(PAGE_SIZE):
            patient = factories.make_patient(clinician, name=f"Well Patient {n:02d}")
            factories.make_mood_day(patient, today, 7)
        factories.make_phq9(factories.make_patient(clinician, name="Alex Alert"), 14, item9=1)
        quiet = factories.make_patient(clinician, name="Quinn Quiet")
        factories.make_mood_day(quiet, today - dt.timedelta(days=7), 6)
        fell = factories.make_patient(clinician, name="Fran Fell")
        for days_ago, score in ((4, 8), (3, 8), (2, 7), (0, 3)):
            day = today - dt.timedelta(days=days_ago)
            factories.make_mood_day(fell, day, score)


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "tablet"])
def test_a_clinician_sees_who_needs_attention_first(new_context, seed, size):
    seed.admin()
    clinician = seed.clinician(name="Dr Ada Rivers")
    seed_panel(seed, clinician)
    page = new_context(viewport=size).new_page()
    sign_in(page, clinician)
    rows = page.locator("table.panel tbody tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(rows.nth(0)).to_contain_text("Alex Alert")
    expect(rows.nth(0)).to_contain_text("Open alert")
    expect(rows.nth(1)).to_contain_text("Fran Fell")
    expect(rows.nth(1)).to_contain_text("Mood drop −4.7")
    expect(rows.nth(2)).to_contain_text("Quinn Quiet")
    expect(rows.nth(2)).to_contain_text("No data since")
    expect(page.get_by_text("Page 1 of 2 · patients 1–50 of 53")).to_be_visible()
    check_a11y(page, f"panel-{size['width']}")

    page.get_by_role("link", name="Next →").click()
    expect(rows).to_have_count(3)

    page.get_by_role("navigation", name="Show patients by what needs attention").get_by_role(
        "link", name="Quiet 5+ days"
    ).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Quinn Quiet")
    check_a11y(page, f"panel-quiet-{size['width']}")

    page.get_by_label("Find a patient by name").fill("fran")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("status")).to_contain_text("1 patient whose name contains “fran”")
    expect(rows).to_have_count(1)
    assert "fran" not in page.url.lower()
    check_a11y(page, f"panel-search-{size['width']}")


def test_the_record_prints_as_a_one_page_summary(new_context, seed):
    """A patient with a series, scores, mood, an acknowledged and an open alert, journal and messages: one A4 page."""
    seed.admin()
    clinician = seed.clinician(name="Dr Ada Rivers")
    seed_cohort(seed, clinician, count=1)
    with seed.database.connection_context():
        [patient] = clinician.patients()
        factories.make_alert(patient, detail="Crisis language in a mood note")
        factories.make_entry(patient, "A long reflection. " * 40, shared=True)
    page = new_context(viewport=SIZES[0]).new_page()
    sign_in(page, clinician)
    page.get_by_role("link", name="Cohort Patient 0").click()
    expect(page.get_by_role("button", name="Print a one-page summary")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_text("Confidential health information")).to_be_visible()
    expect(page.get_by_role("heading", name="Reminders and messages")).to_be_hidden()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.get_by_text("Crisis language in a mood note")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "record-print.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=False)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
