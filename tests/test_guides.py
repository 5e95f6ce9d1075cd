"""The "what to expect" guides: plain enough for a tired reader, the right one for each stage, public,
listed for offline reading, and edited by the clinic as new versions."""

import datetime as dt
import gzip
import json
import re
import tomllib
from pathlib import Path

import brotli
import pytest

from aftercare.guides import library
from aftercare.models import AuditEvent
from aftercare.models import Guide
from aftercare.models import TreatmentSession
from aftercare.models import utcnow
from tests.conftest import post_form
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient
from tests.factories import make_session

STARTING = tomllib.loads((Path(__file__).parent.parent / "aftercare" / "guides" / "starting.toml").read_text())
READING_GRADE_MAX = 6.0  # Flesch-Kincaid grade: a tired reader, or one reading in a second language


def syllables(word: str) -> int:
    """Count a word's syllables the usual rough way: vowel groups, less a silent final e."""
    word = word.lower().strip("'")
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)
    word = re.sub(r"^y", "", word)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", word)))


def sentences(text: str) -> list[str]:
    """The sentences of a guide; a list item and a line introducing a list count as one each."""
    text = re.sub(r"^- (.*)$", r"\1.", text, flags=re.M)
    return [s for s in re.split(r"[.!?:]+\s|\n\s*\n", text) if re.search(r"[A-Za-z]", s)]


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level."""
    words = re.findall(r"[A-Za-z][A-Za-z']*", text)
    return 0.39 * len(words) / len(sentences(text)) + 11.8 * sum(map(syllables, words)) / len(words) - 15.59


@pytest.mark.parametrize("guide", STARTING["guides"], ids=[g["slug"] for g in STARTING["guides"]])
def test_each_starting_guide_reads_plainly(guide):
    assert reading_grade(guide["body"]) <= READING_GRADE_MAX
    assert max(len(s.split()) for s in sentences(guide["body"])) <= 25  # no long sentence


def test_a_long_sentence_reads_harder():
    plain = "Rest today. Drink water. Call us if you feel unwell."
    dense = "Following administration, patients frequently experience considerable dissociative phenomena necessitating observation."
    assert reading_grade(plain) < 3 < READING_GRADE_MAX < reading_grade(dense)


NOW = dt.datetime(2026, 6, 10, 12, 0)


@pytest.mark.parametrize(
    "sessions, stage",
    [
        ([], "before"),
        ([("infusion", 24 * 5, "scheduled")], "before"),  # the first session in five days
        ([("infusion", 30, "scheduled")], "day"),  # tomorrow
        ([("integration", 30, "scheduled")], "before"),  # not a dosing session
        ([("infusion", -2, "completed")], "first24"),
        ([("infusion", -23, "completed")], "first24"),
        ([("infusion", -25, "completed")], "window"),
        ([("infusion", -71, "completed")], "window"),
        ([("infusion", -80, "completed"), ("infusion", 24 * 6, "scheduled")], "between"),
        ([("infusion", -80, "completed"), ("booster", 20, "scheduled")], "day"),
        ([("infusion", -2, "cancelled")], "before"),
        ([("infusion", -24 * 30, "completed"), ("im", -3, "completed")], "first24"),
    ],
)
def test_the_stage_of_treatment(sessions, stage):
    rows = [
        TreatmentSession(kind=kind, starts_at=NOW + dt.timedelta(hours=hours), status=status)
        for kind, hours, status in sessions
    ]
    assert library.stage_of(rows, NOW) == stage


def test_guides_are_public_and_bundled_for_offline_reading(client):
    listed = client.get("/guides/offline.json")
    assert listed.status_code == 200
    pages = listed.get_json()["pages"]
    assert list(pages)[0] == "/guides" and len(pages) == 1 + len(STARTING["guides"])
    for path, html in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers
        assert html == response.get_data(as_text=True), f"the offline copy of {path} is the page itself"
    page = client.get("/guides/the-first-24-hours").get_data(as_text=True)
    assert "Do not drive, cycle or use machines for 24 hours." in page
    assert "Version 1 · last reviewed by your clinic on 1 December 2026" in page
    assert client.get("/guides/no-such-guide").status_code == 404


def test_the_clinic_edits_a_guide_as_a_new_version(client, auth, app):
    admin = make_admin()
    auth.login(admin)
    before = Guide.get(Guide.slug == "the-first-24-hours")
    path = "/admin/guides/the-first-24-hours"
    form = {"title": before.title, "summary": before.summary, "stage": before.stage, "active": "y"}
    response = post_form(client, path, {**form, "body": "Rest. Our nurse calls you the next morning."})
    assert response.status_code == 302
    after = Guide.get_by_id(before.id)
    assert (after.version, after.reviewed_on, after.body) == (
        2,
        utcnow().date(),
        "Rest. Our nurse calls you the next morning.",
    )
    assert AuditEvent.select().where(AuditEvent.action == "guide_changed").count() == 1
    # Bad input: a clear message, nothing changed.
    response = post_form(client, path, {**form, "title": "", "body": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please give a title of 3 to 120 characters." in page and "Please write the guide in 20 to" in page
    assert Guide.get_by_id(before.id).version == 2
    # Hidden: no longer public, no longer kept offline.
    post_form(client, path, {**form, "body": after.body, "active": ""})
    assert client.get("/guides/the-first-24-hours").status_code == 404
    assert "/guides/the-first-24-hours" not in guide_bundle(client)


def test_the_clinic_adds_its_own_guide(client, auth):
    auth.login(make_admin())
    fields = {"title": "Parking at the clinic", "summary": "Where to park", "stage": "before"}
    response = post_form(
        client, "/admin/guides", {**fields, "body": "Park behind the building. The first hour is free."}
    )
    assert response.status_code == 302
    assert "/guides/parking-at-the-clinic" in guide_bundle(client)


@pytest.mark.parametrize(
    "hours_since, title",
    [(None, "Before your first session"), (2, "The first 24 hours"), (50, "The window of clarity: days 1 to 3")],
)
def test_today_offers_the_guide_for_the_patients_stage(client, auth, hours_since, title):
    make_admin()
    patient = make_patient(make_clinician())
    if hours_since is not None:
        make_session(patient, starts_at=utcnow() - dt.timedelta(hours=hours_since), status="completed")
    auth.login(patient)
    page = client.get("/home").get_data(as_text=True)
    assert f"<strong>{title}</strong>" in page


@pytest.mark.parametrize(
    ("summary", "line"),
    [
        ("Rest, company and no driving for a day.", "What to expect: rest, company and no driving for a day."),
        ("ECG checks before the first infusion.", "What to expect: ECG checks before the first infusion."),
        ("Dr. Lee explains the first session.", "What to expect: Dr. Lee explains the first session."),
        ("I may feel tired afterwards.", "What to expect: I may feel tired afterwards."),
        ("the window of clarity", "What to expect: the window of clarity"),
        ("", "What to expect"),
    ],
)
def test_todays_guide_line_lowers_only_a_plain_first_letter(summary, line):
    assert library.what_to_expect(Guide(summary=summary)) == line


def guide_bundle(client) -> dict[str, str]:
    return client.get("/guides/offline.json").get_json()["pages"]


def test_the_offline_bundle_is_the_signed_out_pages_compressed_and_revalidated(client, auth, app):
    """A signed-in browser asking gets the same signed-out copies (no name, no CSRF token), so it
    may be compressed; while nothing changes, a check with its ETag is a 304 with no body."""
    signed_out = client.get("/guides/offline.json", headers={"Accept-Encoding": "br, gzip"})
    assert signed_out.headers["Content-Encoding"] == "br"
    assert signed_out.headers["Cache-Control"] == "no-cache"
    assert "Accept-Encoding" in signed_out.headers["Vary"]
    bundle = json.loads(brotli.decompress(signed_out.get_data()))
    assert len(signed_out.get_data()) < len(json.dumps(bundle)) / 4

    make_admin()
    auth.login(make_patient(name="Noor Haddad"))
    signed_in = client.get("/guides/offline.json")
    assert signed_in.get_json() == bundle
    assert "Noor" not in signed_in.get_data(as_text=True) and "csrf" not in signed_in.get_data(as_text=True)

    etag = signed_out.headers["ETag"]
    again = client.get("/guides/offline.json", headers={"If-None-Match": etag, "Accept-Encoding": "br"})
    assert again.status_code == 304 and again.get_data() == b""
    gzipped = client.get("/guides/offline.json", headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(gzipped.get_data())) == bundle


def test_today_offers_a_changed_guide_at_the_next_visit(client, auth):
    """Each process remembers the first guide of every stage; saving a guide moves the clinic's version,
    so every worker reads them again at its next request (settings.remembered)."""
    admin = make_admin()
    patient = make_patient(make_clinician())
    auth.login(patient)
    assert "<strong>Before your first session</strong>" in client.get("/home").get_data(as_text=True)
    guide = Guide.get(Guide.stage == "before", Guide.active == True)  # noqa: E712
    fields = {"summary": guide.summary, "body": guide.body, "stage": guide.stage, "active": True}
    library.change(guide, by=admin, title="Before you start", **fields)
    assert "<strong>Before you start</strong>" in client.get("/home").get_data(as_text=True)
    library.add(
        by=admin,
        title="Parking first",
        summary="Where to park",
        body="Park behind the building, please.",
        stage="before",
    )
    library.change(guide, by=admin, title="Before you start", **{**fields, "active": False})
    assert "<strong>Parking first</strong>" in client.get("/home").get_data(as_text=True)
