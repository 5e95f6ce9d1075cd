"""The patient's data page: the export (PRIV-01), closing the account and the retention purge (PRIV-02)."""

import csv
import datetime as dt
import io
import json
import os
import time
import uuid
import zipfile

import pytest

from aftercare.exports import spreadsheet_safe
from aftercare.intake import intakes
from aftercare.journal import voice
from aftercare.models import AuditEvent
from aftercare.models import CareRelationship
from aftercare.models import CheckIn
from aftercare.models import ClinicSetting
from aftercare.models import Intake
from aftercare.models import Invite
from aftercare.models import LoginThrottle
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import SafetyAlert
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.models import WebSession
from aftercare.mydata import retention
from aftercare.selfreports import mood as mood_entries
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.factories import make_admin
from tests.factories import make_checkin as checkin
from tests.factories import make_clinician
from tests.factories import make_mood as mood
from tests.factories import make_patient
from tests.factories import PASSWORD
from tests.test_journal import ogg_opus

FORMULA_NOTE = '=HYPERLINK("http://x")'


@pytest.fixture
def clinic(app):
    make_admin()  # without one, sign-in redirects to first-run setup
    clinician = make_clinician(name="Dr. Rowan Lee")
    patient = make_patient(clinician, name="Pat Example")
    other = make_patient(clinician, name="Other Person")
    return clinician, patient, other


def close_form(client, password=PASSWORD):
    token = csrf_from(client.get("/my-data").get_data(as_text=True))
    return client.post("/my-data/close", data={"csrf_token": token, "password": password})


def download(client):
    with client.get("/my-data/export.zip") as response:
        return response.status_code, dict(response.headers), response.get_data()


