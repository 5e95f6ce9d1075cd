"""The journal and voice notes: exactly once, private until shared (AC-03), crisis words (CLIN-04),
uploads checked by their bytes (UP-01), downloads audited (LOG-01), and the export (PRIV-01)."""

import csv
import datetime as dt
import io
import json
import re
import stat
import struct
import uuid
import zipfile

import pytest
from flask import render_template
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from aftercare.journal import entries
from aftercare.journal import prompts
from aftercare.journal import voice
from aftercare.journal.export import journal_section
from aftercare.localtime import to_local
from aftercare.models import AuditEvent
from aftercare.models import COMPLETED
from aftercare.models import Intention
from aftercare.models import JournalEntry
from aftercare.models import SafetyAlert
from aftercare.models import TreatmentSession
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.models import VoiceNote
from aftercare.mydata import export
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.factories import afternoon_zone
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

CRISIS_TEXT = "Some days I want to die, honestly."

# --------------------------------------------------------------------------- audio built by hand
# Just enough of each container for the checks: magic bytes, and where the length is written.

UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def ebml(element_id: int, payload: bytes) -> bytes:
    return (
        element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
        + ((1 << 56) | len(payload)).to_bytes(8, "big")
        + payload
    )


def webm(block_ms=(), duration_ms=None, video=False) -> bytes:
    """A WebM as MediaRecorder streams it: Segment and Clusters of unknown size, usually no Duration."""
    info = ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
    if duration_ms is not None:
        info += ebml(0x4489, struct.pack(">d", duration_ms))
    tracks = ebml(0x1654AE6B, ebml(0xAE, ebml(0x83, bytes([1 if video else 2]))))
    clusters = b""
    for start in sorted({ms // 1000 * 1000 for ms in block_ms}):
        blocks = b"".join(
            ebml(0xA3, b"\x81" + struct.pack(">h", ms - start) + b"\x80" + b"\x00" * 40)
            for ms in block_ms
            if ms // 1000 * 1000 == start
        )
        clusters += b"\x1f\x43\xb6\x75" + UNKNOWN_SIZE + ebml(0xE7, start.to_bytes(4, "big")) + blocks
    header = ebml(0x1A45DFA3, ebml(0x4282, b"webm"))
    return header + b"\x18\x53\x80\x67" + UNKNOWN_SIZE + ebml(0x1549A966, info) + tracks + clusters


def ogg_page(header_type: int, granule: int, sequence: int, packet: bytes, serial: int = 7) -> bytes:
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = b"OggS" + bytes([0, header_type]) + struct.pack("<qII", granule, serial, sequence) + b"\0" * 4
    return header + bytes([len(lacing)]) + bytes(lacing) + packet


def ogg_opus(seconds: float, pre_skip: int = 312) -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIh", pre_skip, 48_000, 0) + b"\0"
    tags = b"OpusTags" + struct.pack("<II", 0, 0)
    return (
        ogg_page(0x02, 0, 0, head)
        + ogg_page(0, 0, 1, tags)
        + ogg_page(0, pre_skip + 48_000, 2, b"\xfc" * 300)
        + ogg_page(0x04, pre_skip + int(seconds * 48_000), 3, b"\xfc" * 300)
    )


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def mp4_track(handler: bytes = b"soun", scale: int = 48_000, duration: int = 0) -> bytes:
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">III", 0, 0, 1) + b"\0" * 68)
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, scale, duration) + b"\0" * 4)
    hdlr = full_box(b"hdlr", 0, 0, b"\0" * 4 + handler + b"\0" * 12 + b"Sound\0")
    return box(b"trak", tkhd + box(b"mdia", mdhd + hdlr))


def mp4(seconds: float, handler: bytes = b"soun", brand: bytes = b"M4A ") -> bytes:
    ftyp = box(b"ftyp", brand + b"\0\0\0\0" + b"isomM4A ")
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, int(seconds * 1000)) + b"\0" * 80)
    return ftyp + box(b"moov", mvhd + mp4_track(handler)) + box(b"mdat", b"\0" * 200)


