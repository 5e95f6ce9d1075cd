"""The intake screening: AUDIT-C and the review rules as tables, the patient's draft and sending, the review."""

import json
import re

import pytest

from aftercare.intake import intakes
from aftercare.intake import questions
from aftercare.intake import review
from aftercare.models import AuditEvent
from aftercare.models import Intake
from aftercare.models import SafetyAlert
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

# Every answer a complete intake needs, all "nothing to report".
CLEAR = {
    "bp": "no",
    "heart": "no",
    "brain": "no",
    "pressure": "no",
    "liver": "no",
    "seizures": "no",
    "bladder": "no",
    "apnoea": "no",
    "weight": "70",
    "weight_unit": "kg",
    "height": "175",
    "height_unit": "cm",
    "pregnant": "no",
    "conceiving": "no",
    "breastfeeding": "no",
    "psychosis": "no",
    "mania": "no",
    "dissociative": "no",
    "eating": "no",
    "hospital": "no",
    "suicidal_now": "no",
    "attempt_past": "no",
    "audit_c1": "0",
    "sex": "female",
    "cannabis": "never",
    "stimulants": "never",
    "dissociatives_before": "no",
    "reaction": "no",
    "driver": "My sister, Ana",
}


def sections():
    return questions.sections_of(questions.starting_sections())


def read(**changes) -> dict:
    answers = questions.read(sections(), {**CLEAR, **changes}, complete=True)
    assert not answers.errors, answers.errors
    return answers


# AUDIT-C (Bush et al. 1998), cut-offs of Bradley et al. 2007: every total 0-12 for both sexes
# and "prefer not to say" (the lower cut-off). "Never" to item 1 scores the others 0.
AUDIT_C_CASES = [
    ((c1, c2, c3), c1 + c2 + c3 if c1 else 0)
    for c1, c2, c3 in [(0, 0, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0), (2, 1, 1), (2, 2, 1), (3, 2, 1), (4, 2, 1)]
    + [(4, 3, 1), (4, 3, 2), (4, 4, 2), (4, 4, 3), (4, 4, 4)]
]


@pytest.mark.parametrize("items, total", AUDIT_C_CASES)
@pytest.mark.parametrize("sex, cut", [("male", 4), ("female", 3), ("unsaid", 3)])
def test_audit_c_totals_and_cut_offs_as_published(items, total, sex, cut):
    answers = read(audit_c1=str(items[0]), audit_c2=str(items[1]), audit_c3=str(items[2]), sex=sex)
    values = review.worked_out(answers)
    assert (values["audit_c"], values["audit_c_cut"]) == (total, cut)
    flagged = any(h.reason.startswith("AUDIT-C") for h in review.highlights(sections(), answers))
    assert flagged == (total >= cut)


def test_every_audit_c_total_is_reached():
    assert {total for _, total in AUDIT_C_CASES} == set(range(13))


def test_never_drinking_skips_the_other_two_items():
    answers = read(audit_c1="0", audit_c2="4", audit_c3="4")
    assert "audit_c2" not in answers and review.audit_c(answers) == 0


HIGHLIGHT_CASES = [
    ({}, []),
    ({"bp": "yes", "bp_treated": "no"}, ["High blood pressure, not treated: check it on the day"]),
    ({"bp": "yes", "bp_treated": "unsure"}, ["High blood pressure, not treated: check it on the day"]),
    ({"bp": "yes", "bp_treated": "yes"}, ["Treated high blood pressure: check it on the day"]),
    ({"bp": "unsure"}, ["Not sure about high blood pressure: check it on the day"]),
    ({"bp": "no", "bp_treated": "no"}, []),  # not asked: dropped
    ({"heart": "unsure"}, ["Heart disease or irregular heartbeat: cardiac history before dosing"]),
    ({"pressure": "yes"}, ["Raised eye or head pressure: ketamine can raise it further"]),
    ({"bladder": "unsure"}, []),
    ({"weight": "130", "height": "178"}, ["BMI of 40 or more: watch the airway; dose by weight"]),
    ({"weight": "126", "height": "178"}, []),  # BMI 39.8
    ({"pregnant": "unsure"}, ["Possible pregnancy: do not dose until it is ruled out"]),
    ({"breastfeeding": "yes"}, ["Breastfeeding: discuss before dosing"]),
    (
        {"psychosis": "yes", "mania": "unsure"},
        [
            "Psychosis or schizophrenia: usually a reason not to treat",
            "Mania or bipolar disorder: risk of a switch into mania",
        ],
    ),
    ({"attempt_past": "yes"}, ["Past suicide attempt: review before the first session"]),
    (
        {"audit_c1": "2", "audit_c2": "1", "audit_c3": "0", "sex": "female"},
        ["AUDIT-C 3 of 12, at or above the cut-off of 3"],
    ),
    ({"audit_c1": "2", "audit_c2": "1", "audit_c3": "0", "sex": "male"}, []),
    ({"cannabis": "weekly"}, ["Regular cannabis use: review"]),
    ({"cannabis": "monthly"}, []),
    ({"stimulants": "past"}, []),
    ({"stimulants": "monthly"}, ["Stimulant use in the last year: review"]),
    ({"dissociatives_before": "medical"}, []),
    ({"dissociatives_before": "other"}, ["Ketamine or dissociatives used outside treatment: misuse risk"]),
    (
        {"medicines": ["lamotrigine", "maoi"]},
        [
            "Lamotrigine: can blunt ketamine's effect",
            "MAOI: blood pressure can rise with ketamine",
        ],
    ),
    (
        {"reaction": "yes", "reaction_detail": "Woke up confused"},
        ["Earlier reaction to an anaesthetic or ketamine: review"],
    ),
]


