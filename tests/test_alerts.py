"""CLIN-02/04: one open alert per piece of writing, however often it is saved, wherever it was written."""

import datetime as dt
import uuid

import pytest

from aftercare.journey import scheduling
from aftercare.models import ClinicSetting
from aftercare.models import SafetyAlert
from aftercare.models import utcnow
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.conftest import JsonApi

CRISIS = "I keep thinking everyone is better off without me"


@pytest.fixture
def signed_in(client, people):
    Auth(client).login(people.patient)
    return client


def api(client):
    return JsonApi(client)


def open_alerts():
    return SafetyAlert.open().count()


def test_editing_a_crisis_mood_note_again_and_again_leaves_one_open_alert(signed_in):
    call = api(signed_in)
    client_id = str(uuid.uuid4())
    assert call("POST", "/api/v1/mood", {"client_id": client_id, "score": 2, "note": CRISIS}).status_code == 201
    for n in range(4):
        response = call("PATCH", f"/api/v1/mood/{client_id}", {"note": f"{CRISIS} ({n})"})
        assert response.status_code == 200 and response.get_json()["crisis"]
    assert open_alerts() == 1


def test_the_mood_edit_form_keeps_one_open_alert_too(signed_in):
    call = api(signed_in)
    client_id = str(uuid.uuid4())
    call("POST", "/api/v1/mood", {"client_id": client_id, "score": 2, "note": "tired"})
    for n in range(3):
        page = signed_in.get(f"/mood/{client_id}/edit").get_data(as_text=True)
        response = signed_in.post(
            f"/mood/{client_id}/edit", data={"csrf_token": csrf_from(page), "score": "2", "note": f"{CRISIS} {n}"}
        )
        assert response.headers["Location"].endswith("/support")
    assert open_alerts() == 1


def test_two_pieces_of_writing_are_two_alerts(signed_in):
    call = api(signed_in)
    for _ in range(2):
        call("POST", "/api/v1/mood", {"client_id": str(uuid.uuid4()), "score": 2, "note": CRISIS})
    assert open_alerts() == 2


def test_after_acknowledgement_the_same_words_saved_again_are_news(signed_in, people):
    clinician, patient = people.clinician, people.patient
    call = api(signed_in)
    client_id = str(uuid.uuid4())
    call("POST", "/api/v1/mood", {"client_id": client_id, "score": 2, "note": CRISIS})
    desk = signed_in.application.test_client()
    Auth(desk).login(clinician)
    alert = SafetyAlert.get()
    page = desk.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    desk.post(f"/clinician/alerts/{alert.id}/acknowledge", data={"csrf_token": csrf_from(page), "note": "Called."})
    assert open_alerts() == 0
    call("PATCH", f"/api/v1/mood/{client_id}", {"note": CRISIS + " still"})
    assert open_alerts() == 1
    assert SafetyAlert.select().count() == 2


def test_journal_entries_and_intentions_keep_one_open_alert_each(signed_in, people):
    clinician, patient = people.clinician, people.patient
    call = api(signed_in)
    entry = call("POST", "/api/v1/journal", {"client_id": str(uuid.uuid4()), "body": CRISIS}).get_json()
    for n in range(3):
        page = signed_in.get(f"/journal/{entry['id']}/edit").get_data(as_text=True)
        signed_in.post(f"/journal/{entry['id']}/edit", data={"csrf_token": csrf_from(page), "body": f"{CRISIS} {n}"})
    assert open_alerts() == 1

    ClinicSetting.set_value("clinic_timezone", "UTC")
    when = (utcnow() + dt.timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    session = scheduling.book(patient, by=clinician, kind="infusion", wall=when, duration_minutes=60, zone="UTC")
    for n in range(3):
        page = signed_in.get(f"/sessions/{session.id}").get_data(as_text=True)
        signed_in.post(
            f"/sessions/{session.id}/intention", data={"csrf_token": csrf_from(page), "explore": f"{CRISIS} {n}"}
        )
    assert open_alerts() == 2


def test_the_open_alert_rule_is_held_by_the_database(people):
    """Two saves at the same moment cannot both open an alert: a unique index on open alerts guards it."""
    from peewee import IntegrityError

    from aftercare.db import db

    patient = people.patient
    SafetyAlert.create(patient=patient, reason="crisis_language", detail="x", subject="mood:1")
    with pytest.raises(IntegrityError):
        with db.atomic():
            SafetyAlert.create(patient=patient, reason="crisis_language", detail="x", subject="mood:1")