def fragmented_mp4(sample_durations: list[int]) -> bytes:
    """Fragmented MP4, as MediaRecorder writes it: the movie header says 0; the fragments know."""
    ftyp = box(b"ftyp", b"iso5\0\0\0\0iso5iso6mp41")
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, 0) + b"\0" * 80)
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, 0, 0, 0)))
    traf = box(
        b"traf",
        full_box(b"tfhd", 0, 0, struct.pack(">I", 1))
        + full_box(b"tfdt", 1, 0, struct.pack(">Q", 0))
        + full_box(
            b"trun",
            0,
            0x100,
            struct.pack(">I", len(sample_durations)) + b"".join(struct.pack(">I", d) for d in sample_durations),
        ),
    )
    moof = box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", 1)) + traf)
    return ftyp + box(b"moov", mvhd + mp4_track() + mvex) + moof + box(b"mdat", b"\0" * 200)


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200
WEBM_HEADER_ONLY = ebml(0x1A45DFA3, ebml(0x4282, b"webm")) + b"\x18\x53\x80\x67" + UNKNOWN_SIZE


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def voice_dir(app, tmp_path):
    app.config["VOICE_DIR"] = str(tmp_path / "voice")
    return tmp_path / "voice"


@pytest.fixture
def clinic(app, voice_dir):
    make_admin()  # without one, sign-in goes to first-run setup
    clinician = make_clinician(name="Dr. Rowan Lee")
    return {
        "clinician": clinician,
        "patient": make_patient(clinician, name="Pat Example"),
        "other": make_patient(clinician, name="Other Person"),
        "stranger": make_clinician(name="Dr. Not Theirs"),
    }


@pytest.fixture
def patient(clinic, auth):
    auth.login(clinic["patient"])
    return clinic["patient"]


@pytest.fixture
def token(client, patient):
    return client.get("/api/v1/csrf").get_json()["csrf_token"]


def signed_in(app, user):
    other = app.test_client()
    response = Auth(other).login(user)
    assert response.status_code == 302
    return other


def page_token(client, path="/journal/new") -> str:
    with client.get(path) as response:
        return csrf_from(response.get_data(as_text=True))


def post_api(client, token, body):
    return client.post("/api/v1/journal", json=body, headers={"X-CSRFToken": token})


def entry_body(**fields):
    return {"client_id": str(uuid.uuid4()), "body": "The room felt warm.", "prompt": "", **fields}


def multipart(fields: dict) -> dict:
    """Encode a form in memory: the test client spools large bodies to a temporary file it never closes."""
    boundary, body = encode_multipart(fields)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(client, token, data: bytes, *, duration="", client_id=None, filename="voice-note.webm", mime="audio/webm"):
    fields = {
        "audio": FileStorage(io.BytesIO(data), filename=filename, content_type=mime),
        "client_id": client_id or str(uuid.uuid4()),
        "duration": str(duration),
    }
    return client.post(
        "/journal/voice", headers={"Accept": "application/json", "X-CSRFToken": token}, **multipart(fields)
    )


def stored_files(voice_dir) -> list:
    return sorted(voice_dir.iterdir()) if voice_dir.exists() else []


def completed_session(patient, *, ended_hours_ago=1.0, number=3, minutes=60, **intention):
    starts = utcnow() - dt.timedelta(hours=ended_hours_ago, minutes=minutes)
    session = TreatmentSession.create(
        patient=patient,
        kind="infusion",
        starts_at=starts,
        wall_time=starts.strftime("%Y-%m-%dT%H:%M"),
        zone="UTC",
        duration_minutes=minutes,
        status=COMPLETED,
        number=number,
    )
    if intention:
        Intention.create(session=session, **intention)
    return session


def audit(action: str):
    return AuditEvent.select().where(AuditEvent.action == action)


# --------------------------------------------------------------------------- entries


