"""Which measures each patient answers: the clinician's choice, followed by every page, the API and the planner."""

import csv
import datetime as dt
import io
import json
import re
import uuid
import zipfile

import pytest

from aftercare import settings
from aftercare.models import AuditEvent
from aftercare.models import CheckIn
from aftercare.models import Reminder
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.selfreports import checkins
from aftercare.selfreports.instruments import chosen
from aftercare.selfreports.instruments import INSTRUMENTS
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.conftest import JsonApi
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

PCL5_MEETS = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]  # 12: 1 B, 1 C, 2 D, 2 E


@pytest.fixture
def clinic(app):
    make_admin()
    clinician = make_clinician(name="Dr Ada Rivers")
    return clinician, make_patient(clinician, name="Sam Veteran"), make_patient(clinician, name="Pat Other")


@pytest.fixture
def staff(app, clinic):
    """The clinician, signed in on a device of their own (a second sign-in would reuse the two-step code)."""
    client = app.test_client()
    Auth(client).login(clinic[0])
    return client


def choose(staff, patient, keys):
    page = staff.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    return staff.post(
        f"/clinician/patients/{patient.id}/measures", data={"csrf_token": csrf_from(page), "measures": keys}
    )


def checkin(instrument, answers, **fields):
    return {"client_id": str(uuid.uuid4()), "instrument": instrument, "answers": answers, **fields}


def test_a_new_patient_answers_phq9_and_gad7(clinic):
    _, patient, _ = clinic
    assert [spec.key for spec in chosen(User.get_by_id(patient.id))] == ["phq9", "gad7"]


def test_a_measure_not_asked_for_is_refused_with_a_clear_message(client, clinic):
    _, patient, _ = clinic
    Auth(client).login(patient)
    home = client.get("/home").get_data(as_text=True)
    assert "/checkins/phq9" in home and "/checkins/pcl5" not in home and "/checkins/peg" not in home
    response = client.get("/checkins/pcl5")
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    assert "has not asked you to fill in the PCL-5" in client.get("/home").get_data(as_text=True)
    answer = JsonApi(client)("POST", "/api/v1/checkins", checkin("pcl5", PCL5_MEETS))
    assert answer.status_code == 422
    assert "has not asked you to fill in the PCL-5" in answer.get_json()["fields"]["instrument"]
    assert CheckIn.select().count() == 0


def test_the_clinician_chooses_and_the_patient_follows(client, staff, clinic):
    _, patient, other = clinic
    response = choose(staff, patient, ["phq9", "pcl5"])
    assert response.status_code == 302
    assert [spec.key for spec in chosen(User.get_by_id(patient.id))] == ["phq9", "pcl5"]
    assert AuditEvent.get(AuditEvent.action == "measures_chosen").detail == "phq9,pcl5"
    assert [spec.key for spec in chosen(User.get_by_id(other.id))] == ["phq9", "gad7"]

    Auth(client).login(patient)
    home = client.get("/home").get_data(as_text=True)
    assert "/checkins/pcl5" in home and "/checkins/gad7" not in home
    page = client.get("/checkins/pcl5").get_data(as_text=True)
    assert "Before you start" in page and "very stressful experience" in page
    assert page.index("Before you start") < page.index("q1")
    assert "/crisis" in page  # crisis help on the page, as on every check-in
    assert "Repeated, disturbing, and unwanted memories" in page and "Extremely" in page
    form = {"csrf_token": csrf_from(page), "client_id": str(uuid.uuid4())}
    form |= {f"q{n}": str(answer) for n, answer in enumerate(PCL5_MEETS, start=1)}
    result = client.post("/checkins/pcl5", data=form, follow_redirects=True).get_data(as_text=True)
    assert "Your PCL-5 score" in result and "<strong>12</strong> out of 80" in result
    stored = CheckIn.get(CheckIn.instrument == "pcl5")
    assert (stored.total, stored.band, stored.subscore_map) == (
        12,
        "provisional PTSD",
        {"B": 2, "C": 2, "D": 4, "E": 4},
    )
    # GAD-7, no longer asked for, is refused.
    answer = JsonApi(client)("POST", "/api/v1/checkins", checkin("gad7", [0] * 7))
    assert answer.status_code == 422


def test_a_choice_changed_while_the_form_is_open_saves_nothing(client, staff, clinic):
    _, patient, _ = clinic
    choose(staff, patient, ["phq9", "peg"])
    Auth(client).login(patient)
    page = client.get("/checkins/peg").get_data(as_text=True)
    choose(staff, patient, ["phq9"])
    form = {"csrf_token": csrf_from(page), "client_id": str(uuid.uuid4())}
    form |= {"q1": "5", "q2": "5", "q3": "6"}
    assert "q1" in page
    response = client.post("/checkins/peg", data=form)
    assert response.status_code == 422
    assert "has not asked you to fill in the PEG" in response.get_data(as_text=True)
    assert CheckIn.select().count() == 0


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "Choose at least one questionnaire."),
        (["phq9", "nope"], "is not a valid choice"),
        (["bdi"], "is not a valid choice"),
    ],
)
def test_bad_choices_change_nothing(client, staff, clinic, keys, message):
    _, patient, _ = clinic
    response = choose(staff, patient, keys)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert User.get_by_id(patient.id).measures == "phq9,gad7"
    assert not AuditEvent.select().where(AuditEvent.action == "measures_chosen").exists()


