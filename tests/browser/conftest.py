"""Fixtures for the real-browser suite: Debian's Chromium, a live server, seeded users, axe-core.

Run:  python -m pytest tests/browser -q
Needs Debian's Chromium (`apt-get install -y chromium`) or CHROMIUM_PATH pointing at a Chromium.
Never `playwright install`: its CDN is not reachable here, and a missing browser must fail, not skip.

Set AFTERCARE_TEST_DATABASE_URL=postgresql://... to run against PostgreSQL instead of SQLite.
Screenshots of every page checked land in test-artifacts/screenshots/<name>-<phone|desktop>.png.
"""

import os
import re
import shutil
import threading
import time
from pathlib import Path

import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from playwright.sync_api import Page
from werkzeug.serving import make_server

from aftercare import create_app
from aftercare.db import db
from aftercare.db import migrate_database
from tests import factories
from tests import postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
PG_URL = os.environ.get("AFTERCARE_TEST_DATABASE_URL", "")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

# Any promise evaluated in a page is raced against this, so a test never hangs.
JS_TIMEOUT_MS = 10_000

# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM!r}. The browser tests drive Debian's Chromium: install it with "
            "`apt-get update && apt-get install -y chromium`, or set CHROMIUM_PATH to a Chromium binary. "
            "(`playwright install` does not work here: its download CDN is unreachable.)",
            pytrace=False,
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
    }


# --------------------------------------------------------------------------- live server


def _fresh_schema_postgres(database):
    with database.connection_context():
        if database.get_tables():
            database.execute_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")


class _ClosingBody:
    """A response body that is closed even when werkzeug's server forgets to.

    When the browser drops a connection mid-response (an <audio> element abandoning a range
    request for a voice note), werkzeug's dev server raises from its drain loop before it closes
    the body, and the open file then fails the test as a ResourceWarning. gunicorn closes it.
    """

    def __init__(self, body):
        self.body = body
        self.closed = False

    def __iter__(self):
        return iter(self.body)

    def close(self):
        if not self.closed and hasattr(self.body, "close"):
            self.closed = True
            self.body.close()

    def __del__(self):
        self.close()


def _closing(app):
    return lambda environ, start_response: _ClosingBody(app(environ, start_response))


class LiveServer:
    """One app served by werkzeug on 127.0.0.1 in a daemon thread."""

    def __init__(self, app):
        self.app = app
        self.database = app.extensions["aftercare_db"]
        self.server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name=f"live-server-{self.url}", daemon=True
        )
        self.thread.start()

    def bind(self):
        """Point the models' database proxy at this server's database.

        `aftercare.db.db` is one process-wide proxy and create_app() re-binds it, so a test that
        starts a second app (first run) or a unit test's app fixture would leave it elsewhere.
        """
        db.initialize(self.database)
        return self

    def connections_in_use(self, settle_seconds: float = 3.0) -> int:
        """Pooled connections not yet returned, once in-flight requests have had time to finish."""
        deadline = time.monotonic() + settle_seconds
        while True:
            count = len(getattr(self.database, "_in_use", {}))
            if count == 0 or time.monotonic() > deadline:
                return count
            time.sleep(0.05)

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        self.database.close_all()


def build_app(database_url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "browser-tests", "DATABASE_URL": database_url})


@pytest.fixture(scope="session")
def _live_server(tmp_path_factory):
    if PG_URL:
        app = build_app(PG_URL)
        _fresh_schema_postgres(app.extensions["aftercare_db"])
    else:
        path = tmp_path_factory.mktemp("browser") / "aftercare.db"
        app = build_app(f"sqlite:///{path}")
    # Journal pictures of the browser tests, never in the instance folder.
    app.config["IMAGE_DIR"] = str(tmp_path_factory.mktemp("images"))
    migrate_database(app.extensions["aftercare_db"])
    if PG_URL:
        postgres.remember_seed(app.extensions["aftercare_db"])
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def live_server(_live_server):
    """The shared live server, with the model proxy bound to its database for this test.

    Afterwards, every request must have returned its database connection to the pool: the server
    runs a thread per connection, like `flask run` or gunicorn's gthread workers, and a connection
    left open on a finished thread is lost to the pool (32 of them and every request fails).
    """
    before = _live_server.connections_in_use(settle_seconds=0)
    yield _live_server.bind()
    leaked = _live_server.connections_in_use() - before
    assert leaked <= 0, (
        f"{leaked} database connection(s) were not returned to the pool after this test's requests; "
        "each request must close the connection it opened (aftercare/db.py _connect/_close, "
        "aftercare/websessions.py ensure_connection)."
    )


