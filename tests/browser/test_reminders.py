"""Reminders in a real browser: the service worker shows a push and a tap opens its page; Settings turns
reminders on from a tap, sends a test through the loopback push service, and sign-out can stop them.

Chromium here cannot reach a real push service (subscribe() rejects or never settles), so two things
stand in for the network: pushes reach the service worker through the DevTools protocol
(ServiceWorker.deliverPushMessage), and where the page subscribes, its PushManager hands out a
subscription of the loopback receiver, so everything from the page on (the server, encryption,
VAPID, the push) is real.
"""

import json
import re

import pytest
from playwright.sync_api import expect

from aftercare.models import Device
from tests.browser.conftest import check_a11y
from tests.browser.conftest import JS_TIMEOUT_MS
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker
from tests.push_receiver import PushReceiver

pytestmark = pytest.mark.browser

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def push_server(live_server, vapid_keys):
    """The live server with push set up, sending to a loopback receiver."""
    config = live_server.app.config
    saved = {k: config[k] for k in ("VAPID_PRIVATE_KEY", "VAPID_SUBJECT", "PUSH_ALLOWED_HOSTS")}
    with PushReceiver(expect_key=vapid_keys.public) as receiver:
        config.update(
            VAPID_PRIVATE_KEY=vapid_keys.private,
            VAPID_SUBJECT=vapid_keys.subject,
            PUSH_ALLOWED_HOSTS=receiver.host_entry,
        )
        try:
            yield receiver
        finally:
            config.update(saved)


def registration_id(cdp) -> str:
    """The service worker registration's id, as DevTools knows it."""
    found = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: found.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        live = [r for r in found if not r.get("isDeleted")]
        if live:
            return live[-1]["registrationId"]
        cdp.send("Runtime.evaluate", {"expression": "1"})  # let the events arrive
    raise AssertionError("no service worker registration reported over CDP")


def listen_for_pushes(page):
    page.evaluate(
        """() => {
            window.__shown = [];
            navigator.serviceWorker.addEventListener("message", (event) => {
                if (event.data?.type === "push-shown") window.__shown.push(event.data);
            });
        }"""
    )


def wait_for_shown(page) -> list:
    """Wait until the worker says it showed a notification (a check of getNotifications() alone would race)."""
    return page.evaluate(
        """async (ms) => {
            const end = Date.now() + ms;
            while (!window.__shown.length) {
                if (Date.now() > end) throw new Error("no notification shown");
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
            return window.__shown;
        }""",
        JS_TIMEOUT_MS,
    )


