"""The journal on a phone: after a session the intention comes back, an entry is written and shared;
a voice note is recorded with Chromium's fake microphone, saved, and played back (UP-01); a drawing
made with a finger goes with an entry written offline (UP-02)."""

import base64
import datetime as dt
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from playwright.sync_api import Page

from aftercare.journal import images
from aftercare.journal import voice
from aftercare.models import COMPLETED
from aftercare.models import Intention
from aftercare.models import JournalEntry
from aftercare.models import JournalImage
from aftercare.models import TreatmentSession
from aftercare.models import utcnow
from aftercare.models import VoiceNote
from tests.browser.conftest import check_a11y
from tests.browser.conftest import JS_TIMEOUT_MS
from tests.browser.conftest import PHONE
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_for_service_worker
from tests.factories import afternoon_zone

pytestmark = pytest.mark.browser

OUTBOX_JS = Path(__file__).resolve().parents[2] / "aftercare" / "static" / "js" / "outbox.js"
# Chromium answers getUserMedia with a generated tone, without asking anyone.
FAKE_MICROPHONE = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
def voice_dir(live_server, tmp_path):
    """Voice notes of this test go to its own folder, not the repository's instance/."""
    config = live_server.app.config
    before = config.get("VOICE_DIR")
    config["VOICE_DIR"] = str(tmp_path / "voice")
    yield tmp_path / "voice"
    config["VOICE_DIR"] = before


@pytest.fixture(scope="module")
def mic_browser(browser_type, browser_type_launch_args):
    browser = browser_type.launch(
        **{**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *FAKE_MICROPHONE]}
    )
    yield browser
    browser.close()


@pytest.fixture
def mic_phone(mic_browser, base_url) -> Page:
    """A phone-sized page in a browser with a fake microphone, allowed to use it."""
    context = mic_browser.new_context(**PHONE, base_url=base_url)
    context.grant_permissions(["microphone"], origin=base_url)
    yield context.new_page()
    context.close()


@pytest.fixture
def patient(seed, live_server, voice_dir):
    # Tests ask for this before their page, so the page closes (and its last requests end)
    # before voice_dir puts the setting back.
    clinician = seed.clinician(name="Dana Reyes")
    # Mid-afternoon for her now, so a session that ended an hour ago is her session day at any UTC hour.
    return seed.patient(clinician, name="Mara Quinn", timezone=afternoon_zone())


def completed_session(live_server, patient, *, number=3, **intention):
    """A session that ended an hour ago (the session day of the window of clarity), with an intention."""
    starts = utcnow() - dt.timedelta(hours=2)
    with live_server.database.connection_context():
        session = TreatmentSession.create(
            patient=patient,
            kind="infusion",
            starts_at=starts,
            wall_time=starts.strftime("%Y-%m-%dT%H:%M"),
            zone="UTC",
            duration_minutes=60,
            status=COMPLETED,
            number=number,
        )
        Intention.create(session=session, **intention)
    return session


def audio_state(page: Page, selector: str) -> dict:
    """Wait until the <audio> has its metadata (or failed); return readyState, duration and any error."""
    return page.evaluate(
        """async ([selector, ms]) => {
            const audio = document.querySelector(selector);
            if (audio.preload === "none" && audio.readyState === 0) {
                audio.preload = "metadata";
                audio.load();
            }
            const loaded = new Promise((resolve) => {
                if (audio.readyState >= 1 || audio.error) return resolve();
                audio.addEventListener("loadedmetadata", resolve, { once: true });
                audio.addEventListener("error", resolve, { once: true });
            });
            const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("audio never loaded")), ms));
            await Promise.race([loaded, timeout]);
            return { readyState: audio.readyState, duration: audio.duration, error: audio.error?.code ?? null };
        }""",
        [selector, JS_TIMEOUT_MS],
    )


def play_for_a_moment(page: Page, selector: str) -> float:
    """Play the <audio> for half a second; return how far it got."""
    return page.evaluate(
        """async ([selector, ms]) => {
            const audio = document.querySelector(selector);
            const played = (async () => {
                await audio.play();
                await new Promise((resolve) => setTimeout(resolve, 500));
                audio.pause();
                return audio.currentTime;
            })();
            const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("audio never played")), ms));
            return Promise.race([played, timeout]);
        }""",
        [selector, JS_TIMEOUT_MS],
    )