@pytest.fixture(scope="session")
def base_url(_live_server):
    return _live_server.url


@pytest.fixture
def empty_server(_live_server, tmp_path):
    """A second app on an empty database (no administrator yet), for the first-run flow.

    SQLite: a fresh file. PostgreSQL: the same database, truncated (every test seeds its own users,
    so the shared server's later tests do not depend on what was there before).
    """
    if PG_URL:
        app = build_app(PG_URL)
        postgres.reset(app.extensions["aftercare_db"])
    else:
        app = build_app(f"sqlite:///{tmp_path / 'first-run.db'}")
        migrate_database(app.extensions["aftercare_db"])
    server = LiveServer(app).bind()
    yield server
    server.stop()
    _live_server.bind()


# --------------------------------------------------------------------------- data


class Seed:
    """Create users directly in the live server's database (tests/factories.py)."""

    def __init__(self, database):
        self.database = database

    def admin(self, **fields):
        with self.database.connection_context():
            return factories.make_admin(**fields)

    def clinician(self, **fields):
        with self.database.connection_context():
            return factories.make_clinician(**fields)

    def patient(self, clinician=None, **fields):
        with self.database.connection_context():
            return factories.make_patient(clinician, **fields)

    def invite(self, clinician, *, name="Jordan Blake", email=None, role="patient", days=7):
        """Issue an invite as `clinician`; return (invite, link token, short code)."""
        from aftercare.models import Invite

        email = email or f"invited{next(factories._counter)}@example.org"
        with self.database.connection_context():
            return Invite.issue(role=role, email=email, name=name, invited_by=clinician, days=days)

    def ensure_admin(self):
        """Sign-in pages send everyone to /setup until an administrator exists."""
        from aftercare.accounts import admin_exists

        with self.database.connection_context():
            if not admin_exists():
                factories.make_admin()


@pytest.fixture
def seed(live_server):
    seeder = Seed(live_server.database)
    seeder.ensure_admin()
    return seeder


# --------------------------------------------------------------------------- pages


@pytest.fixture
def phone_context(new_context):
    """A factory for phone-sized contexts (390x844, mobile, touch); extra keyword arguments pass through."""

    def make(**extra):
        return new_context(**PHONE, **extra)

    return make


@pytest.fixture
def phone(phone_context) -> Page:
    return phone_context().new_page()


@pytest.fixture
def desktop(new_context) -> Page:
    return new_context(**DESKTOP).new_page()


# --------------------------------------------------------------------------- helpers


def totp_code(secret: str = factories.TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).now()


