"""The inbox on a phone: every reminder and message, the unread count on its tab, readable offline from what
the phone kept (never from cached pages), and gone from the phone at sign-out."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from aftercare.models import Reminder
from aftercare.models import REMINDER_SENT
from tests.browser.conftest import check_a11y
from tests.browser.conftest import JS_TIMEOUT_MS
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker

pytestmark = pytest.mark.browser


def received(database, patient, rule, text, *, hours_ago=1, author=None):
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) - dt.timedelta(hours=hours_ago)
    with database.connection_context():
        return Reminder.create(
            user=patient,
            rule=rule,
            slot=f"{rule}:{at.isoformat()}",
            due_at=at,
            expires_at=at + dt.timedelta(hours=4),
            status=REMINDER_SENT,
            sent_at=at,
            text=text,
            path="/home" if rule != "message" else "/inbox",
            author=author,
        )


def wait_for_copy(page):
    """Wait until the inbox page has kept its copy on the phone."""
    page.evaluate(
        """async (ms) => {
            const end = Date.now() + ms;
            while (!localStorage.getItem("aftercare.inbox")) {
                if (Date.now() > end) throw new Error("the inbox kept no copy");
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }""",
        JS_TIMEOUT_MS,
    )


def test_the_inbox_read_online_then_offline_and_forgotten_at_sign_out(phone, seed, live_server):
    clinician = seed.clinician(name="Dr. Dana Reyes")
    patient = seed.patient(clinician, name="Maya Chen")
    received(
        live_server.database,
        patient,
        "after_day1",
        "A day on from your session. Today's practice: A walk.",
        hours_ago=5,
    )
    received(
        live_server.database,
        patient,
        "message",
        "Bring your journal on the 9th if you like.",
        author=clinician,
        hours_ago=1,
    )
    sign_in(phone, patient)
    wait_for_service_worker(phone)
    inbox_tab = phone.locator("nav.tabbar").get_by_role("link", name=re.compile("^Inbox"))
    expect(inbox_tab).to_have_accessible_name("Inbox (2 unread)")
    inbox_tab.click()
    expect(phone).to_have_url(re.compile(r"/inbox$"))
    expect(phone.get_by_text("Message from Dr. Dana Reyes")).to_be_visible()
    expect(phone.get_by_text("cannot be answered")).to_be_visible()
    check_a11y(phone, "inbox")
    wait_for_copy(phone)

    phone.context.set_offline(True)
    phone.goto("/inbox")
    expect(phone.get_by_text("You are offline. This is your inbox as this phone last loaded it.")).to_be_visible()
    expect(phone.get_by_text("Bring your journal on the 9th if you like.")).to_be_visible()
    expect(phone.get_by_text("A day on from your session.")).to_be_visible()
    check_a11y(phone, "inbox-offline")
    phone.context.set_offline(False)

    phone.goto("/more")
    expect(phone.locator("nav.tabbar").get_by_role("link", name="Inbox", exact=True)).to_be_visible()  # all read now
    phone.get_by_role("button", name="Sign out").click()
    expect(phone).to_have_url(re.compile(r"/login$"))
    assert phone.evaluate("localStorage.getItem('aftercare.inbox')") is None

    phone.context.set_offline(True)
    phone.goto("/inbox")
    expect(phone.get_by_text("Nothing from your inbox is saved on this phone.")).to_be_visible()
    expect(phone.get_by_text("Bring your journal")).to_have_count(0)


def test_reminders_coming_up_and_a_snooze(phone, seed, live_server):
    patient = seed.patient()
    at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) + dt.timedelta(hours=5)
    with live_server.database.connection_context():
        Reminder.create(
            user=patient,
            rule="checkin",
            slot="coming",
            due_at=at,
            expires_at=at + dt.timedelta(days=7),
            path="/checkins/phq9",
        )
    sign_in(phone, patient)
    phone.goto("/reminders")
    expect(phone.get_by_text("A questionnaire", exact=True)).to_be_visible()
    check_a11y(phone, "reminders-upcoming")
    phone.get_by_role("button", name="In three hours").click()
    expect(phone.get_by_text(re.compile(r"It will come .* instead\."))).to_be_visible()
