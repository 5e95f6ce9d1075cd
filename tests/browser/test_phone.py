"""Phone-first: every demo patient taps a mood without scrolling, on a 390x844 and a 360x640 phone; four tabs
at the bottom within a thumb's reach; crisis help one tap away at the top of every page, online and offline."""

import re

import pytest
from playwright.sync_api import expect
from playwright.sync_api import Page

from aftercare.db import migrate_database
from aftercare.demo import demo_email
from aftercare.demo import DEMO_PASSWORD
from aftercare.demo import PATIENTS
from tests.browser.conftest import build_app
from tests.browser.conftest import check_a11y
from tests.browser.conftest import LiveServer
from tests.browser.conftest import wait_for_service_worker

pytestmark = pytest.mark.browser

PHONES = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "small": {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True},
}
TABS = (("Today", "/home"), ("Journal", "/journal"), ("Inbox", "/inbox"), ("History", "/history"), ("More", "/more"))
LOGINS = [login for _, login, _, _, _ in PATIENTS]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, _live_server):
    """The demo clinic, served on its own database (the shared server's holds test accounts, which the demo refuses)."""
    app = build_app(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}")
    app.config["IMAGE_DIR"] = str(tmp_path_factory.mktemp("demo-images"))  # the demo's drawing and photo
    migrate_database(app.extensions["aftercare_db"])
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    server = LiveServer(app).bind()
    yield server
    server.stop()
    _live_server.bind()


def sign_in_demo(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(demo_email(login))
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/home$"))


def tabbar_top(page: Page) -> float:
    bar = page.locator("nav.tabbar")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    height = page.viewport_size["height"]
    # Fixed to the bottom edge of the screen, whatever the page's length.
    assert abs(box["y"] + box["height"] - height) <= 1, box
    return box["y"]


def assert_on_first_screen(page: Page, locator, *, above: float | None = None) -> None:
    """The element is inside the viewport without scrolling (and above the tab bar, when given)."""
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    bottom_limit = above if above is not None else page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= bottom_limit, (box, bottom_limit)


@pytest.mark.parametrize("size", list(PHONES))
@pytest.mark.parametrize("login", LOGINS)
def test_every_demo_patient_taps_a_mood_on_the_first_screen(new_context, demo_server, login, size):
    page = new_context(**PHONES[size]).new_page()
    sign_in_demo(page, demo_server.url, login)
    assert page.evaluate("window.scrollY") == 0
    top_of_tabs = tabbar_top(page)
    buttons = page.locator("fieldset.mood-scale button[name=score]")
    expect(buttons).to_have_count(11)
    for n in range(11):
        button = page.locator(f"fieldset.mood-scale button[name=score][value='{n}']")
        expect(button).to_be_visible()
        assert_on_first_screen(page, button, above=top_of_tabs)
    assert_on_first_screen(page, page.get_by_role("link", name="Help now", exact=True))
    if size == "phone":
        check_a11y(page, f"today-{login}")


def test_the_tabs_are_at_the_bottom_and_every_tab_works(new_context, demo_server):
    page = new_context(**PHONES["phone"]).new_page()
    sign_in_demo(page, demo_server.url, "maya")
    tabs = page.get_by_role("navigation", name="Main")
    for label, path in TABS:
        tabs.get_by_role("link", name=label).click()
        expect(page).to_have_url(re.compile(re.escape(path) + "$"))
        current = page.locator('nav.tabbar a[aria-current="page"]')
        expect(current).to_have_count(1)
        expect(current).to_have_attribute("href", path)
        tabbar_top(page)
        box = current.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box  # a thumb's target
        assert_on_first_screen(page, page.get_by_role("link", name="Help now", exact=True))
        check_a11y(page, f"tab-{label.lower()}")
    # From More, every other place is one more tap: sessions, settings, data, account, sign out.
    for name in ("Your sessions", "Reminders and quiet hours", "My data", "My account"):
        expect(page.get_by_role("link", name=re.compile(f"^{name}"))).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    # A page inside a section keeps its tab marked: a session belongs to More.
    page.get_by_role("link", name=re.compile("^Your sessions")).click()
    expect(page.locator('nav.tabbar a[aria-current="page"]')).to_have_attribute("href", "/more")


def test_the_primary_action_of_journal_and_history_is_on_the_first_screen(new_context, demo_server):
    page = new_context(**PHONES["small"]).new_page()
    sign_in_demo(page, demo_server.url, "maya")
    top_of_tabs = tabbar_top(page)
    page.goto(f"{demo_server.url}/journal")
    assert_on_first_screen(page, page.get_by_role("link", name="Write", exact=True), above=top_of_tabs)
    assert_on_first_screen(page, page.get_by_role("link", name="Record a voice note"), above=top_of_tabs)
    page.goto(f"{demo_server.url}/history")
    for period in ("7 days", "30 days", "All"):
        assert_on_first_screen(page, page.get_by_role("link", name=period, exact=True), above=top_of_tabs)
    page.goto(f"{demo_server.url}/journal/new")
    assert_on_first_screen(page, page.get_by_role("heading", level=1), above=top_of_tabs)


def test_crisis_help_is_one_tap_away_on_every_patient_page_online_and_offline(new_context, demo_server):
    page = new_context(**PHONES["phone"]).new_page()
    sign_in_demo(page, demo_server.url, "jordan")
    assert wait_for_service_worker(page) == "activated"
    paths = ["/home", "/journal", "/journal/new", "/history", "/more", "/sessions", "/settings", "/account",
             "/my-data", "/checkins/phq9", "/checkins/gad7"]  # fmt: skip
    session_link = None
    for path in paths:
        page.goto(f"{demo_server.url}{path}")
        help_now = page.get_by_role("link", name="Help now", exact=True)
        assert_on_first_screen(page, help_now)
        if path == "/sessions":
            session_link = page.locator("a.session-tile").first.get_attribute("href")
    page.goto(f"{demo_server.url}{session_link}")
    assert_on_first_screen(page, page.get_by_role("link", name="Help now", exact=True))

    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are offline")
    help_now = page.get_by_role("link", name="Help now", exact=True)
    assert_on_first_screen(page, help_now)
    help_now.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Help right now")
    expect(page.locator("main")).to_contain_text("988")
    page.context.set_offline(False)


def test_a_wide_screen_keeps_the_tabs_on_top(desktop, demo_server):
    sign_in_demo(desktop, demo_server.url, "maya")
    expect(desktop.locator("nav.tabbar")).to_be_hidden()
    top = desktop.locator("nav.top-tabs")
    expect(top).to_be_visible()
    assert top.bounding_box()["y"] < 100
    expect(top.locator('a[aria-current="page"]')).to_have_attribute("href", "/home")
    check_a11y(desktop, "today-wide")


def test_staff_pages_keep_their_top_bar(new_context, demo_server):
    import pyotp

    from aftercare.demo import DEMO_TOTP_SECRET

    page = new_context(**PHONES["phone"]).new_page()
    page.goto(f"{demo_server.url}/login")
    page.get_by_label("Email").fill(demo_email("dana"))
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label(re.compile("6-digit code")).fill(pyotp.TOTP(DEMO_TOTP_SECRET).now())
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/clinician/$"))
    expect(page.locator("nav.tabbar")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients")).to_be_visible()