def test_the_domain_refuses_unknown_or_empty_choices(clinic):
    clinician, patient, _ = clinic
    for keys in ([], ["phq9", "gad-8"], [None]):
        with pytest.raises(checkins.Invalid):
            checkins.choose(clinician, patient, keys)
    assert User.get_by_id(patient.id).measures == "phq9,gad7"


def test_the_planner_asks_for_each_chosen_measure_at_its_own_rhythm(client, staff, clinic):
    _, patient, _ = clinic
    choose(staff, patient, ["pcl5", "peg"])
    paths = {r.path for r in Reminder.select().where(Reminder.user == patient.id, Reminder.rule == "checkin")}
    assert paths == {"/checkins/pcl5"}  # one baseline occasion for both, opening the first
    Auth(client).login(patient)
    api = JsonApi(client)
    assert api("POST", "/api/v1/checkins", checkin("pcl5", PCL5_MEETS)).status_code == 201
    assert api("POST", "/api/v1/checkins", checkin("peg", [6, 5, 7])).status_code == 201
    planned = {
        r.path: r.due_at
        for r in Reminder.select().where(
            Reminder.user == patient.id, Reminder.rule == "checkin", Reminder.status == "planned"
        )
    }
    now = utcnow()
    assert set(planned) == {"/checkins/pcl5", "/checkins/peg"}
    assert dt.timedelta(days=7) <= planned["/checkins/peg"] - now <= dt.timedelta(days=9)  # the past week: weekly
    assert dt.timedelta(days=28) <= planned["/checkins/pcl5"] - now <= dt.timedelta(days=30)  # past month: 4 weeks
    home = client.get("/home").get_data(as_text=True)
    assert 'class="badge warn">Due' not in home  # both answered: nothing due


def test_history_charts_the_chosen_measures_with_the_clinics_cut_off(client, staff, clinic):
    _, patient, _ = clinic
    choose(staff, patient, ["phq9", "pcl5"])
    settings.update(cutoffs=(("pcl5", 31),))
    Auth(client).login(patient)
    JsonApi(client)("POST", "/api/v1/checkins", checkin("pcl5", [3] * 20))
    page = client.get("/history").get_data(as_text=True)
    assert "PCL-5 scores" in page and "GAD-7" not in page
    assert 'class="chart-cutoff"' in page and "PTSD cut-off (31)" in page
    assert "60 (at or above the cut-off)" in page
    assert "provisional PTSD" not in page  # the diagnostic label is for the care team


def test_the_panel_shows_a_measure_column_only_where_it_is_used(client, staff, clinic):
    _, patient, other = clinic
    choose(staff, patient, ["phq9", "pcl5"])
    Auth(client).login(patient)
    JsonApi(client)("POST", "/api/v1/checkins", checkin("pcl5", PCL5_MEETS))
    panel = staff.get("/clinician/").get_data(as_text=True)
    assert '<th scope="col">PCL-5</th>' in panel and '<th scope="col">PEG</th>' not in panel
    assert "12 · provisional PTSD" in panel
    other_row = panel[panel.index("Pat Other") :].split("</tr>")[0]
    assert "Not asked" in other_row
    record = staff.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    assert "B 2 · C 2 · D 4 · E 4" in record
    boxes = {
        re.search(r'value="(\w+)"', tag)[1]: " checked" in tag
        for tag in re.findall(r"<input[^>]*name=\"measures\"[^>]*>", record)
    }
    assert boxes == {"phq9": True, "gad7": False, "pcl5": True, "peg": False}


def test_a_measure_no_longer_asked_keeps_its_history_for_the_clinician(client, staff, clinic):
    _, patient, _ = clinic
    Auth(client).login(patient)
    JsonApi(client)("POST", "/api/v1/checkins", checkin("gad7", [1] * 7))
    choose(staff, patient, ["phq9"])
    record = staff.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    assert 'GAD-7 <span class="muted small">(no longer asked)</span>' in record


def test_the_api_describes_every_measure(client, clinic):
    _, patient, _ = clinic
    Auth(client).login(patient)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert set(INSTRUMENTS) == {"phq9", "gad7", "pcl5", "peg"}
    assert str(sorted(INSTRUMENTS)) in str(sorted(_enum(spec)))


def _enum(spec) -> list:
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "instrument" in node and isinstance(node["instrument"], dict) and "enum" in node["instrument"]:
                found.extend(node["instrument"]["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def test_the_export_carries_a_pcl5_with_its_clusters(client, staff, clinic):
    _, patient, _ = clinic
    choose(staff, patient, ["pcl5"])
    Auth(client).login(patient)
    JsonApi(client)("POST", "/api/v1/checkins", checkin("pcl5", PCL5_MEETS))
    with client.get("/my-data/export.zip") as response:
        archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    [row] = list(csv.DictReader(io.StringIO(archive.read("checkins.csv").decode("utf-8-sig"))))
    assert (row["instrument"], row["total"], row["band"]) == ("pcl5", "12", "provisional PTSD")
    assert row["subscores"] == "B=2 C=2 D=4 E=4" and row["q20"] == "0"
    exported = json.loads(archive.read("aftercare-export.json"))
    assert exported["checkins"][0]["subscores"] == {"B": 2, "C": 2, "D": 4, "E": 4}
