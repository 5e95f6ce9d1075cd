"""The offline-first mood log (OFF-01..06, DUR-04, CLIN-04/05), on a phone, in a real browser.

Taps go to the IndexedDB outbox first, arrive exactly once when the phone is back online, survive
an old CSRF token and a sign-out, and crisis words open crisis help even with no connection.
"""

import random
import re
import sqlite3
import time

import pytest
from playwright.sync_api import expect
from playwright.sync_api import Page

from aftercare.models import MoodEntry
from aftercare.models import SafetyAlert
from tests.browser.conftest import check_a11y
from tests.browser.conftest import JS_TIMEOUT_MS
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker

pytestmark = pytest.mark.browser

SAVED_HERE = "Saved on this device."
ACKNOWLEDGED = "Saved. Your care team can see it."

# Call self.aftercareOutbox[method](...args) in the page, raced against a timeout so a test never hangs.
OUTBOX_CALL = """async ([method, args, ms]) => {
    const timeout = new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`aftercareOutbox.${method} timed out after ${ms} ms`)), ms));
    const call = (async () => {
        const started = Date.now();
        while (!self.aftercareOutbox) {
            if (Date.now() - started > ms) throw new Error("no self.aftercareOutbox on this page");
            await new Promise((resolve) => setTimeout(resolve, 25));
        }
        return self.aftercareOutbox[method](...args);
    })();
    return Promise.race([call, timeout]);
}"""

# POST a JSON body to /api/v1/mood the way the outbox does (fresh CSRF token); return status and JSON.
POST_MOOD = """async ([payload, ms]) => {
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("POST timed out")), ms));
    const post = (async () => {
        const { csrf_token } = await (await fetch("/api/v1/csrf", { credentials: "same-origin" })).json();
        const response = await fetch("/api/v1/mood", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf_token },
            body: JSON.stringify(payload),
        });
        return { status: response.status, body: await response.json() };
    })();
    return Promise.race([post, timeout]);
}"""


def sync_tags(page: Page) -> list[str]:
    return page.evaluate(
        """async (ms) => {
            const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("sync tags timed out")), ms));
            const tags = navigator.serviceWorker.ready.then((r) => ("sync" in r ? r.sync.getTags() : []));
            return Promise.race([tags, timeout]);
        }""",
        JS_TIMEOUT_MS,
    )


def outbox(page: Page, method: str, *args):
    return page.evaluate(OUTBOX_CALL, [method, list(args), JS_TIMEOUT_MS])


def wait_for_count(page: Page, expected: int, timeout: float = 15.0) -> int:
    """Poll the outbox until it holds `expected` entries; return the count."""
    deadline = time.monotonic() + timeout
    count = outbox(page, "count")
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        count = outbox(page, "count")
    assert count == expected, f"the outbox holds {count} entries, expected {expected}"
    return count


def ready_offline_capable(page: Page, patient):
    """Sign in, and wait until the worker controls the page and the outbox is loaded."""
    sign_in(page, patient)
    assert wait_for_service_worker(page) == "activated"
    assert outbox(page, "count") == 0


def mood_form(page: Page):
    return page.locator('form[data-outbox="mood"]')


def tap(page: Page, score: int):
    mood_form(page).locator(f'button[name="score"][value="{score}"]').click()


def status(page: Page):
    return mood_form(page).get_by_role("status")


def add_note(page: Page, note: str, tags=()):
    form = mood_form(page)
    details = form.locator("details.mood-extra")
    if details.get_attribute("open") is None:
        form.get_by_text("Add a note or tags").click()
    form.get_by_label("Note").fill(note)
    for tag in tags:
        form.get_by_role("checkbox", name=tag.capitalize()).check()


def db_entries(live_server, patient) -> list[MoodEntry]:
    with live_server.database.connection_context():
        return list(MoodEntry.select().where(MoodEntry.patient == patient).order_by(MoodEntry.recorded_at))