def read_csv(archive, name):
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_my_data_page_shows_what_is_stored(client, auth, clinic):
    _, patient, _ = clinic
    mood(patient, 6)
    checkin(patient, "gad7", [1] * 7)
    auth.login(patient)
    response = client.get("/my-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Dr. Rowan Lee" in page
    assert "0 PHQ-9 (depression), 1 GAD-7 (anxiety)" in page
    assert 'href="/my-data/export.zip"' in page
    assert "deleted 30 days later" in page
    assert "you can no longer download your data" in page


def test_export_holds_everything_of_theirs_and_nothing_else(client, auth, clinic):
    _, patient, other = clinic
    mood(patient, 7, FORMULA_NOTE, tags=["sleep"])
    mood(patient, 4, "-2+3")
    removed = mood(patient, 2, "tapped by mistake")
    mood_entries.delete(patient, removed)
    checkin(patient, "phq9", [1, 1, 1, 1, 1, 1, 1, 1, 1])
    checkin(patient, "gad7", [2, 2, 2, 2, 2, 2, 2])
    mood(other, 3, "the other patient's private note")
    checkin(other, "phq9", [3] * 8 + [2])
    mine, theirs = intakes.to_answer(patient), intakes.to_answer(other)
    intakes.save(patient, mine, {"weight": "154", "weight_unit": "lb"}, version=str(mine.form_id), send=False)
    intakes.save(
        other, theirs, {"medicines_other": "the other patient's pills"}, version=str(theirs.form_id), send=False
    )
    auth.login(patient)

    status, headers, body = download(client)

    assert status == 200
    assert headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"].startswith("attachment; filename=aftercare-export-")
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert set(archive.namelist()) == {
        "README.txt",
        "aftercare-export.json",
        "mood.csv",
        "checkins.csv",
        "sessions.csv",
        "inbox.csv",
        "journal.csv",
        "circle_posts.csv",
    }
    for name in archive.namelist():
        assert b"the other patient" not in archive.read(name)
        assert other.email.encode() not in archive.read(name)

    data = json.loads(archive.read("aftercare-export.json"))
    assert set(data) == {
        "format",
        "format_version",
        "exported_at",
        "account",
        "care_team",
        "mood_entries",
        "checkins",
        "safety_alerts",
        "intake",
        "sessions",
        "journal",
        "reminders",
        "circles",
    }
    [intake] = data["intake"]
    assert intake["status"] == "Being filled in"
    assert intake["answers"] == [{"question": "Your weight", "answer": "69.9 kg (entered as 154 lb)"}]
    assert b"the other patient's pills" not in body
    assert data["account"]["email"] == patient.email
    assert data["account"]["name"] == "Pat Example"
    assert data["account"]["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert set(data["account"]) >= {"time_zone", "consented_at", "created_at"}
    assert [c["name"] for c in data["care_team"]] == ["Dr. Rowan Lee"]
    assert [(m["score"], m["deleted"]) for m in data["mood_entries"]] == [(7, False), (4, False), (2, True)]
    assert data["mood_entries"][0]["note"] == FORMULA_NOTE  # the JSON keeps the text as written
    assert data["mood_entries"][0]["tags"] == ["sleep"]
    phq9, gad7 = data["checkins"]
    assert phq9["answers"] == [1] * 9 and phq9["total"] == 9 and phq9["band"] == "mild"
    assert phq9["instrument_version"].startswith("PHQ-9")
    assert gad7["total"] == 14 and gad7["band"] == "moderate"
    assert [(a["reason"], a["status"]) for a in data["safety_alerts"]] == [("phq9_item9", "open")]

    moods = read_csv(archive, "mood.csv")
    assert [row["note"] for row in moods] == ["'" + FORMULA_NOTE, "'-2+3", "tapped by mistake"]
    assert [row["deleted"] for row in moods] == ["no", "no", "yes"]
    checkins = read_csv(archive, "checkins.csv")
    assert [(row["instrument"], row["total"], row["q9"]) for row in checkins] == [
        ("phq9", "9", "1"),
        ("gad7", "14", ""),
    ]
    assert "spreadsheet" in archive.read("README.txt").decode()

    audit = AuditEvent.select().where(AuditEvent.action == "export_downloaded")
    assert [(e.actor_id, e.patient_id) for e in audit] == [(patient.id, patient.id)]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("calm = fine", "calm = fine"),
        ("", ""),
        (-3, -3),  # numbers are written as numbers
        (None, None),
    ],
)
def test_spreadsheet_cells_never_start_a_formula(cell, expected):
    assert spreadsheet_safe(cell) == expected


def test_export_of_a_new_account_is_empty_but_complete(client, auth, clinic):
    _, patient, _ = clinic
    auth.login(patient)
    status, _, body = download(client)
    assert status == 200
    archive = zipfile.ZipFile(io.BytesIO(body))
    data = json.loads(archive.read("aftercare-export.json"))
    assert data["mood_entries"] == [] and data["checkins"] == [] and data["safety_alerts"] == []
    assert read_csv(archive, "mood.csv") == []


