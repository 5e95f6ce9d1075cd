"""Mood entries and check-ins through the JSON API and the forms: exactly once, never a 500."""

import datetime as dt
import time
import uuid

import pytest

from aftercare.models import AuditEvent
from aftercare.models import CheckIn
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import SafetyAlert
from aftercare.models import utcnow
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient


@pytest.fixture
def patient(app, auth):
    make_admin()
    patient = make_patient(make_clinician())
    auth.login(patient)
    return patient


@pytest.fixture
def api(client, patient):
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]

    def call(method, path, json=None, **kwargs):
        headers = {"X-CSRFToken": token, **kwargs.pop("headers", {})}
        return client.open(path, method=method, json=json, headers=headers, **kwargs)

    return call


def mood(**fields):
    return {"client_id": str(uuid.uuid4()), "score": 6, **fields}


def test_log_a_mood_and_replay_it(api, patient):
    body = mood(note="slept well", tags=["sleep"])
    first = api("POST", "/api/v1/mood", body)
    assert first.status_code == 201
    assert first.get_json()["score"] == 6 and first.get_json()["tags"] == ["sleep"]
    again = api("POST", "/api/v1/mood", body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert MoodEntry.select().where(MoodEntry.patient == patient).count() == 1


def test_a_different_payload_under_the_same_id_is_refused(api, patient):
    body = mood()
    api("POST", "/api/v1/mood", body)
    response = api("POST", "/api/v1/mood", {**body, "score": 2})
    assert response.status_code == 422
    assert MoodEntry.get(MoodEntry.client_id == body["client_id"]).score == 6


def test_entry_rollup_and_audit_are_written_together(api, patient):
    api("POST", "/api/v1/mood", mood(score=4))
    api("POST", "/api/v1/mood", mood(score=8))
    day = MoodDay.get(MoodDay.patient == patient)
    assert (day.count, day.total, day.low, day.high) == (2, 12, 4, 8)
    assert AuditEvent.select().where(AuditEvent.action == "mood_logged").count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 11}, "score"),
        ({"score": -1}, "score"),
        ({"score": "seven"}, "score"),
        ({"score": 5.5}, "score"),
        ({"score": True}, "score"),
        ({"score": None}, "score"),
        ({"note": "x" * 50_000}, "note"),
        ({"note": 12}, "note"),
        ({"tags": ["not-a-tag"]}, "tags"),
        ({"tags": "sleep" * 100}, "tags"),
        ({"tags": [1, 2]}, "tags"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"client_id": None}, "client_id"),
        ({"recorded_at": "yesterday"}, "recorded_at"),
        ({"recorded_at": "2026-01-01T10:00:00"}, "recorded_at"),
        ({"recorded_at": "2099-01-01T10:00:00Z"}, "recorded_at"),
        ({"recorded_at": "2000-01-01T10:00:00Z"}, "recorded_at"),
    ],
)
def test_bad_mood_input_gets_a_clear_422_and_writes_nothing(api, patient, body, field):
    response = api("POST", "/api/v1/mood", {**mood(), **body})
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert MoodEntry.select().count() == 0
    assert MoodDay.select().count() == 0


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2, 3]", b'"a string"', b"", b"{"])
def test_a_body_that_is_not_a_json_object(api, patient, raw):
    response = api("POST", "/api/v1/mood", None, data=raw, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.is_json
    assert MoodEntry.select().count() == 0


def test_json_without_csrf_token_is_refused(client, patient):
    response = client.post("/api/v1/mood", json=mood())
    assert response.status_code == 400
    assert MoodEntry.select().count() == 0


def test_a_header_token_passed_once_is_still_checked_in_full(app, client, patient):
    """The outbox's token is remembered after its first check, but every other part of the check stays (HDR-01..05)."""
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    for _ in range(2):  # checked in full, then known to this process
        assert client.post("/api/v1/mood", json=mood(), headers={"X-CSRFToken": token}).status_code == 201

    # Another patient's session with this token: it does not match their session's value.
    other = app.test_client()
    Auth(other).login(make_patient(make_clinician()))
    assert other.post("/api/v1/mood", json=mood(), headers={"X-CSRFToken": token}).status_code == 400

    # A token changed by one character was never checked: refused.
    # (The signature's first character: its last may differ only in base64's unused bits.)
    signed, signature = token.rsplit(".", 1)
    forged = f"{signed}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert client.post("/api/v1/mood", json=mood(), headers={"X-CSRFToken": forged}).status_code == 400

    # Over https the Referer must name this site, remembered token or not.
    def https(headers):
        return client.post("/api/v1/mood", json=mood(), headers=headers, base_url="https://localhost").status_code

    here = {"X-CSRFToken": token, "Referer": "https://localhost/home"}
    assert https(here) == 201
    assert https({"X-CSRFToken": token}) == 400
    assert https({**here, "Referer": "https://example.org/"}) == 400
    assert MoodEntry.select().count() == 3


def test_a_remembered_header_token_expires_with_its_time_limit(app, client, patient):
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    assert client.post("/api/v1/mood", json=mood(), headers={"X-CSRFToken": token}).status_code == 201
    time.sleep(2.1)  # tokens carry whole seconds
    assert client.post("/api/v1/mood", json=mood(), headers={"X-CSRFToken": token}).status_code == 400
    assert MoodEntry.select().count() == 1


def test_anonymous_api_call_is_401_json(app):
    response = app.test_client().post("/api/v1/mood", json=mood())
    assert response.status_code == 401
    assert response.is_json


def test_an_entry_saved_offline_keeps_its_time_and_local_day(api, patient):
    tapped = (utcnow() - dt.timedelta(days=2)).replace(microsecond=0)
    body = mood(recorded_at=tapped.isoformat() + "Z")
    assert api("POST", "/api/v1/mood", body).status_code == 201
    entry = MoodEntry.get()
    assert entry.recorded_at == tapped
    assert entry.local_day == tapped.date()  # the factory patient lives in UTC


def test_local_day_follows_the_patients_time_zone(api, patient):
    patient.timezone = "Pacific/Auckland"
    patient.save()
    # 20:00 UTC is 08:00 or 09:00 the next morning in Auckland.
    tapped = (utcnow() - dt.timedelta(days=1)).replace(hour=20, minute=0, second=0, microsecond=0)
    api("POST", "/api/v1/mood", mood(recorded_at=tapped.isoformat() + "Z"))
    assert MoodEntry.get().local_day == tapped.date() + dt.timedelta(days=1)


def test_edit_and_delete_today(api, patient):
    body = mood(score=3)
    api("POST", "/api/v1/mood", body)
    response = api("PATCH", f"/api/v1/mood/{body['client_id']}", {"score": 5, "note": "better after lunch"})
    assert response.status_code == 200 and response.get_json()["score"] == 5
    assert MoodDay.get().total == 5
    assert api("DELETE", f"/api/v1/mood/{body['client_id']}").status_code == 204
    assert MoodDay.select().count() == 0
    # A late replay of the original does not bring it back.
    assert api("POST", "/api/v1/mood", body).get_json()["deleted"] is True


def test_yesterdays_entry_cannot_be_changed(api, patient):
    body = mood(recorded_at=(utcnow() - dt.timedelta(days=1, hours=1)).isoformat() + "Z")
    api("POST", "/api/v1/mood", body)
    assert api("PATCH", f"/api/v1/mood/{body['client_id']}", {"score": 1}).status_code == 422
    assert api("DELETE", f"/api/v1/mood/{body['client_id']}").status_code == 422


def test_crisis_words_in_a_note_raise_an_alert(api, patient):
    response = api("POST", "/api/v1/mood", mood(score=1, note="I don't want to be alive"))
    assert response.get_json()["crisis"] is True
    alert = SafetyAlert.get()
    assert (alert.patient_id, alert.reason, alert.acknowledged_at) == (patient.id, "crisis_language", None)


def checkin(instrument="phq9", answers=None, **fields):
    answers = answers if answers is not None else [1] * (9 if instrument == "phq9" else 7)
    return {"client_id": str(uuid.uuid4()), "instrument": instrument, "answers": answers, **fields}


def test_phq9_through_the_api(api, patient):
    response = api("POST", "/api/v1/checkins", checkin(answers=[2, 2, 2, 2, 2, 1, 1, 1, 0], difficulty=2))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["total"], body["band"], body["crisis"]) == (13, "moderate", False)
    stored = CheckIn.get()
    assert stored.answer_list == [2, 2, 2, 2, 2, 1, 1, 1, 0] and stored.difficulty == 2
    assert stored.version.startswith("PHQ-9")
    assert SafetyAlert.select().count() == 0


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item_9_above_zero_raises_an_alert_in_the_same_transaction(api, patient, item9):
    response = api("POST", "/api/v1/checkins", checkin(answers=[0] * 8 + [item9]))
    assert response.get_json()["crisis"] is True
    alert = SafetyAlert.get()
    assert alert.checkin_id == CheckIn.get().id and alert.acknowledged_at is None


@pytest.mark.parametrize(
    "body",
    [
        checkin(answers=[1] * 8),
        checkin(answers=[1] * 8 + [4]),
        checkin(answers=[1] * 8 + [None]),
        checkin(instrument="gad7", answers=[1] * 9),
        checkin(instrument="bdi"),
        checkin(difficulty=9),
        {"instrument": "phq9", "answers": [0] * 9},
    ],
)
def test_incomplete_checkins_are_refused_and_nothing_is_written(api, patient, body):
    response = api("POST", "/api/v1/checkins", body)
    assert response.status_code == 422
    assert response.get_json()["message"]
    assert CheckIn.select().count() == 0 and SafetyAlert.select().count() == 0


def test_checkin_replay_returns_the_original(api, patient):
    body = checkin(answers=[0] * 8 + [1])
    assert api("POST", "/api/v1/checkins", body).status_code == 201
    assert api("POST", "/api/v1/checkins", body).status_code == 200
    assert CheckIn.select().count() == 1 and SafetyAlert.select().count() == 1


# The HTML forms, for phones without the page's script.


def form_post(client, page, path, data):
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_one_tap_mood_form_without_javascript(client, patient):
    page = client.get("/home").get_data(as_text=True)
    client_id = page.split('name="client_id" value="')[1].split('"')[0]
    data = {"csrf_token": csrf_from(page), "client_id": client_id, "score": "7", "tags": ["energy"]}
    response = client.post("/mood", data=data)
    assert response.headers["Location"] == "/home"
    # Submitting the same form twice (a double tap) stores it once.
    client.post("/mood", data=data)
    assert MoodEntry.select().count() == 1
    assert "7 · Good" in client.get("/home").get_data(as_text=True)


def test_phq9_form_with_item_9_shows_crisis_resources_next(client, patient):
    data = {f"q{n}": "1" for n in range(1, 10)}
    data["client_id"] = str(uuid.uuid4())
    response = form_post(client, "/checkins/phq9", "/checkins/phq9", data)
    assert response.status_code == 302
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "988" in result and "9</strong> out of 27" in result
    assert SafetyAlert.select().count() == 1


def test_incomplete_phq9_form_keeps_answers_and_says_what_is_missing(client, patient):
    data = {f"q{n}": "2" for n in range(1, 9)}  # item 9 left out
    data["client_id"] = str(uuid.uuid4())
    response = form_post(client, "/checkins/phq9", "/checkins/phq9", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "needs an answer to each" in page or "Question 9" in page
    assert page.count('" checked') == 8
    assert CheckIn.select().count() == 0


def test_gad7_form(client, patient):
    data = {f"q{n}": "3" for n in range(1, 8)}
    data["client_id"] = str(uuid.uuid4())
    response = form_post(client, "/checkins/gad7", "/checkins/gad7", data)
    result = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "21</strong> out of 21 · severe" in result
    assert "988" not in result.split("<footer")[0].split("</nav>")[-1] or "not an emergency" in result


def test_note_with_markup_is_escaped(client, patient, api):
    api("POST", "/api/v1/mood", mood(note="<script>alert(1)</script>"))
    page = client.get("/home").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_openapi_document_is_valid():
    from openapi_spec_validator import validate

    from aftercare.api.openapi import document

    validate(document())