def test_ten_moods_logged_offline_arrive_exactly_once(phone, seed, live_server):
    patient = seed.patient(name="Ana Ruiz")
    ready_offline_capable(phone, patient)
    phone.context.set_offline(True)

    scores = [3, 7, 0, 10, 5, 8, 2, 6, 9, 4]
    for n, score in enumerate(scores, start=1):
        if n == 2:
            add_note(phone, "Slept badly, calmer now", tags=["sleep", "anxiety"])
        tap(phone, score)
        expect(status(phone)).to_contain_text(SAVED_HERE)
        wait_for_count(phone, n, timeout=5)
        if n == 2:
            # The note and tags belong to that entry only; the next tap starts clean.
            expect(mood_form(phone).get_by_label("Note")).to_have_value("")
            expect(mood_form(phone).get_by_role("checkbox", name="Sleep")).not_to_be_checked()

    expect(status(phone)).to_have_text(
        "Saved on this device. It will be sent when you are back online. 10 entries are waiting to be sent."
    )
    check_a11y(phone, "home-saved-offline")
    # Chromium also sends them from the worker (Background Sync) when the connection returns.
    assert "aftercare-outbox" in sync_tags(phone)
    queued = outbox(phone, "all")
    assert [item["payload"]["score"] for item in queued] == scores
    assert len({item["id"] for item in queued}) == 10, "every tap needs its own client_id"
    assert all(item["id"] == item["payload"]["client_id"] and item["url"] == "/api/v1/mood" for item in queued)
    assert db_entries(live_server, patient) == [], "nothing can have reached the server while offline"

    # A reload while offline gets the worker's offline page; the entries stay on the phone.
    phone.reload()
    expect(phone.get_by_role("heading", level=1)).to_have_text("You are offline")
    assert outbox(phone, "count") == 10

    phone.context.set_offline(False)
    phone.goto("/home")
    wait_for_count(phone, 0)
    # Background Sync may have sent some before the page loaded; the page reports what it saw.
    expect(status(phone)).to_have_text(
        re.compile(
            r"^((An entry|\d+ entries) saved on this device ha(s|ve) been sent\. Your care team can see (it|them)\.)?$"
        )
    )

    entries = db_entries(live_server, patient)
    assert len(entries) == 10, f"{len(entries)} rows for 10 taps: the outbox lost or duplicated entries"
    assert [e.score for e in entries] == scores
    assert {e.client_id for e in entries} == {item["id"] for item in queued}
    noted = entries[1]
    assert (noted.note, noted.tag_list) == ("Slept badly, calmer now", ["sleep", "anxiety"])
    assert all(e.note == "" and e.tags == "" for i, e in enumerate(entries) if i != 1)

    # And the patient sees them on today's page.
    phone.reload()
    expect(phone.get_by_role("region", name="Today so far").get_by_role("listitem")).to_have_count(10)


def test_a_replayed_entry_is_stored_once_and_a_reused_id_is_refused(phone, seed, live_server):
    patient = seed.patient()
    ready_offline_capable(phone, patient)
    phone.context.set_offline(True)
    tap(phone, 6)
    wait_for_count(phone, 1, timeout=5)
    (item,) = outbox(phone, "all")
    payload = item["payload"]

    phone.context.set_offline(False)
    expect(status(phone)).to_have_text(ACKNOWLEDGED, timeout=15_000)
    wait_for_count(phone, 0)

    # The same payload twice more (a retry after a lost answer): the original, not a new row.
    first = phone.evaluate(POST_MOOD, [payload, JS_TIMEOUT_MS])
    second = phone.evaluate(POST_MOOD, [payload, JS_TIMEOUT_MS])
    assert first["status"] == 200, first
    assert second["status"] == 200, second
    assert first["body"] == second["body"]
    assert (second["body"]["client_id"], second["body"]["score"]) == (payload["client_id"], 6)
    rows = [e for e in db_entries(live_server, patient) if e.client_id == payload["client_id"]]
    assert len(rows) == 1

    # A different entry under the same id is refused, and nothing changes.
    changed = phone.evaluate(POST_MOOD, [{**payload, "score": 1}, JS_TIMEOUT_MS])
    assert changed["status"] == 422, changed
    assert [e.score for e in db_entries(live_server, patient)] == [6]


def test_an_old_csrf_token_costs_a_retry_not_the_entry(phone, seed, live_server):
    patient = seed.patient()
    ready_offline_capable(phone, patient)
    posts = []
    phone.on(
        "response",
        lambda r: posts.append(r.status) if r.request.method == "POST" and r.url.endswith("/api/v1/mood") else None,
    )

    result = phone.evaluate(
        """async (ms) => {
            const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("flush timed out")), ms));
            const run = (async () => {
                const outbox = self.aftercareOutbox;
                outbox._token = "bogus-token-from-yesterday";
                await outbox.add("mood", {
                    client_id: crypto.randomUUID(), score: 4, note: "", tags: [],
                    recorded_at: new Date().toISOString(),
                });
                return outbox.flush();
            })();
            return Promise.race([run, timeout]);
        }""",
        JS_TIMEOUT_MS,
    )

    assert result["stopped"] is None and result["remaining"] == 0, result
    assert [s["status"] for s in result["sent"]] == [201]
    assert posts[:2] == [400, 201], posts
    entries = db_entries(live_server, patient)
    assert [(e.client_id, e.score) for e in entries] == [(result["sent"][0]["id"], 4)]


