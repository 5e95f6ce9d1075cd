"""AUTH-10: an account's owner can read its security activity, and learns when someone else reset it."""

import pyotp
import pytest

from aftercare.models import PasswordReset
from aftercare.models import User
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.conftest import post_form
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

NEW_PASSWORD = "harbor violet sketch"


@pytest.fixture
def clinic(app):
    admin = make_admin(name="Alex Admin")
    clinician = make_clinician(name="Dana Reyes")
    patient = make_patient(clinician, name="Maya Chen")
    return admin, clinician, patient


def admin_resets_password(app, admin, patient) -> str:
    """The administrator asks for a reset link and uses it themselves: a takeover."""
    desk = app.test_client()
    Auth(desk).login(admin)
    page = post_form(desk, f"/admin/users/{patient.id}/reset-link", {}, page="/admin/").get_data(as_text=True)
    link = page.split('id="reset-link">')[1].split("<")[0]
    path = "/reset/" + link.rsplit("/reset/", 1)[1]
    other = app.test_client()
    assert other.get(path).headers["Location"] == "/reset"
    response = post_form(other, "/reset", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/login"
    return path


def test_a_reset_by_someone_else_is_shown_at_the_next_sign_in(app, clinic):
    admin, _, patient = clinic
    admin_resets_password(app, admin, patient)
    phone = app.test_client()
    response = Auth(phone).login(patient, password=NEW_PASSWORD)
    assert response.headers["Location"].startswith("/account/notices")
    page = phone.get(response.headers["Location"]).get_data(as_text=True)
    assert "Alex Admin" in page and "administrator" in page
    assert "password" in page.lower()
    # Until it is acknowledged, it comes back on every page the owner opens, and on My account.
    assert phone.get("/home").headers["Location"].startswith("/account/notices")
    account = phone.get("/account/notices").get_data(as_text=True)
    assert "Alex Admin" in account
    post_form(phone, "/account/notices/dismiss", {}, page="/account/notices")
    assert phone.get("/home").status_code == 200
    activity = phone.get("/account").get_data(as_text=True)
    assert "Alex Admin" in activity  # the activity list keeps it for good


def test_a_notice_cannot_be_dismissed_before_it_was_shown(app, clinic):
    admin, _, patient = clinic
    admin_resets_password(app, admin, patient)
    phone = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    token = csrf_from(phone.get("/login").get_data(as_text=True), required=False)
    response = phone.post("/login", data={"csrf_token": token, "email": patient.email, "password": NEW_PASSWORD})
    assert response.headers["Location"].startswith("/account/notices")
    # Straight to "dismiss", without opening the notice: refused, and it stays.
    assert phone.post("/account/notices/dismiss").status_code == 409
    assert phone.get("/home").headers["Location"].startswith("/account/notices")


def test_an_own_password_change_raises_no_notice(app, clinic):
    _, _, patient = clinic
    phone = app.test_client()
    Auth(phone).login(patient)
    data = {"current": "gentle harbor lantern", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post_form(phone, "/account/password", data, page="/account").headers["Location"] == "/account"
    assert phone.get("/home").status_code == 200
    again = app.test_client()
    assert Auth(again).login(patient, password=NEW_PASSWORD).headers["Location"] == "/home"


def test_a_two_step_reset_is_shown_to_the_clinician(app, clinic):
    admin, clinician, _ = clinic
    desk = app.test_client()
    Auth(desk).login(admin)
    post_form(desk, f"/admin/users/{clinician.id}/reset-two-step", {}, page="/admin/")
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "email": clinician.email, "password": "gentle harbor lantern"}
    )
    assert response.headers["Location"].startswith("/login/two-step")
    page = client.get("/login/two-step").get_data(as_text=True)
    with client.session_transaction() as session:
        secret = session["enrol_secret"]
    response = client.post("/login/two-step", data={"csrf_token": csrf_from(page), "code": pyotp.TOTP(secret).now()})
    codes_page = response.get_data(as_text=True)
    assert "/account/notices" in codes_page  # "I have saved them" leads on to the notice
    notice = client.get("/account/notices").get_data(as_text=True)
    assert "two-step" in notice.lower() and "Alex Admin" in notice


def test_the_owner_reads_sign_ins_resets_two_step_changes_and_ended_sessions(app, clinic):
    admin, clinician, patient = clinic
    laptop, phone = app.test_client(), app.test_client()
    Auth(laptop).login(patient)
    Auth(phone).login(patient)
    post_form(laptop, "/account/sessions/end-others", {}, page="/account")
    admin_resets_password(app, admin, patient)
    Auth(laptop).login(patient, password=NEW_PASSWORD)
    laptop.get("/account/notices")
    post_form(laptop, "/account/notices/dismiss", {}, page="/account/notices")
    page = laptop.get("/account").get_data(as_text=True)
    section = page.split('id="activity"')[1]
    for words in ("Signed in", "Other devices signed out", "Reset link issued", "Password reset", "Alex Admin"):
        assert words in section, words
    # Another account's activity never shows here.
    Auth(app.test_client()).login(clinician)
    assert clinician.email not in section and "Dana Reyes" not in section


def test_the_reset_link_names_the_account_and_its_issuer_in_the_audit_log(app, clinic):
    from aftercare.models import AuditEvent

    admin, _, patient = clinic
    admin_resets_password(app, admin, patient)
    issued = AuditEvent.get(AuditEvent.action == "reset_link_issued")
    assert (issued.actor_id, issued.subject_id) == (admin.id, patient.id)
    used = AuditEvent.get(AuditEvent.action == "password_reset")
    assert used.subject_id == patient.id
    assert PasswordReset.get().used_at is not None
    assert User.get_by_id(patient.id).password_hash != patient.password_hash