def test_the_service_worker_shows_a_push_and_a_tap_opens_its_page(phone, seed, base_url):
    patient = seed.patient(name="Maya Chen")
    sign_in(phone, patient)
    assert wait_for_service_worker(phone) == "activated"
    phone.context.grant_permissions(["notifications"], origin=base_url)
    listen_for_pushes(phone)
    payload = {
        "web_push": 8030,
        "notification": {
            "title": "aftercare",
            "body": "Something for today, whenever you are ready.",
            "navigate": f"{base_url}/journal",
            "tag": "Tk2Qm9vUzI4aDA1cWJ6Vw",
            "lang": "en",
        },
    }
    cdp = phone.context.new_cdp_session(phone)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": base_url, "registrationId": registration_id(cdp), "data": json.dumps(payload)},
    )
    wait_for_shown(phone)
    shown = phone.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications())
            .map((n) => ({title: n.title, body: n.body, tag: n.tag, path: n.data.path}))"""
    )
    assert shown == [
        {
            "title": "aftercare",
            "body": payload["notification"]["body"],
            "tag": payload["notification"]["tag"],
            "path": "/journal",
        }
    ]

    # A tap: Chromium has no DevTools command to click a notification, so the worker gets the same
    # notificationclick event a tap would give it, for the notification it is showing.
    [worker] = phone.context.service_workers
    worker.evaluate(
        """async () => {
            const [notification] = await self.registration.getNotifications();
            try {
                self.dispatchEvent(new NotificationEvent("notificationclick", { notification }));
            } catch (error) {
                // waitUntil refuses an event the browser did not send; the handler has already begun
            }
        }"""
    )
    expect(phone).to_have_url(re.compile(r"/journal$"))
    assert phone.evaluate("async () => (await (await navigator.serviceWorker.ready).getNotifications()).length") == 0


def test_a_push_for_another_site_opens_today_instead(phone, seed, base_url):
    sign_in(phone, seed.patient())
    wait_for_service_worker(phone)
    phone.context.grant_permissions(["notifications"], origin=base_url)
    listen_for_pushes(phone)
    payload = {"web_push": 8030, "notification": {"title": "aftercare", "navigate": "https://evil.example/x"}}
    cdp = phone.context.new_cdp_session(phone)
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": base_url, "registrationId": registration_id(cdp), "data": json.dumps(payload)},
    )
    wait_for_shown(phone)
    assert phone.evaluate("window.__shown[0].path") == "/home"


def stub_push_manager(context, subscription: dict):
    """Give the page's PushManager the receiver's subscription (see the module docstring)."""
    context.add_init_script(
        script=f"""(() => {{
            const json = {json.dumps(subscription)};
            const fake = {{
                endpoint: json.endpoint,
                options: {{}},
                toJSON: () => json,
                unsubscribe: async () => {{ localStorage.removeItem("test.subscribed"); return true; }},
            }};
            if (!("PushManager" in self)) return;
            PushManager.prototype.subscribe = async function () {{
                localStorage.setItem("test.subscribed", "1");
                return fake;
            }};
            PushManager.prototype.getSubscription = async function () {{
                return localStorage.getItem("test.subscribed") ? fake : null;
            }};
        }})();"""
    )


def test_turning_reminders_on_sending_a_test_and_stopping_them_at_sign_out(
    phone, seed, base_url, push_server, live_server
):
    patient = seed.patient(name="Sam Rivera")
    subscription = push_server.subscription("phone")
    stub_push_manager(phone.context, subscription)
    phone.context.grant_permissions(["notifications"], origin=base_url)
    sign_in(phone, patient)
    wait_for_service_worker(phone)

    phone.goto("/settings")
    check_a11y(phone, "settings-reminders-off")
    phone.get_by_role("button", name="Turn on reminders on this device").click()
    expect(phone.get_by_text("Reminders come to this device.")).to_be_visible()
    # Named from the browser's user agent (Playwright's phone is Chrome on Linux).
    expect(phone.get_by_role("listitem").filter(has_text="Chrome on Linux")).to_be_visible()
    check_a11y(phone, "settings-reminders-on")
    with live_server.database.connection_context():
        [device] = Device.select().where(Device.user == patient.id)
    assert device.endpoint == subscription["endpoint"]

    phone.get_by_role("button", name="Send me a test reminder").click()
    expect(phone.get_by_text(re.compile(r"Test reminder sent\. Chrome on Linux: sent\."))).to_be_visible()
    [message] = push_server.wait_for(1)
    assert message.json["notification"]["navigate"].endswith("/settings")
    assert message.json["notification"]["body"] == "Reminders reach this device."

    phone.goto("/more")
    stop = phone.get_by_label("Also stop reminders on this phone")
    expect(stop).to_be_checked()
    phone.get_by_role("button", name="Sign out").click()
    expect(phone).to_have_url(re.compile(r"/login$"))
    with live_server.database.connection_context():
        assert not Device.select().where(Device.user == patient.id).exists()
    assert phone.evaluate("localStorage.getItem('test.subscribed')") is None  # the browser unsubscribed too


def test_an_app_open_tells_the_server_when_the_browser_dropped_its_subscription(
    phone, seed, base_url, push_server, live_server
):
    patient = seed.patient()
    stub_push_manager(phone.context, push_server.subscription("dropped"))
    phone.context.grant_permissions(["notifications"], origin=base_url)
    sign_in(phone, patient)
    wait_for_service_worker(phone)
    phone.goto("/settings")
    phone.get_by_role("button", name="Turn on reminders on this device").click()
    expect(phone.get_by_text("Reminders come to this device.")).to_be_visible()

    # The browser forgets the subscription (site data cleared, permission reset); the next app open notices.
    phone.evaluate("localStorage.removeItem('test.subscribed'); sessionStorage.clear()")
    phone.goto("/home")
    phone.evaluate(
        """async (ms) => {
            const end = Date.now() + ms;
            while (localStorage.getItem("aftercare.push.endpoint") !== null) {
                if (Date.now() > end) throw new Error("the page never told the server");
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }""",
        JS_TIMEOUT_MS,
    )
    with live_server.database.connection_context():
        assert not Device.select().where(Device.user == patient.id).exists()


def test_reminders_stay_off_when_notifications_are_refused(phone, seed, base_url, push_server):
    sign_in(phone, seed.patient())
    wait_for_service_worker(phone)
    phone.goto("/settings")
    phone.context.clear_permissions()
    phone.evaluate("() => { Notification.requestPermission = async () => 'denied'; }")
    phone.get_by_role("button", name="Turn on reminders on this device").click()
    expect(phone.get_by_text("Notifications for aftercare are blocked")).to_be_visible()


def test_on_an_iphone_outside_the_home_screen_the_button_explains_add_to_home_screen(new_context, seed, push_server):
    page = new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=IPHONE_SAFARI
    ).new_page()
    sign_in(page, seed.patient())
    page.goto("/settings")
    expect(page.get_by_text("reminders work once aftercare is on your Home Screen")).to_be_visible()
    expect(page.get_by_role("button", name="Turn on reminders on this device")).to_be_hidden()
    page.get_by_role("link", name="How to add it").click()
    expect(page).to_have_url(re.compile(r"/install$"))


def test_settings_without_push_set_up_say_so(phone, seed):
    sign_in(phone, seed.patient())
    phone.goto("/settings")
    expect(phone.get_by_text("This clinic has not set up reminders yet.")).to_be_visible()
    check_a11y(phone, "settings-no-push")


def test_the_administrators_reminder_pages(desktop, seed, push_server):
    sign_in(desktop, seed.admin())
    desktop.goto("/admin/reminders/")
    expect(desktop.get_by_role("heading", name="Reminders", level=1)).to_be_visible()
    check_a11y(desktop, "admin-reminders")
    desktop.get_by_role("link", name=re.compile("Change the wording.*A questionnaire is due")).click()
    desktop.get_by_label("Lock-screen text").fill("Your PHQ-9 is waiting")
    desktop.get_by_role("button", name="Save wording").click()
    expect(desktop.get_by_text("would tell anyone who sees the phone too much")).to_be_visible()
    check_a11y(desktop, "admin-reminder-wording")