def test_write_list_edit_and_delete_an_entry(client, patient):
    token = page_token(client)
    client_id = str(uuid.uuid4())
    response = client.post("/journal/new", data={"csrf_token": token, "client_id": client_id, "body": "First light."})
    assert response.status_code == 302 and "/journal" in response.headers["Location"]
    entry = JournalEntry.get(JournalEntry.client_id == client_id)
    assert (entry.patient_id, entry.body, entry.shared_at) == (patient.id, "First light.", None)
    assert audit("journal_entry_written").count() == 1

    later = entries.submit(patient, entry_body(body="Second\n\nwith a second paragraph"))[0]
    with client.get("/journal") as page:
        html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("with a second paragraph") < html.index("First light.")  # newest first
    assert html.count("Private</span>") == 2

    with client.get(f"/journal/{entry.id}/edit") as page:
        assert "First light." in page.get_data(as_text=True)
    response = client.post(f"/journal/{entry.id}/edit", data={"csrf_token": token, "body": "First light, changed."})
    assert response.status_code == 302
    assert JournalEntry.get_by_id(entry.id).body == "First light, changed."

    response = client.post(f"/journal/{later.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert not JournalEntry.select().where(JournalEntry.id == later.id).exists()
    assert audit("journal_entry_deleted").count() == 1


def test_an_entry_through_the_api_is_stored_once(client, token, patient):
    body = entry_body(body="Written offline.")
    first = post_api(client, token, body)
    assert first.status_code == 201
    assert first.get_json()["client_id"] == body["client_id"] and first.get_json()["shared"] is False
    again = post_api(client, token, body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    different = post_api(client, token, {**body, "body": "Something else."})
    assert different.status_code == 422
    assert JournalEntry.select().where(JournalEntry.patient == patient).count() == 1
    assert JournalEntry.get().body == "Written offline."


def test_the_api_needs_a_csrf_token_and_a_patient(app, client, clinic, patient):
    assert client.post("/api/v1/journal", json=entry_body()).status_code == 400
    assert app.test_client().post("/api/v1/journal", json=entry_body()).status_code == 401
    clinician = signed_in(app, clinic["clinician"])
    assert clinician.post("/api/v1/journal", json=entry_body()).status_code in (400, 403)
    assert JournalEntry.select().count() == 0


@pytest.mark.parametrize(
    ("length", "status"),
    [(20_000, 201), (20_001, 422), (50_000, 422)],
)
def test_an_entry_is_at_most_20000_characters(client, token, patient, length, status):
    response = post_api(client, token, entry_body(body="x" * length))
    assert response.status_code == status
    if status == 422:
        assert "20,000" in response.get_json()["fields"]["body"]
    assert JournalEntry.select().count() == (1 if status == 201 else 0)


def test_line_breaks_count_once_however_the_browser_sends_them(client, token, patient):
    # A textarea counts a line break as one character and the form sends it as two (CRLF).
    body = "line\r\n" * 3_000  # 18,000 characters as typed, 21,000 as sent
    assert post_api(client, token, entry_body(body=body)).status_code == 201
    assert "\r" not in JournalEntry.get().body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n "}, "body"),
        ({"body": 12}, "body"),
        ({"body": None}, "body"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"prompt": "p" * 501}, "prompt"),
        ({"prompt": ["a"]}, "prompt"),
        ({"session_id": "abc"}, "session_id"),
        ({"session_id": True}, "session_id"),
    ],
)
def test_bad_entries_get_a_clear_message_and_nothing_is_stored(client, token, patient, changes, field):
    response = post_api(client, token, entry_body(**changes))
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert JournalEntry.select().count() == 0


def test_a_50000_character_entry_in_the_form_is_refused_and_given_back(client, patient):
    token = page_token(client)
    text = "word " * 10_000
    response = client.post("/journal/new", data={"csrf_token": token, "client_id": str(uuid.uuid4()), "body": text})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please keep an entry under 20,000 characters; this one has 50,000." in html
    assert text.strip() in html  # what they wrote is still in the box
    assert JournalEntry.select().count() == 0