def test_after_a_session_the_intention_comes_back_and_an_entry_is_shared(patient, live_server, phone):
    session = completed_session(
        live_server, patient, explore="Why I keep bracing for bad news", carry="I am allowed to rest"
    )
    sign_in(phone, patient)
    # The Today screen points into the journal while the window is open.
    phone.get_by_role("link", name="Write or record a reflection").click()
    expect(phone).to_have_url(re.compile(rf"/journal/new\?session={session.id}$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Rest, and capture what comes up")
    intention = phone.get_by_role("region", name="Before session 3 you wrote:")
    expect(intention).to_contain_text("I am allowed to rest")
    expect(intention).to_contain_text("Why I keep bracing for bad news")
    expect(intention).to_contain_text("How did it land?")
    expect(phone.get_by_text("No driving or machinery for 24 hours")).to_be_visible()
    check_a11y(phone, "journal-new-after-session")

    phone.get_by_label("Write your reflection").fill("It landed softly.\n\nI noticed my shoulders drop.")
    phone.get_by_role("button", name="Save in my journal").click()
    expect(phone).to_have_url(re.compile(r"/journal(#entry-\d+)?$"))
    entry = phone.locator(".journal-item").first
    expect(entry).to_contain_text("I noticed my shoulders drop.")
    expect(entry).to_contain_text("Session 3")
    expect(entry).to_contain_text("Private")
    check_a11y(phone, "journal-list")

    entry.get_by_role("button", name=re.compile("^Share with my care team")).click()
    expect(phone.get_by_role("status")).to_contain_text("Shared with your care team.")
    expect(phone.locator(".journal-item").first.get_by_role("button", name=re.compile("^Stop sharing"))).to_be_visible()
    with live_server.database.connection_context():
        stored = JournalEntry.get(JournalEntry.patient == patient)
    assert stored.session_id == session.id and stored.shared_at is not None
    assert stored.prompt.startswith("Before session 3 you wrote: “I am allowed to rest”")

    phone.locator(".journal-item").first.get_by_role("link", name=re.compile("^Read or change")).click()
    expect(phone.get_by_label("Your reflection")).to_have_value(re.compile("It landed softly"))
    check_a11y(phone, "journal-edit")


def test_an_entry_written_for_longer_than_a_csrf_token_lives_is_still_saved(patient, live_server, phone):
    sign_in(phone, patient)
    phone.goto("/journal/new")
    phone.get_by_label("Write your reflection").fill("This took me all afternoon.")
    phone.evaluate("""() => { document.querySelector('input[name="csrf_token"]').value = "expired"; }""")
    phone.get_by_role("button", name="Save in my journal").click()
    expect(phone).to_have_url(re.compile(r"/journal(#entry-\d+)?$"))
    expect(phone.locator(".journal-item").first).to_contain_text("This took me all afternoon.")
    with live_server.database.connection_context():
        assert JournalEntry.select().where(JournalEntry.patient == patient).count() == 1


def test_a_general_prompt_and_an_empty_journal(patient, phone):
    sign_in(phone, patient)
    phone.goto("/journal")
    expect(phone.get_by_text("Nothing here yet.")).to_be_visible()
    check_a11y(phone, "journal-empty")
    phone.goto("/journal/new")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Write in your journal")
    check_a11y(phone, "journal-new-general")


def test_record_a_voice_note_and_play_it_back(patient, live_server, voice_dir, mic_phone):
    page = mic_phone
    sign_in(page, patient)
    page.goto("/journal/new")
    recorder = page.get_by_role("region", name="Record a voice note")
    # With MediaRecorder the recorder replaces the file field.
    expect(recorder.get_by_label("Choose a recording from your phone")).to_be_hidden()
    recorder.get_by_role("button", name="Start recording").click()
    expect(recorder.get_by_role("status")).to_have_text(re.compile("^Recording"))
    expect(recorder.get_by_text(re.compile(r"0:0[2-9] of 5:00"))).to_be_visible(timeout=5_000)
    check_a11y(page, "journal-recording")
    recorder.get_by_role("button", name="Stop recording").click()
    expect(recorder.get_by_role("status")).to_contain_text("Listen if you like, then save it or record again.")
    preview = audio_state(page, "[data-voice-audio]")
    assert preview["error"] is None and preview["readyState"] >= 1, preview

    recorder.get_by_role("button", name="Save this voice note").click()
    expect(recorder.get_by_role("status")).to_have_text(
        re.compile(r"^Saved: a voice note of 0:0[2-4]\. Only you can hear it until you share it\.$")
    )
    check_a11y(page, "journal-voice-saved")

    # The copy on the server plays back: it loads, has a length, and time moves when it plays.
    player = recorder.get_by_label("Your saved voice note")
    expect(player).to_have_attribute("src", re.compile(r"^/journal/voice/\d+$"))
    saved = audio_state(page, "[data-voice-audio]")
    assert saved["error"] is None and saved["readyState"] >= 1 and saved["duration"] > 0, saved
    assert play_for_a_moment(page, "[data-voice-audio]") > 0

    with live_server.database.connection_context():
        note = VoiceNote.get(VoiceNote.patient == patient)
    assert note.mime == "audio/webm" and note.shared_at is None
    stored = (voice_dir / note.stored_name).read_bytes()
    # MediaRecorder writes no Duration, but the block times give the length on the server.
    assert voice.probe_webm(stored).duration == pytest.approx(note.duration_seconds, abs=0.5)
    assert 1.5 <= note.duration_seconds <= 5

    page.goto("/journal")
    item = page.locator(f"#voice-{note.id}")
    expect(item).to_contain_text(re.compile(r"Voice note, 0:0[2-4]"))
    listed = audio_state(page, f"#voice-{note.id} audio")
    assert listed["error"] is None and listed["readyState"] >= 1, listed
    item.get_by_role("button", name=re.compile("^Share with my care team")).click()
    expect(page.locator(f"#voice-{note.id}")).to_contain_text("Shared")
    with live_server.database.connection_context():
        assert VoiceNote.get_by_id(note.id).shared_at is not None


RECORD_ONE_SECOND = """async ([type, ms]) => {
    const work = (async () => {
        if (!MediaRecorder.isTypeSupported(type)) return null;
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        const recorder = new MediaRecorder(stream, { mimeType: type });
        const chunks = [];
        recorder.ondataavailable = (event) => chunks.push(event.data);
        const stopped = new Promise((resolve) => (recorder.onstop = resolve));
        recorder.start(250);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        recorder.stop();
        await stopped;
        for (const track of stream.getTracks()) track.stop();
        const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
        let binary = "";
        for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return btoa(binary);
    })();
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("recording timed out")), ms));
    return Promise.race([work, timeout]);
}"""


@pytest.mark.parametrize("mime", ["audio/webm;codecs=opus", "audio/mp4", "audio/ogg;codecs=opus"])
def test_real_recordings_are_recognised_and_measured_by_their_bytes(patient, mic_phone, mime):
    """What Chromium's MediaRecorder writes, checked by the same code as an upload."""
    sign_in(mic_phone, patient)
    encoded = mic_phone.evaluate(RECORD_ONE_SECOND, [mime, JS_TIMEOUT_MS])
    if encoded is None:
        pytest.skip(f"this Chromium cannot record {mime}")
    data = base64.b64decode(encoded)
    kind, seconds = voice.check(data)  # no length from the page: the bytes must say it
    assert kind == mime.split(";")[0]
    assert seconds == pytest.approx(1.5, abs=0.5)


def test_an_entry_written_offline_is_sent_once_when_back_online(patient, live_server, phone):
    sign_in(phone, patient)
    assert wait_for_service_worker(phone) == "activated"
    phone.goto("/journal/new")
    phone.context.set_offline(True)
    phone.get_by_label("Write your reflection").fill("Written on the train, no signal.")
    phone.get_by_role("button", name="Save in my journal").click()
    expect(phone.locator("[data-journal-status]")).to_contain_text("Saved on this device.")
    expect(phone.get_by_label("Write your reflection")).to_have_value("")
    with live_server.database.connection_context():
        assert JournalEntry.select().where(JournalEntry.patient == patient).count() == 0

    phone.context.set_offline(False)
    expect(phone).to_have_url(re.compile(r"/journal#entry-\d+$"), timeout=15_000)
    expect(phone.locator(".journal-item").first).to_contain_text("Written on the train, no signal.")
    with live_server.database.connection_context():
        assert JournalEntry.select().where(JournalEntry.patient == patient).count() == 1


def finger_stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Draw with a finger (real touch events through Chromium's input pipeline), points in the canvas's 0..1."""
    box = page.locator("[data-draw-canvas]").bounding_box()
    cdp = page.context.new_cdp_session(page)
    at = [{"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]} for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [at[0]]})
    for point in at[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_a_drawing_made_offline_arrives_once_with_its_entry(patient, live_server, phone):
    """UP-02, DUR-04: the drawing waits in the outbox with its entry and arrives exactly once, as a PNG."""
    sign_in(phone, patient)
    assert wait_for_service_worker(phone) == "activated"
    phone.goto("/journal/new")
    pictures = phone.get_by_role("region", name="Draw or add a picture")
    expect(pictures.get_by_label("Choose pictures, or take a photo")).to_be_hidden()  # the buttons replace it
    expect(pictures.get_by_role("button", name="Take a photo")).to_be_visible()
    expect(pictures.get_by_role("button", name="Choose a picture")).to_be_visible()
    pictures.get_by_role("button", name="Draw", exact=True).click()
    expect(pictures.get_by_role("button", name="Draw", exact=True)).to_have_attribute("aria-expanded", "true")
    canvas = phone.locator("[data-draw-canvas]")
    expect(canvas).to_be_visible()
    assert canvas.evaluate("(c) => getComputedStyle(c).touchAction") == "none"
    assert canvas.bounding_box()["width"] <= 390

    finger_stroke(phone, [(0.2, 0.3), (0.35, 0.5), (0.5, 0.3), (0.65, 0.5), (0.8, 0.3)])
    pictures.get_by_text("Rose").click()
    finger_stroke(phone, [(0.2, 0.8), (0.8, 0.8)])
    # Undo takes the rose line away; clearing can be undone too, so it asks nothing.
    pictures.get_by_role("button", name="Undo").click()
    pictures.get_by_role("button", name="Clear").click()
    expect(pictures.get_by_role("button", name="Add the drawing")).to_be_disabled()
    pictures.get_by_role("button", name="Undo").click()
    expect(pictures.get_by_role("button", name="Add the drawing")).to_be_enabled()
    check_a11y(phone, "journal-new-drawing")

    phone.context.set_offline(True)
    phone.get_by_label("Write your reflection").fill("I drew what I could not say.")
    phone.get_by_role("button", name="Save in my journal").click()  # the drawing not yet added goes too
    expect(phone.locator("[data-journal-status]")).to_contain_text("Saved on this device.")
    with live_server.database.connection_context():
        assert JournalEntry.select().where(JournalEntry.patient == patient).count() == 0

    phone.context.set_offline(False)
    expect(phone).to_have_url(re.compile(r"/journal#entry-\d+$"), timeout=15_000)
    entry = phone.locator(".journal-item").first
    expect(entry).to_contain_text("I drew what I could not say.")
    image = entry.get_by_role("img", name=re.compile("^Drawing from "))
    expect(image).to_be_visible()
    assert image.evaluate("(i) => i.decode().then(() => i.naturalWidth)") == 1000
    check_a11y(phone, "journal-list-drawing")
    assert phone.evaluate("() => self.aftercareOutbox.count()") == 0

    with live_server.database.connection_context():
        assert JournalEntry.select().where(JournalEntry.patient == patient).count() == 1
        [stored] = JournalImage.select().where(JournalImage.patient == patient)
    assert (stored.kind, stored.mime, stored.width, stored.height) == ("drawing", "image/png", 1000, 1000)
    with live_server.app.app_context():
        drawing = Image.open(images.path_of(stored)).convert("RGB")
    colours = {colour for _, colour in drawing.getcolors(maxcolors=1_000_000)}
    assert (255, 255, 255) in colours and (0x2F, 0x3B, 0x4A) in colours  # ink on paper
    assert (0xD9, 0x85, 0x94) not in colours  # the rose line was undone
