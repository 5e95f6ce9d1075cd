"""Integration circles on a phone and at the facilitator's desk: a patient finds the clinic's circle, joins
under a name they choose, posts (the first post waits), the facilitator approves it, and the patient
reports another member's post, which reaches the facilitator. axe-core on every page."""

import re

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_a_patient_joins_a_circle_posts_and_reports_and_the_facilitator_keeps_the_board(
    phone, desktop, seed, live_server
):
    facilitator = seed.clinician(name="Dana Reyes")
    patient = seed.patient(facilitator, name="Maya Chen")
    other = seed.patient(facilitator, name="Jordan Blake")
    with live_server.database.connection_context():
        circle = factories.make_circle(facilitator, title="Thursday evening circle", capacity=8)
        factories.make_meeting(circle, facilitator, days=3)
        factories.join_circle(circle, other, "JB", trusted=True)
        factories.make_post(circle, other, "A walk every day this week. By Friday I noticed the birds.")

    # The patient finds the circle from More.
    sign_in(phone, patient)
    phone.get_by_role("link", name="More").last.click()
    phone.get_by_role("link", name=re.compile("Integration circles")).click()
    check_a11y(phone, "circles")
    phone.get_by_role("link", name=re.compile("Thursday evening circle")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thursday evening circle")
    expect(phone.get_by_text("noticed the birds")).to_have_count(0)  # the board is for members
    check_a11y(phone, "circle-join")

    # Their real name is refused unless they say so; a name of their own is taken.
    phone.get_by_label("Your name in this circle").fill("Maya")
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("This is your own name")).to_be_visible()
    phone.get_by_label("Your name in this circle").fill("Sky")
    phone.get_by_role("button", name="Join").click()
    expect(phone.get_by_text("You joined Thursday evening circle as Sky")).to_be_visible()
    expect(phone.get_by_role("heading", name="You are in this circle")).to_be_visible()
    expect(phone.get_by_text("noticed the birds")).to_be_visible()

    # The first post waits for the facilitator.
    phone.get_by_label("Write to the circle").fill("Hello everyone. Is it okay to just listen at first?")
    phone.get_by_role("button", name="Post", exact=True).click()
    expect(phone.get_by_text("Your first posts wait for the facilitator")).to_be_visible()
    mine = phone.get_by_role("article", name=re.compile("Post from Sky"))
    expect(mine.get_by_text("Waiting for the facilitator")).to_be_visible()
    check_a11y(phone, "circle-member")

    # The facilitator approves it.
    sign_in(desktop, facilitator)
    desktop.get_by_role("link", name="Circles").click()
    check_a11y(desktop, "staff-circles")
    expect(desktop.get_by_text("1 to look at")).to_be_visible()
    desktop.get_by_role("link", name="Thursday evening circle").click()
    expect(desktop.get_by_role("heading", name="Waiting for you")).to_be_visible()
    check_a11y(desktop, "circle-manage")
    waiting = desktop.get_by_role("article", name=re.compile("Post from Sky"))
    waiting.get_by_role("button", name=re.compile("Approve")).click()
    expect(desktop.get_by_text("The post is on the board")).to_be_visible()

    phone.reload()
    expect(mine.get_by_text("just listen")).to_be_visible()
    expect(mine.get_by_text("Waiting for the facilitator")).to_have_count(0)

    # The patient reports another member's post; the facilitator sees the report.
    theirs = phone.get_by_role("article", name=re.compile("Post from JB"))
    theirs.get_by_text("Report").click()
    theirs.get_by_label(re.compile("What is wrong with it")).fill("Testing the report button")
    theirs.get_by_role("button", name="Send to the facilitator").click()
    expect(phone.get_by_text("The facilitator will look at this post")).to_be_visible()
    expect(phone).to_have_url(re.compile(rf"/circles/{circle.id}$"))

    desktop.reload()
    expect(desktop.get_by_text("Reported 1 time")).to_be_visible()
    expect(desktop.get_by_text("Testing the report button")).to_be_visible()
    desktop.get_by_role("button", name=re.compile("Leave it up")).click()
    expect(desktop.get_by_text("the post stays on the board")).to_be_visible()
    expect(desktop.get_by_text("Reported 1 time")).to_have_count(0)