def test_crisis_words_raise_an_alert_and_show_support(client, patient):
    token = page_token(client)
    response = client.post(
        "/journal/new", data={"csrf_token": token, "client_id": str(uuid.uuid4()), "body": CRISIS_TEXT}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/support")
    alert = SafetyAlert.get()
    entry = JournalEntry.get()
    written = to_local(entry.created_at, patient.timezone).strftime("%-d %B %Y")
    assert (alert.patient_id, alert.reason, alert.detail) == (
        patient.id,
        "crisis_language",
        f"Crisis language in a journal entry written {written}",
    )
    assert CRISIS_TEXT not in alert.detail
    assert entry.shared_at is None  # the alert says there were crisis words; the entry stays private

    # Editing the same entry while its alert is open shows support again, without a second alert...
    response = client.post(f"/journal/{entry.id}/edit", data={"csrf_token": token, "body": "I'm better off dead."})
    assert response.headers["Location"].endswith("/support")
    assert SafetyAlert.select().count() == 1
    # ...but once a clinician has acknowledged it, the same words are news again.
    SafetyAlert.update(acknowledged_at=utcnow(), note="Called her").execute()
    client.post(f"/journal/{entry.id}/edit", data={"csrf_token": token, "body": "I'm better off dead, still."})
    assert SafetyAlert.open().count() == 1 and SafetyAlert.select().count() == 2


def test_crisis_words_through_the_api_say_so(client, token, patient):
    response = post_api(client, token, entry_body(body=CRISIS_TEXT))
    assert response.status_code == 201 and response.get_json()["crisis"] is True
    assert SafetyAlert.select().where(SafetyAlert.reason == "crisis_language").count() == 1


def test_the_journal_pages_back_through_every_entry(client, patient):
    start = utcnow() - dt.timedelta(days=60)
    for n in range(entries.PAGE_SIZE + 5):
        entry, _ = entries.submit(patient, entry_body(body=f"Entry number {n}."))
        JournalEntry.update(created_at=start + dt.timedelta(days=n)).where(JournalEntry.id == entry.id).execute()

    first = client.get("/journal").get_data(as_text=True)
    newest = entries.PAGE_SIZE + 4
    assert f"Entry number {newest}." in first and "Entry number 5." in first
    assert "Entry number 4." not in first and "Newest entries" not in first
    older = re.search(r'href="(/journal\?before=[^"]+)" rel="next">Older entries', first).group(1)

    second = client.get(older).get_data(as_text=True)
    assert [f"Entry number {n}." in second for n in (4, 0, 5)] == [True, True, False]
    assert "Older entries" not in second and "← Newest entries" in second
    for bad in ("yesterday", "2026-13-01"):
        response = client.get(f"/journal?before={bad}")
        assert response.status_code == 400
        assert "Go back to the newest entries" in response.get_data(as_text=True)


def test_entries_are_private_until_shared_with_one_tap(app, client, clinic, patient):
    entry = entries.submit(patient, entry_body(body="Just for me, for now."))[0]
    assert entries.shared_for_patient(patient) == []
    token = page_token(client)

    for _ in range(2):  # a double tap shares once
        response = client.post(f"/journal/{entry.id}/share", data={"csrf_token": token, "share": "1"})
        assert response.status_code == 302
    assert JournalEntry.get_by_id(entry.id).shared_at is not None
    assert [item.row.id for item in entries.shared_for_patient(patient)] == [entry.id]
    assert audit("journal_entry_shared").count() == 1

    client.post(f"/journal/{entry.id}/share", data={"csrf_token": token, "share": "0"})
    assert JournalEntry.get_by_id(entry.id).shared_at is None
    assert entries.shared_for_patient(patient) == []
    assert audit("journal_entry_unshared").count() == 1
    assert client.post(f"/journal/{entry.id}/share", data={"csrf_token": token}).status_code == 400


def test_another_patients_entry_is_not_found(client, clinic, patient):
    theirs = entries.submit(clinic["other"], entry_body(body="Theirs."))[0]
    token = page_token(client)
    assert client.get(f"/journal/{theirs.id}/edit").status_code == 404
    assert client.post(f"/journal/{theirs.id}/edit", data={"csrf_token": token, "body": "x"}).status_code == 404
    assert client.post(f"/journal/{theirs.id}/share", data={"csrf_token": token, "share": "1"}).status_code == 404
    assert client.post(f"/journal/{theirs.id}/delete", data={"csrf_token": token}).status_code == 404
    kept = JournalEntry.get_by_id(theirs.id)
    assert (kept.body, kept.shared_at) == ("Theirs.", None)
    with client.get("/journal") as page:
        assert "Theirs." not in page.get_data(as_text=True)


def test_ids_too_large_for_the_database_are_not_found(client, token, patient):
    huge = 10**30
    assert client.get(f"/journal/{huge}/edit").status_code == 404
    with client.get(f"/journal/voice/{huge}") as response:
        assert response.status_code == 404
    assert client.get(f"/journal/new?session={huge}").status_code == 404
    assert post_api(client, token, entry_body(session_id=huge)).status_code == 422


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=15,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(st.sampled_from(["client_id", "body", "prompt", "session_id", "x"]), json_values) | json_values
)
def test_no_api_body_gets_a_500(client, token, patient, body):
    response = post_api(client, token, body)
    assert response.status_code in (200, 201, 400, 422), response.get_data(as_text=True)[:200]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.dictionaries(
        st.sampled_from(["client_id", "body", "prompt", "session_id", "duration", "share"]),
        st.text(max_size=80) | st.sampled_from(["", "0", "1", "-1", "99999999999999999999999", "nan", "1e999"]),
    ),
    path=st.sampled_from(["/journal/new", "/journal/voice"]),
)
def test_no_form_gets_a_500(app, client, patient, fields, path):
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(path, data=fields)
    assert response.status_code < 500, (path, fields)


# --------------------------------------------------------------------------- prompts


