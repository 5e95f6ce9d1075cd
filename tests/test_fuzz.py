"""Fuzzing: no form or API body, however odd, gets a 500 (IN-01), and a refused one writes nothing.

A refusal (any 4xx) must leave every table as it was, except the bookkeeping a refusal is meant
to write (sign-in sessions, guess counting, the audit log, whose chain must stay intact).
"""

import uuid

import pytest
import schemathesis
from flask_wtf import FlaskForm
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import response_schema_conformance
from wtforms.fields.core import UnboundField

from aftercare.models import AuditEvent
from aftercare.models import MODELS
from tests.conftest import Auth
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient
from tests.test_access import build_world
from tests.test_access import make_people
from tests.test_access import MATRIX
from tests.test_access import OK
from tests.test_access import ROLES
from tests.test_access import url_of

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
json_fields = st.sampled_from(
    ["client_id", "score", "note", "tags", "recorded_at", "instrument", "answers", "difficulty", "body", "prompt",
     "session_id", "x"]
)  # fmt: skip
api_bodies = st.dictionaries(json_fields, json_values, max_size=7) | json_values

form_values = st.text(max_size=300) | st.sampled_from(
    ["", "0", "3", "10", "-1", "--5", "²", "٣", "99999999999999999999", "\x00", "é" * 5, "2026-02-30", "25:61"]
)


def _form_field_names() -> list[str]:
    """Every field name of every form in the app, and the check-in items: what a form post may carry."""
    names, pending = set(), list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending += form.__subclasses__()
        names |= {name for name in dir(form) if isinstance(getattr(form, name, None), UnboundField)}
    return sorted(names | {f"q{n}" for n in range(1, 21)} | {"client_id", "score", "note", "tags", "direction"})


form_fields = st.dictionaries(st.sampled_from(_form_field_names()), form_values, max_size=10)

# Posts that end the fuzzing client's own session would only test the sign-in page afterwards.
ENDS_THE_SESSION = {"auth.logout", "auth.end_session", "mydata.close"}


def _first_allowed(expected) -> str | None:
    for role, want in zip(ROLES, expected, strict=True):
        if want == OK:
            return role
    return None


def targets(app) -> list[tuple[str, str, str]]:
    """Every endpoint of the access matrix that takes a body, as (endpoint, method, first role allowed).

    Derived from the matrix and the URL map, so a new form or JSON endpoint is fuzzed as soon as it has
    its row in the matrix (and every endpoint must have one).
    """
    methods = {}
    for rule in app.url_map.iter_rules():
        methods.setdefault(rule.endpoint, set()).update(rule.methods & {"POST", "PATCH", "PUT"})
    found = []
    for endpoint, (_, _, expected) in MATRIX.items():
        role = _first_allowed(expected)
        if endpoint in ENDS_THE_SESSION or role is None:
            continue
        found += [(endpoint, method, role) for method in sorted(methods.get(endpoint, ()))]
    return found


@pytest.fixture
def world(app, tmp_path):
    """The access matrix's world, each role signed in, CSRF off: fuzzing reaches validation, not the token."""
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["VOICE_DIR"] = str(tmp_path / "voice")
    people = make_people()
    clients = {"anon": app.test_client()}
    for role in ROLES[1:]:
        clients[role] = app.test_client()
        Auth(clients[role]).login(people[role])
    return clients, build_world(app, people), targets(app)


def test_every_form_and_json_endpoint_is_fuzzed(app):
    found = {endpoint for endpoint, _, _ in targets(app)}
    for endpoint in ("selfreports.checkin", "selfreports.api_create_mood", "journal.api_create", "auth.login",
                     "patient.settings", "journey.new_session", "admin.settings", "practices.new"):  # fmt: skip
        assert endpoint in found, endpoint
    assert len(found) >= 40


@settings(FUZZ, max_examples=300)
@given(choice=st.data())
def test_no_form_or_json_body_gets_a_500(app, world, choice):
    clients, values, found = world
    endpoint, method, role = choice.draw(st.sampled_from(found), label="target")
    _, url = url_of(app, endpoint, values)
    before = row_counts()
    if url.startswith("/api/"):
        response = clients[role].open(url, method=method, json=choice.draw(api_bodies, label="json"))
    else:
        response = clients[role].open(url, method=method, data=choice.draw(form_fields, label="form"))
    assert response.status_code < 500, (endpoint, response.get_data(as_text=True)[:200])
    if response.status_code >= 400:
        assert row_counts() == before, (endpoint, response.status_code, "a refused request wrote")
        assert AuditEvent.verify_chain().broken is None


# What a refused request may still write: its session, the guess counter, and the audit log of it.
REFUSAL_BOOKKEEPING = {"web_session", "login_throttle", "audit_event", "audit_head", "audit_seal"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.table_name: model.select().count()
        for model in MODELS
        if model._meta.table_name not in REFUSAL_BOOKKEEPING
    }


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bytes_never_500(app, world, raw):
    clients, _, _ = world
    response = clients["patient_a"].post("/api/v1/mood", data=raw, content_type="application/json")
    assert response.status_code in (400, 422)


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