@pytest.mark.parametrize("changes, reasons", HIGHLIGHT_CASES)
def test_what_is_highlighted_for_review(changes, reasons):
    assert [h.reason for h in review.highlights(sections(), read(**changes))] == reasons


@pytest.mark.parametrize(
    "fields, stored",
    [
        ({"weight": "154", "weight_unit": "lb"}, {"weight": 69.9, "weight_entered": "154 lb"}),
        ({"weight": "70,5", "weight_unit": "kg"}, {"weight": 70.5, "weight_entered": "70,5 kg"}),
        (
            {"height_unit": "ftin", "height_ft": "5", "height_in": "9", "height": ""},
            {"height": 175.3, "height_entered": "5 ft 9 in"},
        ),
        ({"height": "162", "height_unit": "cm"}, {"height": 162.0, "height_entered": "162 cm"}),
    ],
)
def test_weight_and_height_are_stored_metric(fields, stored):
    answers = read(**fields)
    assert {key: answers[key] for key in stored} == stored


@pytest.mark.parametrize(
    "fields, key, message",
    [
        ({"weight": "3", "weight_unit": "kg"}, "weight", "3 kg does not look right"),
        ({"weight": "900", "weight_unit": "lb"}, "weight", "900 lb does not look right"),
        ({"weight": "seventy"}, "weight", "as a number"),
        ({"weight": "70", "weight_unit": "stone"}, "weight", "as a number"),
        ({"height": "400", "height_unit": "cm"}, "height", "400 cm does not look right"),
        ({"height_unit": "ftin", "height_ft": "5", "height_in": "14", "height": ""}, "height", "feet and inches"),
        ({"bp": "maybe"}, "bp", "one of the answers"),
        ({"medicines": ["aspirin"]}, "medicines", "from the answers"),
        ({"driver": ""}, "driver", "Please answer"),
        ({"bp": "yes"}, "bp_treated", "Please answer"),  # asked once "Yes"
    ],
)
def test_bad_answers_are_named(fields, key, message):
    answers = questions.read(sections(), {**CLEAR, **fields}, complete=True)
    assert message in answers.errors[key]


# --------------------------------------------------------------------------- through the pages


def page_of(client, path="/intake"):
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, csrf_from(html, required=False)


def hidden(html, name):
    return re.search(rf'name="{name}" value="(\d+)"', html).group(1)


@pytest.fixture
def patient(app, auth):
    make_admin()
    clinician = make_clinician(email="carer@clinic.example")
    person = make_patient(clinician)
    auth.login(person)
    return person


def test_a_patient_saves_a_draft_and_sends_it_later(app, client, patient):
    html, token = page_of(client)
    base = {"csrf_token": token, "intake": hidden(html, "intake"), "version": hidden(html, "version")}
    first = {k: CLEAR[k] for k in ("bp", "heart", "weight", "weight_unit")}
    response = client.post("/intake", data={**base, **first, "action": "save"})
    assert response.status_code == 302
    intake = Intake.get(Intake.patient == patient)
    assert (intake.status, intake.answer_dict["weight"]) == ("draft", 70.0)
    # The second visit shows what was saved, and sending needs every answer.
    html, token = page_of(client)
    assert 'name="heart" value="no" checked' in html and 'value="70"' in html
    response = client.post("/intake", data={**base, "csrf_token": token, **first, "action": "send"})
    assert response.status_code == 422
    assert "still need a look" in response.get_data(as_text=True)
    assert Intake.get_by_id(intake.id).status == "draft"
    response = client.post("/intake", data={**base, "csrf_token": token, **CLEAR, "action": "send"})
    assert response.status_code == 302
    sent = Intake.get_by_id(intake.id)
    assert sent.status == "submitted" and sent.submitted_at is not None
    html, _ = page_of(client)
    assert "Your clinic received your answers" in html
    assert AuditEvent.select().where(AuditEvent.action == "intake_submitted").count() == 1