def test_after_a_session_the_intention_is_shown_back(client, patient):
    # Mid-afternoon for the patient now, so "an hour ago" is their session day at any UTC hour.
    User.update(timezone=afternoon_zone()).where(User.id == patient.id).execute()
    session = completed_session(patient, number=3, explore="why I hold on to the old house", carry="I can let it be")
    with client.get("/journal/new") as page:
        html = page.get_data(as_text=True)
    assert "Rest, and capture what comes up" in html  # an hour after: the session day
    assert "Before session 3 you wrote:" in html
    assert "I can let it be" in html and "why I hold on to the old house" in html
    assert "How did it land?" in html
    assert "No driving or machinery for 24 hours" in html
    assert f'name="session_id" type="hidden" value="{session.id}"' in html

    token = csrf_from(html)
    prompt = prompts.choose(patient).text
    client.post(
        "/journal/new",
        data={
            "csrf_token": token,
            "client_id": str(uuid.uuid4()),
            "body": "Softer.",
            "prompt": prompt,
            "session_id": session.id,
        },
    )
    entry = JournalEntry.get()
    assert entry.session_id == session.id
    assert entry.prompt.startswith("Before session 3 you wrote: “I can let it be”")


@pytest.mark.parametrize(
    ("hours_after_start", "day", "heading"),
    [
        (1.5, 0, "Rest, and capture what comes up"),
        (26, 1, "Day 1 after session 2"),
        (50, 2, "Day 2 after session 2"),
        (70, 3, "Day 3 after session 2"),
    ],
)
def test_prompts_follow_the_days_of_the_window(clinic, hours_after_start, day, heading):
    patient = clinic["patient"]
    start = dt.datetime(2025, 3, 10, 10, 0)
    session = TreatmentSession.create(
        patient=patient, kind="infusion", starts_at=start, wall_time="2025-03-10T10:00", zone="UTC",
        duration_minutes=60, status=COMPLETED, number=2,
    )  # fmt: skip
    Intention.create(session=session, explore="grief")
    prompt = prompts.choose(patient, now=start + dt.timedelta(hours=hours_after_start))
    assert (prompt.day, prompt.heading, prompt.session.id) == (day, heading, session.id)
    assert prompt.intention == (("What you hoped to explore", "grief"),)
    if day:
        assert "What do you want to carry forward?" in prompt.questions
    assert len(prompt.text) <= prompts.PROMPT_MAX


def test_outside_the_window_a_general_prompt_or_a_look_back(client, patient):
    old = completed_session(patient, ended_hours_ago=24 * 10, number=1, carry="breathe")
    assert prompts.choose(patient).heading == "Write in your journal"
    with client.get(f"/journal/new?session={old.id}") as page:
        html = page.get_data(as_text=True)
    assert "Looking back on session 1" in html and "breathe" in html


def test_another_patients_session_is_not_found(client, clinic, patient):
    theirs = completed_session(clinic["other"])
    assert client.get(f"/journal/new?session={theirs.id}").status_code == 404
    assert client.get("/journal/new?session=nope").status_code == 404
    token = page_token(client)
    response = client.post(
        "/journal/new",
        data={"csrf_token": token, "client_id": str(uuid.uuid4()), "body": "x", "session_id": theirs.id},
    )
    assert response.status_code == 404
    assert JournalEntry.select().count() == 0


def test_a_long_intention_is_shortened_in_the_stored_prompt(clinic):
    session = completed_session(clinic["patient"], carry="a" * 1000)
    prompt = prompts.choose(clinic["patient"], session)
    assert len(prompt.text) <= prompts.PROMPT_MAX and "…" in prompt.text


# --------------------------------------------------------------------------- voice notes: upload


ACCEPTED = [
    pytest.param(WEBM_HEADER_ONLY, 2.0, voice.WEBM, 2.0, id="webm-header-client-duration"),
    pytest.param(webm(block_ms=range(0, 2_520, 20)), "", voice.WEBM, 2.5, id="webm-block-times"),
    pytest.param(webm(duration_ms=4_000.0), 1.0, voice.WEBM, 4.0, id="webm-duration-element"),
    pytest.param(ogg_opus(3.0), "", voice.OGG, 3.0, id="ogg-opus"),
    pytest.param(mp4(4.0), "", voice.MP4, 4.0, id="mp4"),
    pytest.param(fragmented_mp4([960] * 250), 99, voice.MP4, 5.0, id="fragmented-mp4"),
    pytest.param(mp4(300.4), "", voice.MP4, 300.0, id="mp4-a-frame-over-5-minutes"),
]