def test_closing_the_account_ends_every_session_and_hides_the_patient(app, client, auth, clinic):
    clinician, patient, other = clinic
    mood(patient, 5)
    auth.login(patient, remember=True)
    phone = app.test_client()
    Auth(phone).login(patient)
    desk = app.test_client()
    Auth(desk).login(clinician)
    assert f"/clinician/patients/{patient.id}" in desk.get("/clinician/").get_data(as_text=True)

    response = close_form(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/my-data/closed"
    goodbye = client.get("/my-data/closed").get_data(as_text=True)
    delete_on = (utcnow() + dt.timedelta(days=30)).strftime("%-d %B %Y")
    assert f"deleted on {delete_on}" in goodbye
    assert "no longer possible" in goodbye

    closed = User.get_by_id(patient.id)
    assert closed.closed_at is not None and not closed.active
    assert WebSession.select().where(WebSession.user == patient).count() == 0
    assert phone.get("/home").status_code == 302  # the second device is signed out
    assert client.get("/my-data/export.zip").status_code == 302
    link = CareRelationship.get(CareRelationship.patient == patient)
    assert not link.active and link.ended_at is not None
    assert (
        AuditEvent.select().where(AuditEvent.action == "account_closed", AuditEvent.patient_id == patient.id).exists()
    )

    panel = desk.get("/clinician/").get_data(as_text=True)
    assert f"/clinician/patients/{patient.id}" not in panel
    assert f"/clinician/patients/{other.id}" in panel
    assert desk.get(f"/clinician/patients/{patient.id}").status_code == 404

    response = auth.login(patient)
    assert response.status_code == 200
    assert b"do not match an active account" in response.data
    assert MoodEntry.select().where(MoodEntry.patient == patient).count() == 1  # kept until the purge


def test_closing_without_a_csrf_token_is_refused(client, auth, clinic):
    _, patient, _ = clinic
    auth.login(patient)
    response = client.post("/my-data/close", data={"password": PASSWORD})
    assert response.status_code == 400
    assert User.get_by_id(patient.id).active
    assert client.get("/home").status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("not my password at all", "That is not your password. Your account is still open."),
        ("", "Type your password to confirm."),
    ],
)
def test_closing_with_the_wrong_confirmation_changes_nothing(client, auth, clinic, password, message):
    _, patient, _ = clinic
    auth.login(patient)
    audit_rows = AuditEvent.select().count()
    response = close_form(client, password)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    user = User.get_by_id(patient.id)
    assert user.active and user.closed_at is None
    assert CareRelationship.get(CareRelationship.patient == patient).active
    assert AuditEvent.select().count() == audit_rows
    assert client.get("/home").status_code == 200


def test_wrong_confirmation_passwords_count_towards_the_lockout(client, auth, clinic):
    _, patient, _ = clinic
    auth.login(patient)
    for _ in range(5):
        assert close_form(client, "guessing again and again").status_code == 422
    assert LoginThrottle.get(LoginThrottle.account_key == LoginThrottle.key_for(patient.email)).attempts == 5
    assert close_form(client).status_code == 429
    assert User.get_by_id(patient.id).active


def closed_patient(clinician, days_ago):
    """A patient with data of every kind, who closed their account `days_ago` days ago."""
    patient = make_patient(clinician)
    invite, _, _ = Invite.issue(role="patient", email=patient.email, name=patient.name, invited_by=clinician, days=7)
    Invite.update(used_at=utcnow()).where(Invite.id == invite.id).execute()
    mood(patient, 4, "a note")
    checkin(patient, "phq9", [2] * 8 + [1])  # raises an alert
    intake = intakes.to_answer(patient)
    intakes.save(patient, intake, {"bp": "no"}, version=str(intake.form_id), send=False)
    LoginThrottle.insert(account_key=LoginThrottle.key_for(patient.email), attempts=1, window_start=utcnow()).execute()
    retention.close_account(patient)
    # Closing ended its sessions; a stray row shows the purge would take one with it.
    WebSession.create(id=uuid.uuid4().hex, user=patient, expires_at=utcnow(), idle_seconds=60)
    User.update(closed_at=utcnow() - dt.timedelta(days=days_ago)).where(User.id == patient.id).execute()
    return patient


def rows_of(patient):
    return {
        "user": User.select().where(User.id == patient.id).count(),
        "mood": MoodEntry.select().where(MoodEntry.patient == patient.id).count(),
        "mood_days": MoodDay.select().where(MoodDay.patient == patient.id).count(),
        "checkins": CheckIn.select().where(CheckIn.patient == patient.id).count(),
        "alerts": SafetyAlert.select().where(SafetyAlert.patient == patient.id).count(),
        "intakes": Intake.select().where(Intake.patient == patient.id).count(),
        "care_links": CareRelationship.select().where(CareRelationship.patient == patient.id).count(),
        "sessions": WebSession.select().where(WebSession.user == patient.id).count(),
        "invites": Invite.select().where(Invite.email == patient.email).count(),
        "login_failures": LoginThrottle.select()
        .where(LoginThrottle.account_key == LoginThrottle.key_for(patient.email))
        .count(),
    }


