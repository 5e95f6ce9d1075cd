"""Fuzzing: no form or API body, however odd, gets a 500 (IN-01)."""

import uuid

import pytest
import schemathesis
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import Auth
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=12) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25,
)
field_names = st.sampled_from(
    ["client_id", "score", "note", "tags", "recorded_at", "instrument", "answers", "difficulty", "x"]
)
api_bodies = st.dictionaries(field_names, json_values, max_size=7) | json_values


@pytest.fixture
def signed_in(app):
    """A patient and a clinician signed in, CSRF off: fuzzing reaches validation, not the token check."""
    app.config["WTF_CSRF_ENABLED"] = False
    admin = make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    clients = {"patient": app.test_client(), "clinician": app.test_client(), "admin": app.test_client()}
    Auth(clients["patient"]).login(patient)
    Auth(clients["clinician"]).login(clinician)
    Auth(clients["admin"]).login(admin)
    return clients, patient


@FUZZ
@given(body=api_bodies, path=st.sampled_from(["/api/v1/mood", "/api/v1/checkins"]))
def test_api_bodies_never_500(signed_in, body, path):
    clients, _ = signed_in
    response = clients["patient"].post(path, json=body)
    assert response.status_code in (200, 201, 400, 422), response.get_data(as_text=True)[:200]


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bytes_never_500(signed_in, raw):
    clients, _ = signed_in
    response = clients["patient"].post("/api/v1/mood", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)


form_values = st.text(max_size=300) | st.sampled_from(
    ["", "0", "3", "10", "-1", "99999999999999999999", "\x00", "é" * 5]
)
FORMS = {
    "patient": [
        "/mood",
        "/checkins/phq9",
        "/checkins/gad7",
        "/settings",
        "/account/password",
        "/my-data/close",
    ],
    "clinician": ["/clinician/invite", "/clinician/patients/{patient}/care-team", "/clinician/alerts/1/acknowledge"],
    "admin": ["/admin/invite", "/admin/settings"],
}
form_fields = st.dictionaries(
    st.sampled_from(
        ["client_id", "score", "note", "tags", "q1", "q9", "difficulty", "timezone", "quiet_start", "quiet_end",
         "current", "password", "confirm", "name", "email", "code", "role", "clinician", "clinic_phone",
         "crisis_lines", "retention_days", "mood_tags"]
    ),
    form_values,
    max_size=10,
)  # fmt: skip


@FUZZ
@given(data=form_fields, target=st.sampled_from([(role, path) for role, paths in FORMS.items() for path in paths]))
def test_signed_in_forms_never_500(signed_in, data, target):
    clients, patient = signed_in
    role, path = target
    response = clients[role].post(path.format(patient=patient.id), data=data)
    assert response.status_code < 500, (path, data)


@FUZZ
@given(data=form_fields, path=st.sampled_from(["/login", "/join", "/setup", "/join/accept", "/reset"]))
def test_public_forms_never_500(app, data, path):
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(path, data=data)
    assert response.status_code < 500, (path, data)


def test_api_matches_its_openapi_document(app):
    """schemathesis: requests generated from the OpenAPI document, signed in as a patient."""
    make_admin()
    client = app.test_client()
    Auth(client).login(make_patient(make_clinician()))
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    statuses = []

    for operation in operations:

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def exercise(case):
            if "client_id" in (case.path_parameters or {}):
                case.path_parameters["client_id"] = str(uuid.uuid4())
            response = case.call(headers={"X-CSRFToken": token}, cookies={cookie.key: cookie.value})
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, response.text[:200])
            if response.status_code < 400:
                case.validate_response(response, checks=[response_schema_conformance])

        exercise()
    # The calls were signed in: some were accepted, not all turned away at the door.
    assert any(code < 300 for code in statuses) and 401 not in statuses