def test_a_forged_sample_count_costs_no_more_reads_than_the_file_has_bytes(monkeypatch):
    """Fragments that each claim every sample up to the end of the file are read only as far as their box."""
    trun = full_box(b"trun", 0, 0x100, struct.pack(">I", 0) + struct.pack(">I", 960))
    moof = box(b"moof", box(b"traf", full_box(b"tfhd", 0, 0, struct.pack(">I", 1)) + trun))
    head = fragmented_mp4([960])[: -len(box(b"mdat", b"\0" * 200))]
    data = bytearray(head + moof * 2_000)
    count_at = len(moof) - 8  # the trun's sample count, from the start of each moof
    for n in range(2_000):
        where = len(head) + n * len(moof) + count_at
        # Exactly as many samples as there are bytes left: the old reader went to the end each time.
        data[where : where + 4] = struct.pack(">I", (len(data) - where - 4) // 4)
    data = bytes(data)
    reads = 0
    real_uint = voice._uint

    def counting_uint(*args):
        nonlocal reads
        reads += 1
        return real_uint(*args)

    monkeypatch.setattr(voice, "_uint", counting_uint)
    voice.probe_mp4(data)
    assert reads < len(data) // 8


@pytest.mark.parametrize(("data", "declared", "mime", "seconds"), ACCEPTED)
def test_voice_notes_are_accepted_by_their_bytes(client, token, patient, voice_dir, data, declared, mime, seconds):
    # Named and labelled as WebM whatever it is: only the bytes count.
    response = upload(client, token, data, duration=declared)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["mime"] == mime and answer["duration"] == pytest.approx(seconds, abs=0.01)
    note = VoiceNote.get()
    assert (note.patient_id, note.size, note.shared_at) == (patient.id, len(data), None)
    [path] = stored_files(voice_dir)
    assert path.name == note.stored_name and len(path.name) == 32 and int(path.name, 16) >= 0
    assert path.read_bytes() == data
    assert stat.S_IMODE(voice_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit("voice_note_recorded").count() == 1


REFUSED = [
    pytest.param(PNG, 2, 422, "not a recording", id="png-named-webm"),
    pytest.param(b"just some text, honestly" * 10, 2, 422, "not a recording", id="text-named-webm"),
    pytest.param(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 100, 2, 422, "not a recording", id="heic-photo"),
    pytest.param(mp4(3.0, handler=b"vide"), 3, 422, "video", id="mp4-video"),
    pytest.param(webm(block_ms=[0, 500], video=True), 1, 422, "video", id="webm-video"),
    pytest.param(b"", 2, 422, "empty", id="empty"),
    pytest.param(mp4(330.0), 3, 422, "up to 5 minutes", id="mp4-over-5-minutes-whatever-the-page-says"),
    pytest.param(ogg_opus(400.0), "", 422, "up to 5 minutes", id="ogg-over-5-minutes"),
    pytest.param(webm(block_ms=[0, 310_000]), 2, 422, "up to 5 minutes", id="webm-blocks-over-5-minutes"),
    pytest.param(WEBM_HEADER_ONLY, 330, 422, "up to 5 minutes", id="webm-client-says-over-5-minutes"),
    pytest.param(WEBM_HEADER_ONLY + b"\0" * 1_000_000, 1, 422, "too large for a recording of 0:01", id="implausible"),
    pytest.param(WEBM_HEADER_ONLY, "", 422, "could not tell how long", id="no-length-anywhere"),
    pytest.param(WEBM_HEADER_ONLY, "soon", 422, "not a number", id="length-not-a-number"),
    pytest.param(WEBM_HEADER_ONLY, "nan", 422, "not a number", id="length-nan"),
    pytest.param(WEBM_HEADER_ONLY + b"\0" * (10 * 1024 * 1024), 250, 413, "larger than 10 MiB", id="over-10-mib"),
]


@pytest.mark.parametrize(("data", "declared", "status", "message"), REFUSED)
def test_voice_notes_that_are_not_short_audio_are_refused(
    client, token, patient, voice_dir, data, declared, status, message
):
    response = upload(client, token, data, duration=declared)
    assert response.status_code == status
    assert message in response.get_json()["message"]
    assert VoiceNote.select().count() == 0
    assert stored_files(voice_dir) == []  # nothing left behind


def test_a_refused_upload_in_the_plain_form_says_why_on_the_page(client, patient, voice_dir):
    token = page_token(client)
    response = client.post(
        "/journal/voice",
        data={
            "csrf_token": token,
            "client_id": str(uuid.uuid4()),
            "audio": (io.BytesIO(PNG), "photo.m4a", "audio/mp4"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not a recording aftercare can keep" in response.get_data(as_text=True)
    response = client.post(
        "/journal/voice",
        data={
            "csrf_token": token,
            "client_id": str(uuid.uuid4()),
            "audio": (io.BytesIO(mp4(3)), "memo.m4a", "audio/x-m4a"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and "#voice-" in response.headers["Location"]
    assert VoiceNote.get().mime == voice.MP4


def test_a_voice_note_upload_is_stored_once(client, token, patient, voice_dir):
    client_id = str(uuid.uuid4())
    first = upload(client, token, mp4(3), client_id=client_id)
    again = upload(client, token, mp4(3), client_id=client_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert upload(client, token, mp4(4), client_id=client_id).status_code == 422
    assert VoiceNote.select().count() == 1 and len(stored_files(voice_dir)) == 1


def test_a_failed_database_write_leaves_no_file(app, clinic, voice_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(voice.AuditEvent, "record", broken)
    with app.app_context(), pytest.raises(RuntimeError):
        voice.store(clinic["patient"], mp4(3), client_id=str(uuid.uuid4()))
    assert VoiceNote.select().count() == 0
    assert stored_files(voice_dir) == []


def test_orphaned_files_are_removed_and_kept_ones_are_not(app, clinic, voice_dir):
    with app.app_context():
        note, _ = voice.store(clinic["patient"], mp4(3), client_id=str(uuid.uuid4()))
        (voice_dir / ("0" * 32)).write_bytes(b"left over by a crash")
        assert voice.remove_orphans(older_than=dt.timedelta(hours=1)) == 0  # too young to tell
        assert voice.remove_orphans(older_than=dt.timedelta(0)) == 1
    assert [p.name for p in stored_files(voice_dir)] == [note.stored_name]


# --------------------------------------------------------------------------- voice notes: download, share, delete


@pytest.fixture
def note(client, token, patient):
    response = upload(client, token, ogg_opus(2.0))
    assert response.status_code == 201
    return VoiceNote.get_by_id(response.get_json()["id"])


def test_the_owner_downloads_a_voice_note_as_an_attachment(client, note):
    with client.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 200
        assert response.mimetype == "audio/ogg"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Disposition"].endswith(".ogg")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.data == ogg_opus(2.0)
    assert audit("voice_note_downloaded").count() == 0  # the patient's own listening is not a disclosure


def test_a_clinician_hears_a_voice_note_only_once_it_is_shared(app, client, clinic, note, monkeypatch):
    clinician = signed_in(app, clinic["clinician"])
    with clinician.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 404  # private (AC-03)

    token = page_token(client)
    client.post(f"/journal/voice/{note.id}/share", data={"csrf_token": token, "share": "1"})
    assert audit("voice_note_shared").count() == 1
    with clinician.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
    [row] = audit("voice_note_downloaded")
    assert (row.actor_id, row.actor_role, row.patient_id) == (clinic["clinician"].id, "clinician", clinic["patient"].id)
    # An <audio> element asking for the rest of the file is the same listen: not a second row.
    with clinician.get(f"/journal/voice/{note.id}", headers={"Range": "bytes=100-"}) as response:
        assert response.status_code == 206
    with clinician.get(f"/journal/voice/{note.id}", headers={"Range": "bytes=0-"}) as response:
        assert response.status_code == 206
    assert audit("voice_note_downloaded").count() == 1
    # Later, any request that returns audio is a new listen, whichever bytes it starts from:
    # a download cannot dodge the log by skipping byte 0 (LOG-01).
    monkeypatch.setattr(voice, "LISTEN_WINDOW", dt.timedelta(0))  # audit rows cannot be aged
    for ranges in ("bytes=1-", f"bytes=-{note.size}"):
        with clinician.get(f"/journal/voice/{note.id}", headers={"Range": ranges}) as response:
            assert response.status_code == 206
    assert audit("voice_note_downloaded").count() == 3

    stranger = signed_in(app, clinic["stranger"])
    with stranger.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 404  # no care relationship
    admin = signed_in(app, make_admin())
    with admin.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 403

    client.post(f"/journal/voice/{note.id}/share", data={"csrf_token": token, "share": "0"})
    with clinician.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 404
    assert audit("voice_note_downloaded").count() == 3


def test_another_patients_voice_note_is_not_found(app, clinic, note, voice_dir):
    other = signed_in(app, clinic["other"])
    token = page_token(other)
    with other.get(f"/journal/voice/{note.id}") as response:
        assert response.status_code == 404
    assert other.post(f"/journal/voice/{note.id}/share", data={"csrf_token": token, "share": "1"}).status_code == 404
    assert other.post(f"/journal/voice/{note.id}/delete", data={"csrf_token": token}).status_code == 404
    assert VoiceNote.get_by_id(note.id).shared_at is None
    assert len(stored_files(voice_dir)) == 1


def test_deleting_a_voice_note_removes_its_file(client, note, voice_dir):
    token = page_token(client)
    response = client.post(f"/journal/voice/{note.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert VoiceNote.select().count() == 0
    assert stored_files(voice_dir) == []
    assert audit("voice_note_deleted").count() == 1


def test_the_journal_lists_voice_notes_with_a_player(client, note):
    with client.get("/journal") as page:
        html = page.get_data(as_text=True)
    assert f'src="/journal/voice/{note.id}"' in html
    assert "Voice note, 0:02" in html


# --------------------------------------------------------------------------- the care team's view


def test_the_care_team_partial_shows_only_what_is_shared(app, clinic, voice_dir):
    patient = clinic["patient"]
    session = completed_session(patient, number=4)
    with app.app_context():
        shared_note, _ = voice.store(patient, mp4(65), client_id=str(uuid.uuid4()), session=session)
        voice.store(patient, mp4(3), client_id=str(uuid.uuid4()))  # private
    entry = entries.submit(
        patient, entry_body(body="It landed <softly>.", prompt="How did it land?", session_id=session.id)
    )[0]
    entries.submit(patient, entry_body(body="Private thoughts."))
    entries.set_shared(patient, entry, True)
    entries.set_shared(patient, shared_note, True)

    items = entries.shared_for_patient(patient)
    assert [(i.kind, i.row.id) for i in items] == [("entry", entry.id), ("voice", shared_note.id)]
    with app.test_request_context():
        html = render_template("journal/_shared.html", patient=patient, shared_journal=items)
    assert "It landed &lt;softly&gt;." in html  # escaped (IN-02)
    assert "How did it land?" in html and "Session 4" in html
    assert f'<audio controls preload="none" src="/journal/voice/{shared_note.id}"' in html
    assert "Voice note, 1:05" in html
    assert "Private thoughts." not in html


# --------------------------------------------------------------------------- export


def test_the_export_section_holds_entries_and_voice_notes(app, clinic, voice_dir):
    patient = clinic["patient"]
    session = completed_session(patient, number=2)
    entries.submit(patient, entry_body(body='=HYPERLINK("http://x")', prompt="Day 1", session_id=session.id))
    entries.submit(clinic["other"], entry_body(body="Not theirs."))
    with app.test_request_context():
        note, _ = voice.store(patient, ogg_opus(2.0), client_id=str(uuid.uuid4()))
        entries.set_shared(patient, note, True)
        section = journal_section(patient)
        archive, _ = export.build_zip(patient, [section], "Test clinic")
    assert section.key == "journal"
    [entry] = section.records["entries"]
    assert (entry["body"], entry["session_number"], entry["shared"]) == ('=HYPERLINK("http://x")', 2, False)
    [voice_item] = section.records["voice_notes"]
    assert (
        voice_item["shared"] is True and voice_item["file"].startswith("voice/") and voice_item["file"].endswith(".ogg")
    )

    with archive, zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert "journal.csv" in names and voice_item["file"] in names
        assert zipped.read(voice_item["file"]) == ogg_opus(2.0)
        rows = list(csv.reader(io.StringIO(zipped.read("journal.csv").decode("utf-8-sig"))))
        document = json.loads(zipped.read(export.JSON_NAME))
    assert rows[0][:5] == ["written_at_utc", "written_at_local", "session_number", "prompt", "entry"]
    assert rows[1][4] == '\'=HYPERLINK("http://x")'  # IN-04
    assert document["journal"]["voice_notes"][0]["file"] == voice_item["file"]
    assert "Not theirs." not in json.dumps(document)


def test_the_patients_export_includes_the_journal(client, patient, voice_dir, token):
    entries.submit(patient, entry_body(body="In the export."))
    upload(client, token, mp4(3))
    with client.get("/my-data/export.zip") as response:
        with zipfile.ZipFile(io.BytesIO(response.data)) as zipped:
            names = zipped.namelist()
            document = json.loads(zipped.read(export.JSON_NAME))
    assert "journal.csv" in names and any(name.startswith("voice/") for name in names)
    assert document["journal"]["entries"][0]["body"] == "In the export."