def test_crisis_words_typed_offline_open_crisis_help(phone, seed, live_server):
    patient = seed.patient()
    ready_offline_capable(phone, patient)
    phone.context.set_offline(True)

    add_note(phone, "I can’t go on like this")  # a typographic apostrophe, as phones type it
    tap(phone, 1)

    expect(phone).to_have_url(re.compile(r"/crisis$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Help right now")
    expect(phone.locator("main")).to_contain_text("988")
    wait_for_count(phone, 1, timeout=5)  # still queued on the phone

    # Back online: the entry arrives and the care team is alerted. (If the page sends it, rather
    # than Background Sync before the page loads, the patient lands on the support page.)
    phone.context.set_offline(False)
    phone.goto("/home")
    wait_for_count(phone, 0)
    expect(phone).to_have_url(re.compile(r"/(home|support)$"))
    (entry,) = db_entries(live_server, patient)
    assert entry.score == 1
    with live_server.database.connection_context():
        assert SafetyAlert.select().where(SafetyAlert.mood == entry.id).count() == 1


def test_crisis_words_online_open_support_once_saved(phone, seed, live_server):
    patient = seed.patient()
    ready_offline_capable(phone, patient)

    add_note(phone, "Some days I want to die")
    tap(phone, 2)

    expect(phone).to_have_url(re.compile(r"/support$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you for telling us")
    (entry,) = db_entries(live_server, patient)
    assert entry.note == "Some days I want to die"


def test_sign_out_with_unsent_entries_asks_first_and_keeps_them(phone, seed, live_server):
    patient = seed.patient()
    ready_offline_capable(phone, patient)
    # The API is unreachable (the rest of the site works), so entries cannot leave the phone.
    phone.context.route("**/api/v1/mood", lambda route: route.abort("internetdisconnected"))

    tap(phone, 5)
    expect(status(phone)).to_have_text(
        "Saved on this device. It will be sent when you are back online. 1 entry is waiting to be sent."
    )

    dialogs = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    phone.once("dialog", dismiss)
    phone.get_by_role("navigation", name="Main").get_by_role("link", name="More").click()
    phone.get_by_role("button", name="Sign out").click()
    deadline = time.monotonic() + 15
    while not dialogs and time.monotonic() < deadline:
        phone.wait_for_timeout(50)
    assert dialogs and dialogs[0].startswith("1 entry is saved only on this device"), dialogs
    assert "next time you sign in on this device" in dialogs[0]
    expect(phone).to_have_url(re.compile(r"/more$"))  # they said no: still signed in
    expect(phone.get_by_role("button", name="Sign out")).to_be_visible()

    phone.once("dialog", lambda dialog: dialog.accept())
    phone.get_by_role("button", name="Sign out").click()
    expect(phone).to_have_url(re.compile(r"/login"))
    assert outbox(phone, "count") == 1, "signing out must not drop what is on the phone"
    assert db_entries(live_server, patient) == []

    # Next time they sign in on this phone, it is sent.
    phone.context.unroute("**/api/v1/mood")
    sign_in(phone, patient)
    wait_for_count(phone, 0)
    assert [e.score for e in db_entries(live_server, patient)] == [5]


def test_a_busy_server_means_back_off_and_a_refused_entry_is_kept_aside(phone, seed, live_server):
    patient = seed.patient()
    ready_offline_capable(phone, patient)
    busy = '{"error": "Busy for a moment", "message": "aftercare is busy."}'
    phone.context.route(
        "**/api/v1/mood",
        lambda route: route.fulfill(
            status=503, headers={"Retry-After": "30"}, content_type="application/json", body=busy
        ),
    )
    good = {"client_id": "6f1c2a52-3f3b-4d7a-9d55-2f0f1f6a8b10", "score": 7, "note": "", "tags": []}
    outbox(phone, "add", "mood", good)

    result = outbox(phone, "flush")
    assert (result["stopped"], result["remaining"], result["sent"]) == ("busy", 1, []), result
    (item,) = outbox(phone, "all")
    assert item["attempts"] == 1
    assert item["nextAttemptAt"] - phone.evaluate("Date.now()") > 25_000, "Retry-After must be honoured"
    # The page's timer respects the back-off; nothing is sent, nothing is dropped.
    assert outbox(phone, "flush", {"force": False})["remaining"] == 1

    phone.context.unroute("**/api/v1/mood")
    # An entry the server refuses for good (an unknown tag) is moved aside, not retried forever.
    refused = {"client_id": "0b6d0c8e-6f0e-4f3e-8a8e-1d2b3c4d5e6f", "score": 3, "tags": ["no-such-tag"]}
    outbox(phone, "add", "mood", refused)
    result = outbox(phone, "flush")
    assert [s["id"] for s in result["sent"]] == [good["client_id"]]
    assert [(f["id"], f["status"]) for f in result["failed"]] == [(refused["client_id"], 422)]
    assert result["remaining"] == 0
    (kept,) = outbox(phone, "failed")
    assert kept["payload"] == refused and "tags" in kept["fields"]
    assert [e.score for e in db_entries(live_server, patient)] == [7]


def test_entries_wait_for_the_person_who_saved_them(phone, seed, live_server):
    """On a shared phone, someone else's queued entries are never sent under the signed-in account."""
    patient = seed.patient()
    ready_offline_capable(phone, patient)
    token = phone.evaluate(
        """async () => (await fetch("/api/v1/csrf", { credentials: "same-origin" })).json()""",
    )
    assert "user" in token, "GET /api/v1/csrf must name the signed-in user, so the outbox can tell owners apart"
    other = {"client_id": "3c0f9a8e-2b1d-4e5f-8a7b-6c5d4e3f2a1b", "score": 8, "note": "", "tags": []}
    outbox(phone, "add", "mood", other, {"owner": f"not-{token['user']}"})
    tap(phone, 4)
    expect(status(phone)).to_have_text(ACKNOWLEDGED)
    assert outbox(phone, "count") == 1
    assert [e.score for e in db_entries(live_server, patient)] == [4]


def test_fifty_moods_on_a_flapping_network_arrive_exactly_once(phone, seed, live_server):
    """The connection drops and returns every few hundred milliseconds while 50 taps are made."""
    patient = seed.patient(name="Flo Marsh")
    ready_offline_capable(phone, patient)
    rng = random.Random(15)
    scores = [rng.randint(0, 10) for _ in range(50)]
    offline = False
    for n, score in enumerate(scores, start=1):
        tap(phone, score)
        # The tap is on the phone (or already stored) before the next one: nothing is lost in between.
        deadline = time.monotonic() + 10
        while outbox(phone, "count") + len(db_entries(live_server, patient)) < n:
            assert time.monotonic() < deadline, f"tap {n} was neither kept nor sent"
            time.sleep(0.02)
        phone.wait_for_timeout(rng.randint(100, 400))
        offline = not offline
        phone.context.set_offline(offline)
    phone.context.set_offline(False)
    wait_for_count(phone, 0, timeout=60)  # going online sends at once, back-off or not
    entries = db_entries(live_server, patient)
    assert len(entries) == 50, f"{len(entries)} rows for 50 taps"
    assert len({entry.client_id for entry in entries}) == 50
    assert sorted(entry.score for entry in entries) == sorted(scores)


def test_a_held_write_lock_is_waited_out_and_the_entry_lands_once(phone, seed, live_server):
    """DUR-05 with a real lock: another connection holds the database while the phone taps."""
    patient = seed.patient(name="Lena Lock")
    ready_offline_capable(phone, patient)
    holder = sqlite3.connect(live_server.database.database, isolation_level=None)  # the live server's own file
    holder.execute("BEGIN IMMEDIATE")
    try:
        tap(phone, 6)
        # The server waits out its busy timeout, answers 503 with Retry-After, and the outbox keeps the entry.
        deadline = time.monotonic() + 15
        while not outbox(phone, "all") or outbox(phone, "all")[0]["attempts"] < 1:
            assert time.monotonic() < deadline, "the outbox never tried"
            time.sleep(0.2)
        assert outbox(phone, "count") == 1
    finally:
        holder.rollback()
        holder.close()
    wait_for_count(phone, 0, timeout=30)  # after Retry-After, the outbox tries again and it lands
    assert [entry.score for entry in db_entries(live_server, patient)] == [6]