def test_retention_purge_deletes_only_accounts_past_retention(runner, clinic):
    clinician, active, _ = clinic
    mood(active, 6)
    old = closed_patient(clinician, days_ago=31)
    recent = closed_patient(clinician, days_ago=29)
    old_audit = AuditEvent.select().where(AuditEvent.patient_id == old.id).count()
    assert old_audit > 0

    result = runner.invoke(args=["retention", "purge"])

    assert result.exit_code == 0, result.output
    assert "Deleted 1 closed account(s) past the 30-day retention period." in result.output
    assert set(rows_of(old).values()) == {0}
    assert 0 not in rows_of(recent).values()
    assert User.get_by_id(active.id).active
    assert MoodEntry.select().where(MoodEntry.patient == active).count() == 1
    # The audit trail outlives the account, and records the deletion itself.
    assert AuditEvent.select().where(AuditEvent.patient_id == old.id).count() == old_audit + 1
    purged = AuditEvent.get(AuditEvent.action == "account_purged")
    assert purged.patient_id == old.id and purged.actor_role == "system"
    assert AuditEvent.verify_chain().broken is None

    again = runner.invoke(args=["retention", "purge"])
    assert again.exit_code == 0
    assert "Deleted 0 closed account(s)" in again.output
    assert AuditEvent.select().where(AuditEvent.action == "account_purged").count() == 1


def test_purging_an_account_removes_its_voice_notes_from_disk(app, runner, clinic, tmp_path):
    """PRIV-02: the audio goes with the account; a recording still being uploaded is left alone."""
    clinician, active, _ = clinic
    app.config["VOICE_DIR"] = str(tmp_path / "voice")
    old = closed_patient(clinician, days_ago=31)
    with app.app_context():
        gone, _ = voice.store(old, ogg_opus(1.0), client_id=str(uuid.uuid4()))
        kept, _ = voice.store(active, ogg_opus(1.0), client_id=str(uuid.uuid4()))
        gone_path, kept_path = voice.path_of(gone), voice.path_of(kept)
    week_ago = time.time() - 7 * 86400
    os.utime(gone_path, (week_ago, week_ago))
    uploading = tmp_path / "voice" / "0123456789abcdef0123456789abcdef"
    uploading.write_bytes(b"not committed yet")

    result = runner.invoke(args=["retention", "purge"])

    assert result.exit_code == 0, result.output
    assert "Removed 1 voice-note file(s) that no longer belonged to anyone." in result.output
    assert not gone_path.exists()
    assert kept_path.exists() and uploading.exists()


def test_retention_follows_the_clinic_setting(runner, clinic):
    clinician, _, _ = clinic
    recent = closed_patient(clinician, days_ago=8)
    ClinicSetting.set_value("retention_days", "7")
    result = runner.invoke(args=["retention", "purge"])
    assert "Deleted 1 closed account(s) past the 7-day retention period." in result.output
    assert rows_of(recent)["user"] == 0


def test_retention_status_lists_closed_accounts_without_naming_them(runner, clinic):
    clinician, _, _ = clinic
    due = closed_patient(clinician, days_ago=40)
    waiting = closed_patient(clinician, days_ago=10)
    result = runner.invoke(args=["retention", "status"])
    assert result.exit_code == 0, result.output
    assert "2 closed account(s); retention period 30 day(s)." in result.output
    assert f"user {due.id} " in result.output and "due now" in result.output
    delete_on = retention.deletion_date(User.get_by_id(waiting.id).closed_at)
    assert f"user {waiting.id} " in result.output and f"{delete_on:%Y-%m-%d}" in result.output
    assert due.email not in result.output
    assert due.email in runner.invoke(args=["retention", "status", "--show-email"]).output
