"""PCL-5 and PEG in the browser: a PTSD patient's questionnaire, chart and cut-off, and the clinician's column."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from aftercare.models import CheckIn
from aftercare.models import utcnow
from tests import factories
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_ptsd_patient_answers_the_pcl5_and_sees_it_against_the_cut_off(phone, desktop, seed):
    clinician = seed.clinician(name="Dr Ada Rivers")
    veteran = seed.patient(clinician, name="Marcus Reed", measures="phq9,pcl5")
    other = seed.patient(clinician, name="Maya Chen")
    sign_in(phone, veteran)

    tiles = phone.locator("a.tile")
    expect(tiles.filter(has_text="(PCL-5)")).to_have_count(1)
    expect(tiles.filter(has_text="(GAD-7)")).to_have_count(0)
    tiles.filter(has_text="Stress and trauma questionnaire (PCL-5)").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("PCL-5")
    notice = phone.get_by_role("complementary", name="Before you start")
    expect(notice).to_contain_text("very stressful experience")
    expect(notice.get_by_role("link", name="Crisis help, any time")).to_have_attribute("href", "/crisis")
    check_a11y(phone, "pcl5")
    for n in range(1, 21):
        phone.locator(f"input[name=q{n}][value='2']").check()
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(phone.locator("main")).to_contain_text("40 out of 80")
    with seed.database.connection_context():
        stored = CheckIn.get(CheckIn.patient == veteran.id, CheckIn.instrument == "pcl5")
    assert (stored.total, stored.band) == (40, "provisional PTSD")

    phone.goto("/history")
    chart = phone.locator("section", has=phone.get_by_role("heading", name="Stress and trauma questionnaire (PCL-5)"))
    expect(chart.locator("svg line.chart-cutoff")).to_have_count(1)
    expect(chart.locator("svg text.chart-cutoff-label")).to_have_text("PTSD cut-off (33)")
    expect(chart).to_contain_text("40 (at or above the cut-off)")
    expect(phone.get_by_role("heading", name="Anxiety questionnaire (GAD-7)")).to_have_count(0)
    check_a11y(phone, "history-pcl5")

    sign_in(desktop, clinician)
    panel = desktop.get_by_role("table")
    expect(panel.get_by_role("columnheader", name="PCL-5", exact=True)).to_have_count(1)
    expect(panel.get_by_role("row", name="Marcus Reed")).to_contain_text("40 · provisional PTSD")
    expect(panel.get_by_role("row", name=other.name)).to_contain_text("Not asked")
    check_a11y(desktop, "panel-pcl5")


def test_a_pain_patient_taps_numbers_for_the_peg(phone, seed):
    patient = seed.patient(seed.clinician(), name="Elena Silva", measures="phq9,peg")
    sign_in(phone, patient)
    phone.locator("a.tile", has_text="Pain questionnaire (PEG)").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("PEG")
    first = phone.get_by_role("group", name="1. What number best describes your pain on average in the past week?")
    expect(first.get_by_role("radio")).to_have_count(11)
    box = first.locator("label.choice").first.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44  # a thumb's target
    check_a11y(phone, "peg")
    for n, value in ((1, "7"), (2, "5"), (3, "6")):
        phone.locator(f"label.choice:has(input[name=q{n}][value='{value}'])").click()
    phone.get_by_role("button", name="Send my answers").click()
    expect(phone.locator("main")).to_contain_text("6.0 out of 10.0")


@pytest.mark.parametrize(
    "size", [{"width": 1280, "height": 900}, {"width": 820, "height": 1180}], ids=["desktop", "tablet"]
)
def test_the_clinician_reads_the_patients_story_as_a_picture(new_context, seed, size):
    clinician = seed.clinician(name="Dr Ada Rivers")
    patient = seed.patient(clinician, name="Marcus Reed", measures="phq9,pcl5")
    with seed.database.connection_context():
        for days_ago, total in ((20, 15), (6, 9)):
            factories.make_phq9(patient, total, days_ago=days_ago)
        factories.make_checkin(patient, "pcl5", [3] * 10 + [2] * 10, days_ago=6)
        for days_ago, score in ((5, 4), (3, 6), (1, 7)):
            factories.make_mood(patient, score, recorded_at=utcnow() - dt.timedelta(days=days_ago))
    page = new_context(viewport=size).new_page()
    sign_in(page, clinician)
    page.get_by_role("link", name="Marcus Reed").click()
    timeline = page.locator("section.timeline")
    expect(timeline.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(timeline.get_by_role("img")).to_have_count(3)  # mood, PHQ-9, PCL-5
    expect(timeline.locator("line.chart-cutoff")).to_have_count(1)
    expect(timeline).to_contain_text("their average mood was")
    timeline.get_by_role("link", name="90 days").click()
    expect(page.get_by_role("navigation", name="Timeline range").get_by_role("link", name="90 days")).to_have_attribute(
        "aria-current", "page"
    )
    check_a11y(page, f"record-timeline-{size['width']}")
