"""IN-01: odd numbers and ids get a clear 4xx and change nothing, wherever they are typed."""

import uuid

import pytest

from aftercare.models import AuditEvent
from aftercare.models import CheckIn
from aftercare.models import JournalEntry
from aftercare.models import MoodEntry
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

HUGE = "99999999999999999999999"
ODD_NUMBERS = ["--5", "²", "٣", "5.0", "1e1", "0x5", "+-5", "5-", "", "-", "९", HUGE, "-" + HUGE]


@pytest.fixture
def patient(people, patient_api):
    return people.patient


@pytest.fixture
def api(patient_api):
    return patient_api


def counts():
    return (MoodEntry.select().count(), CheckIn.select().count(), JournalEntry.select().count())


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_mood_form_refuses_odd_scores(client, patient, value):
    before = counts()
    token = csrf_from(client.get("/home").get_data(as_text=True))
    response = client.post("/mood", data={"csrf_token": token, "client_id": str(uuid.uuid4()), "score": value})
    assert response.status_code in (302, 400, 422)
    assert counts() == before
    if response.status_code == 302:
        assert "0 to 10" in client.get("/home").get_data(as_text=True)


@pytest.mark.parametrize("value", [*ODD_NUMBERS, 1e400, [], {}])
def test_mood_api_refuses_odd_scores(api, value):
    before = counts()
    response = api("POST", "/api/v1/mood", {"client_id": str(uuid.uuid4()), "score": value})
    assert response.status_code == 422
    assert "score" in response.get_json()["fields"]
    assert counts() == before


@pytest.mark.parametrize("field", ["q1", "q9", "difficulty"])
@pytest.mark.parametrize("value", ["²", "--1", "٣", HUGE])
def test_checkin_form_refuses_odd_answers(client, patient, field, value):
    before = counts()
    page = client.get("/checkins/phq9").get_data(as_text=True)
    data = {f"q{n}": "1" for n in range(1, 10)}
    data.update({"csrf_token": csrf_from(page), "client_id": str(uuid.uuid4()), "difficulty": "1", field: value})
    response = client.post("/checkins/phq9", data=data)
    assert response.status_code == 422
    assert counts() == before


@pytest.mark.parametrize("value", ["²", "--1", "٣", HUGE, "-1", "0", 1e400, 2**70])
def test_journal_api_refuses_odd_session_ids(api, value):
    before = counts()
    response = api("POST", "/api/v1/journal", {"client_id": str(uuid.uuid4()), "body": "Words.", "session_id": value})
    assert response.status_code == 422
    assert counts() == before


@pytest.mark.parametrize("value", ["%C2%B2", "--1", HUGE, "abc"])
def test_new_journal_entry_with_an_odd_session_is_not_found(client, patient, value):
    assert client.get(f"/journal/new?session={value}").status_code == 404


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        arguments = {name: converter for name, converter in rule._converters.items()}
        if any(type(c).__name__ in ("IntegerConverter", "IdConverter") for c in arguments.values()):
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
            yield rule, method


@pytest.mark.parametrize("role", ["patient", "clinician", "admin"])
def test_ids_beyond_64_bits_are_not_found(app, role):
    make_admin() if role != "admin" else None
    clinician = make_clinician()
    user = {"patient": lambda: make_patient(clinician), "clinician": lambda: clinician, "admin": make_admin}[role]()
    client = app.test_client()
    Auth(client).login(user)
    app.config["WTF_CSRF_ENABLED"] = False
    before = AuditEvent.select().count()
    routes = list(_int_routes(app))
    assert len(routes) >= 20
    for rule, method in routes:
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<{rule._converters[name].__class__.__name__}:{name}>", HUGE)
            for prefix in ("int", "id", "int(max=9223372036854775807)"):
                url = url.replace(f"<{prefix}:{name}>", HUGE)
            url = url.replace(f"<{name}>", "x")
        response = client.open(url, method=method)
        assert response.status_code in (302, 403, 404, 405), (url, method, response.status_code)
    assert AuditEvent.select().where(AuditEvent.id > before, AuditEvent.action.not_in(["sign_in"])).count() == 0


@pytest.mark.parametrize("path", ["/api/v1/journal", "/journal/new", "/mood"])
def test_a_form_part_without_a_readable_name_is_a_400_not_a_500(client, patient, path):
    """A multipart part named by a lone carriage return is read with no name: it carries no CSRF token."""
    boundary = "x-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="\r"\r\n\r\nnothing\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\n{uuid.uuid4()}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    before = counts()
    response = client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400
    assert counts() == before