def submit_password(page: Page, email: str, password: str = factories.PASSWORD, base: str = ""):
    """Fill the sign-in form the way a person does."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def enter_code(page: Page, code: str, button: str):
    page.get_by_label(re.compile("6-digit code")).fill(code)
    page.get_by_role("button", name=button).click()


def sign_in(page: Page, user, *, base: str = "", check: bool = False):
    """Sign a seeded user in through the real forms (password, then the TOTP code for staff).

    With `check`, run check_a11y on the sign-in page (and the code page, for staff) on the way.
    """
    page.goto(f"{base}/login")
    if check:
        check_a11y(page, "login")
    submit_password(page, user.email, base=base)
    if user.is_staff:
        expect(page).to_have_url(re.compile(r"/login/verify"))
        if check:
            check_a11y(page, "verify")
        enter_code(page, totp_code(user.totp_secret), "Continue")
    home = "/home" if user.role == "patient" else f"/{user.role}/"
    expect(page).to_have_url(re.compile(re.escape(home) + "$"))
    # The URL changes before the page's scripts run. Each module script is its own: the outbox (from
    # app.js) can be there before mood.js has taken over the mood form, and a tap in between posts
    # the form as a plain page would (offline: an error page). At "load" every module has run.
    page.wait_for_load_state("load")


def expect_current_page(page: Page, href: str):
    """The main navigation marks exactly the link to `href` as the current page."""
    current = page.get_by_role("navigation", name="Main").locator('a[aria-current="page"]')
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("href", href)


AXE = Axe()


def _kind(page: Page) -> str:
    viewport = page.viewport_size or {"width": 1280}
    return "phone" if viewport["width"] < 600 else "desktop"


def format_violations(violations) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation['help']}  [{violation.get('helpUrl', '')}]"
        )
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    at {target}")
            summary = "; ".join(
                line.strip() for line in (node.get("failureSummary") or "").splitlines() if line.strip()
            )
            if summary:
                lines.append(f"       {summary}")
    return "\n".join(lines)


def check_a11y(page: Page, name: str):
    """Save a full-page screenshot, then check the page with axe-core: no violations allowed.

    Inside a test, violations are reported when the test ends (it fails then, listing every page's
    violations), so one run shows all of them and the test still checks the rest of its flow.
    """
    page.wait_for_load_state("load")
    kind = _kind(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{kind}.png"), full_page=True)
    violations = AXE.run(page).response["violations"]
    if not violations:
        return
    message = f"axe-core: {len(violations)} violation(s) on {name} ({kind}, {page.url}):\n" + format_violations(
        violations
    )
    if _a11y_failures is None:
        raise AssertionError(message)
    _a11y_failures.append(message)


_a11y_failures: list[str] | None = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail a test that met accessibility violations, after it ran to its end."""
    global _a11y_failures
    _a11y_failures = []
    try:
        result = yield
    except BaseException as error:
        if _a11y_failures:
            error.add_note("\n\n".join(_a11y_failures))
        raise
    finally:
        failures, _a11y_failures = _a11y_failures, None
    if failures:
        raise AssertionError("\n\n".join(failures))
    return result


def wait_for_service_worker(page: Page) -> str:
    """Wait until an activated service worker controls the page; return its state.

    A worker that activates while a navigation is still in flight (the sign-in's redirect to
    Today, say) cannot claim that page: clients.claim() passes over a document that is not yet
    running, and the page stays uncontrolled until the next navigation, as it would for a patient.
    So when the worker is active and the page is still not its client, load the page once more.
    """
    state = page.evaluate(WAIT_FOR_WORKER, JS_TIMEOUT_MS)
    if state == "uncontrolled":
        page.reload(wait_until="load")
        state = page.evaluate(WAIT_FOR_WORKER, JS_TIMEOUT_MS)
    return state


WAIT_FOR_WORKER = """async (ms) => {
    const timeout = new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no activated, controlling service worker after ${ms} ms`)), ms));
    const ready = (async () => {
        if (!("serviceWorker" in navigator)) throw new Error("no navigator.serviceWorker");
        const registration = await navigator.serviceWorker.ready;
        const active = Date.now();
        while (!navigator.serviceWorker.controller || registration.active?.state !== "activated") {
            if (registration.active?.state === "activated" && Date.now() - active > 2000) return "uncontrolled";
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return registration.active.state;
    })();
    return Promise.race([ready, timeout]);
}"""


def cached_urls(page: Page) -> list[str]:
    """Every request URL in every Cache Storage cache of the page's origin."""
    return page.evaluate(
        """async (ms) => {
            const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("caches timed out")), ms));
            const list = (async () => {
                const urls = [];
                for (const name of await caches.keys()) {
                    const cache = await caches.open(name);
                    for (const request of await cache.keys()) urls.push(request.url);
                }
                return urls;
            })();
            return Promise.race([list, timeout]);
        }""",
        JS_TIMEOUT_MS,
    )
