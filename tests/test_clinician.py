"""The clinician's panel flags and the safety-alert workflow."""

import datetime as dt
import re

import pytest

from aftercare.clinician import panel
from aftercare.models import AuditEvent
from aftercare.models import SafetyAlert
from aftercare.models import User
from aftercare.models import utcnow
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_mood_day
from tests.factories import make_patient
from tests.factories import make_phq9 as phq9

TODAY = utcnow().date()


def mood_days(patient, scores_by_days_ago):
    for days_ago, score in scores_by_days_ago.items():
        make_mood_day(patient, TODAY - dt.timedelta(days=days_ago), score)


@pytest.mark.parametrize(
    ("setup", "flags"),
    [
        (lambda p: mood_days(p, {0: 6}), []),
        (lambda p: None, []),  # joined today: five days are counted from joining
        (lambda p: User.update(created_at=utcnow() - dt.timedelta(days=5)).where(User.id == p.id).execute(), ["quiet"]),
        (lambda p: mood_days(p, {5: 6}), ["quiet"]),
        (lambda p: mood_days(p, {4: 6}), []),
        (lambda p: phq9(p, 4, 4), []),  # a questionnaire is a self-report too
        (lambda p: (mood_days(p, {9: 6}), phq9(p, 4, 6)), ["quiet"]),
        (lambda p: (mood_days(p, {0: 6}), phq9(p, 10, 14), phq9(p, 15, 0)), ["worsening"]),
        (lambda p: (mood_days(p, {0: 6}), phq9(p, 10, 14), phq9(p, 14, 0)), []),
        (lambda p: (mood_days(p, {0: 6}), phq9(p, 4, 0, item9=1)), ["alert"]),
        (lambda p: mood_days(p, {0: 3, 1: 3, 5: 7, 6: 7, 7: 7, 8: 7}), ["mood-drop"]),
        (lambda p: mood_days(p, {0: 5, 1: 5, 5: 7, 6: 7, 7: 7, 8: 7}), []),
    ],
    ids=[
        "fine",
        "new",
        "nothing-in-5-days",
        "quiet-5-days",
        "quiet-4-days",
        "checkin-4-days",
        "checkin-6-days",
        "worse-by-5",
        "worse-by-4",
        "item9",
        "drop-4",
        "drop-2",
    ],
)
def test_panel_flags(app, setup, flags):
    clinician = make_clinician()
    patient = make_patient(clinician)
    setup(patient)
    [row] = panel.build(clinician)
    assert row.flags == flags


def test_panel_response_and_remission(app):
    clinician = make_clinician()
    responder, remitter, other = (make_patient(clinician) for _ in range(3))
    phq9(responder, 20, 30), phq9(responder, 10, 0)
    phq9(remitter, 16, 30), phq9(remitter, 4, 0)
    phq9(other, 20, 30), phq9(other, 11, 0)
    rows = {r.patient_id: r for r in panel.build(clinician)}
    panel.detail(list(rows.values()))
    outcome = {patient_id: row.outcomes["phq9"] for patient_id, row in rows.items()}
    assert (outcome[responder.id].response, outcome[responder.id].remission, outcome[responder.id].change) == (
        True,
        False,
        -10,
    )
    assert (outcome[remitter.id].response, outcome[remitter.id].remission) == (True, True)
    assert (outcome[other.id].response, outcome[other.id].remission) == (False, False)


def test_panel_puts_open_alerts_first_and_shows_only_own_patients(client, auth):
    make_admin()
    clinician = make_clinician()
    calm = make_patient(clinician, name="Aaron Calm")
    urgent = make_patient(clinician, name="Zoe Urgent")
    stranger = make_patient(make_clinician(), name="Someone Else")
    mood_days(calm, {0: 7})
    phq9(urgent, 12, item9=2)
    auth.login(clinician)
    page = client.get("/clinician/").get_data(as_text=True)
    assert page.index("Zoe Urgent") < page.index("Aaron Calm")
    assert "Someone Else" not in page
    assert "Open alert" in page
    del calm, stranger


def test_acknowledging_an_alert_needs_a_note_and_is_audited(client, auth):
    make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    phq9(patient, 12, item9=1)
    alert = SafetyAlert.get()
    auth.login(clinician)
    page = client.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    assert "PHQ-9 item 9" in page and "Open" in page
    # Named before the timeline, with a link down to it: the first thing the record says.
    assert page.index('<a href="#alerts-heading">1 open safety alert</a>') < page.index("Timeline</h2>")
    token = csrf_from(page)
    empty = client.post(f"/clinician/alerts/{alert.id}/acknowledge", data={"csrf_token": token, "note": " "})
    assert empty.status_code == 422
    assert b"Write a short note" in empty.data
    assert SafetyAlert.get_by_id(alert.id).acknowledged_at is None
    done = client.post(f"/clinician/alerts/{alert.id}/acknowledge", data={"csrf_token": token, "note": "Called; safe."})
    assert done.status_code == 302
    alert = SafetyAlert.get_by_id(alert.id)
    assert alert.acknowledged_by_id == clinician.id and alert.note == "Called; safe."
    assert "open safety alert" not in client.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    assert AuditEvent.select().where(AuditEvent.action == "alert_acknowledged").count() == 1


def test_another_clinicians_alert_is_404(client, auth):
    make_admin()
    clinician = make_clinician()
    other_patient = make_patient(make_clinician())
    phq9(other_patient, 12, item9=1)
    auth.login(clinician)
    token = auth.csrf("/clinician/")
    response = client.post(
        f"/clinician/alerts/{SafetyAlert.get().id}/acknowledge", data={"csrf_token": token, "note": "x"}
    )
    assert response.status_code == 404
    assert SafetyAlert.get().acknowledged_at is None


def test_patient_record_says_when_data_stopped(client, auth):
    make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    mood_days(patient, {40: 5})
    auth.login(clinician)
    page = client.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    assert f"No data since {(TODAY - dt.timedelta(days=40)).strftime('%-d %B %Y')}</strong>" in page


def test_the_record_opens_with_the_patients_timeline(client, auth):
    make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician, measures="phq9,pcl5")
    mood_days(patient, {1: 4, 2: 6, 40: 3})
    phq9(patient, 14, 20)
    phq9(patient, 8, 2)
    auth.login(clinician)
    page = client.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline-heading"') : page.index('id="alerts-heading"')]
    # Mood and each measure the patient has, as pictures with their numbers, spoken about the patient.
    assert timeline.count('<svg class="chart"') == 2 and timeline.count('class="chart-data"') == 2
    assert "No PCL-5 questionnaires in the last 30 days yet." in timeline  # asked for, not answered yet
    assert "their average mood was 5.0" in timeline and "they completed the PHQ-9 2 times" in timeline
    assert "your" not in timeline.lower()
    assert "PCL-5" in timeline and "GAD-7" not in timeline
    links = re.findall(r'range=(\w+)#timeline-heading"( aria-current="page")?', timeline)
    assert [key for key, _ in links] == ["30", "90", "all"] and [k for k, now in links if now] == ["30"]
    # A longer range reaches the older day; an unknown one falls back to 30 days.
    longer = client.get(f"/clinician/patients/{patient.id}?range=90").get_data(as_text=True)
    assert "on 3 days" in longer
    odd = client.get(f"/clinician/patients/{patient.id}?range=<b>").get_data(as_text=True)
    assert "on 2 days" in odd and "<b>" not in odd
    # The long tables are folded under a line that says how much is in them.
    assert "Every answer set, newest first (2)" in page