def test_thoughts_of_ending_life_now_raise_an_alert_the_moment_they_are_saved(app, client, patient):
    html, token = page_of(client)
    api_token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    body = {
        "intake": int(hidden(html, "intake")),
        "version": int(hidden(html, "version")),
        "fields": {"suicidal_now": "yes"},
    }
    response = client.post("/api/v1/intake/draft", json=body, headers={"X-CSRFToken": api_token})
    assert response.status_code == 200 and response.get_json()["crisis"] is True
    assert SafetyAlert.select().where(SafetyAlert.patient == patient).count() == 1
    # Saved again: still one open alert for this intake.
    client.post("/api/v1/intake/draft", json=body, headers={"X-CSRFToken": api_token})
    assert SafetyAlert.select().where(SafetyAlert.patient == patient).count() == 1
    response = client.post(
        "/intake",
        data={
            "csrf_token": token,
            "intake": body["intake"],
            "version": body["version"],
            **CLEAR,
            "suicidal_now": "yes",
            "action": "send",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/support")
    assert SafetyAlert.select().where(SafetyAlert.patient == patient).count() == 1


def test_a_questionnaire_changed_while_answering_keeps_the_answers(app, client, patient):
    html, token = page_of(client)
    intake_id, version = hidden(html, "intake"), hidden(html, "version")
    intakes.add_question(
        by=make_admin(email="other-admin@clinic.example"),
        text="Are you afraid of needles?",
        kind="yesno",
        flag="Needle fear",
    )
    response = client.post(
        "/intake", data={"csrf_token": token, "intake": intake_id, "version": version, **CLEAR, "action": "send"}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "changed the questions while you were answering" in page and "afraid of needles" in page
    intake = Intake.get_by_id(intake_id)
    assert (
        intake.status == "draft" and intake.form_id != int(version) and intake.answer_dict["driver"] == CLEAR["driver"]
    )


def test_another_patients_intake_is_not_found(app, client, patient):
    other = make_patient(make_clinician(email="x@clinic.example"), email="other@example.com")
    theirs = intakes.to_answer(other)
    html, token = page_of(client)
    response = client.post(
        "/intake", data={"csrf_token": token, "intake": theirs.id, "version": theirs.form_id, **CLEAR, "action": "send"}
    )
    assert response.status_code == 404
    assert Intake.get_by_id(theirs.id).answer_dict == {}


def test_the_clinician_sees_highlights_and_records_the_review(app, client, auth, patient):
    intake = intakes.to_answer(patient)
    form = {**CLEAR, "attempt_past": "yes", "bp": "yes", "bp_treated": "no"}
    intakes.save(patient, intake, form, version=str(intake.form_id), send=True)
    clinician = patient.clinicians()[0]
    auth.logout()
    auth.login(clinician)
    html, token = page_of(client, f"/clinician/patients/{patient.id}/intake")
    assert "Needs your eye (2)" in html
    assert "Past suicide attempt: review before the first session" in html
    response = client.post(
        f"/clinician/patients/{patient.id}/intake/review", data={"csrf_token": token, "note": "BP 128/82 on the day."}
    )
    assert response.status_code == 302
    reviewed = Intake.get_by_id(intake.id)
    assert (reviewed.status, reviewed.reviewed_by_id, reviewed.review_note) == (
        "reviewed",
        clinician.id,
        "BP 128/82 on the day.",
    )
    assert AuditEvent.select().where(AuditEvent.action == "intake_reviewed").count() == 1
    auth.logout()
    auth.login(patient)
    html, _ = page_of(client)
    assert "reviewed them on" in html and "Past suicide attempt" not in html


def test_a_clinic_question_keeps_old_answers_meaning(app):
    admin = make_admin()
    first = intakes.current_form()
    second = intakes.add_question(
        by=admin, text="Do you have a needle phobia?", kind="yesno", flag="Needle phobia: plan the cannula"
    )
    assert second.id != first.id
    stored = json.loads(first.questions)
    assert "clinic" not in {s["key"] for s in stored}
    third = intakes.remove_question("clinic_1", by=admin)
    assert "needle" in second.questions and "needle" not in third.questions
    assert intakes.current_form().id == third.id


def test_answers_sent_from_another_tab_are_not_changed(app, client, patient):
    html, token = page_of(client)
    intake_id, version = hidden(html, "intake"), hidden(html, "version")
    form = {"csrf_token": token, "intake": intake_id, "version": version, **CLEAR}
    assert client.post("/intake", data={**form, "action": "send"}).status_code == 302
    # The other tab still shows the form: saving it again changes nothing and says why.
    response = client.post("/intake", data={**form, "driver": "Someone else", "action": "save"})
    assert response.status_code == 302
    assert "already sent" in client.get("/intake").get_data(as_text=True)
    api_token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    body = {"intake": int(intake_id), "version": int(version), "fields": {"driver": "Someone else"}}
    response = client.post("/api/v1/intake/draft", json=body, headers={"X-CSRFToken": api_token})
    assert response.status_code == 409 and "already sent" in response.get_json()["message"]
    assert Intake.get_by_id(intake_id).answer_dict["driver"] == CLEAR["driver"]
