"""Signing in and out, lockout, two-step verification, first run, invites and resets."""

import datetime as dt

import pyotp
import pytest

from aftercare.models import CareRelationship
from aftercare.models import Invite
from aftercare.models import LoginThrottle
from aftercare.models import PasswordReset
from aftercare.models import RecoveryCode
from aftercare.models import User
from aftercare.models import utcnow
from aftercare.models import WebSession
from tests.conftest import Auth
from tests.conftest import csrf_from
from tests.conftest import post_form
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient
from tests.factories import PASSWORD


@pytest.fixture
def clinic(app):
    admin = make_admin()
    clinician = make_clinician()
    patient = make_patient(clinician)
    return admin, clinician, patient


def test_patient_signs_in_and_lands_on_today(client, auth, clinic):
    _, _, patient = clinic
    response = auth.login(patient)
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"
    assert client.get("/home").status_code == 200


def test_wrong_password_says_so_and_changes_nothing(client, auth, clinic):
    _, _, patient = clinic
    response = auth.login(patient, password="not the right one")
    assert response.status_code == 200
    assert b"do not match an active account" in response.data
    assert client.get("/home").status_code == 302


def test_unknown_email_gets_the_same_answer(client, auth, clinic):
    ghost = User(email="nobody@example.org", role="patient")
    response = auth.login(ghost, password="whatever whatever")
    assert b"do not match an active account" in response.data


def test_sixth_wrong_password_within_15_minutes_is_429(client, auth, clinic):
    _, _, patient = clinic
    for _ in range(5):
        assert auth.login(patient, password="wrong password!").status_code == 200
    response = auth.login(patient, password="wrong password!")
    assert response.status_code == 429
    assert 800 < int(response.headers["Retry-After"]) <= 901
    # Locked even with the right password; the counter lives in the database, and every try counts.
    assert auth.login(patient).status_code == 429
    assert LoginThrottle.get(LoginThrottle.account_key == LoginThrottle.key_for(patient.email)).attempts == 7


def test_lockout_ends_after_15_minutes(client, auth, clinic):
    _, _, patient = clinic
    for _ in range(6):
        auth.login(patient, password="wrong password!")
    assert auth.login(patient).status_code == 429
    LoginThrottle.update(window_start=utcnow() - dt.timedelta(minutes=16)).execute()
    assert auth.login(patient).status_code == 302


def test_copied_cookie_is_refused_after_logout(app, client, auth, clinic):
    _, _, patient = clinic
    auth.login(patient)
    name = app.config["SESSION_COOKIE_NAME"]
    stolen = client.get_cookie(name).value
    assert client.get("/home").status_code == 200
    auth.logout()
    thief = app.test_client()
    thief.set_cookie(name, stolen)
    response = thief.get("/home")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_cookie_carries_only_a_random_id(app, client, auth, clinic):
    _, _, patient = clinic
    auth.login(patient)
    value = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert len(value) == 43  # 32 random bytes, base64url
    assert "." not in value  # not a signed payload
    assert WebSession.select().where(WebSession.user == patient).count() == 1


def test_session_id_changes_at_sign_in(app, client, auth, clinic):
    _, _, patient = clinic
    client.get("/login")
    before = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    auth.login(patient)
    after = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert before != after


def test_patient_device_session_lasts_30_days(app, client, auth, clinic):
    _, _, patient = clinic
    auth.login(patient, remember=True)
    row = WebSession.get(WebSession.user == patient)
    assert dt.timedelta(days=29) < row.expires_at - row.created_at <= dt.timedelta(days=30)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie.expires is not None


def test_staff_session_ends_after_15_idle_minutes(client, auth, clinic):
    _, clinician, _ = clinic
    auth.login(clinician)
    assert client.get("/clinician/").status_code == 200
    WebSession.update(last_seen=utcnow() - dt.timedelta(minutes=16)).execute()
    assert client.get("/clinician/").status_code == 302


def test_staff_session_ends_after_12_hours_even_when_busy(client, auth, clinic):
    _, clinician, _ = clinic
    auth.login(clinician)
    WebSession.update(expires_at=utcnow() - dt.timedelta(seconds=1)).execute()
    assert client.get("/clinician/").status_code == 302


def test_staff_need_the_second_factor(client, clinic):
    _, clinician, _ = clinic
    response = post_form(client, "/login", {"email": clinician.email, "password": PASSWORD})
    assert response.headers["Location"].startswith("/login/verify")
    # Half-way through is not signed in.
    assert client.get("/clinician/").status_code == 302


def test_a_totp_code_works_only_once(app, clinic):
    _, clinician, _ = clinic
    first, second = app.test_client(), app.test_client()
    code = pyotp.TOTP(clinician.totp_secret).now()
    for c in (first, second):
        post_form(c, "/login", {"email": clinician.email, "password": PASSWORD})
    assert post_form(first, "/login/verify", {"code": code}).status_code == 302
    response = post_form(second, "/login/verify", {"code": code})
    assert response.status_code == 200
    assert b"each works once" in response.data


def test_a_recovery_code_works_once(app, clinic):
    _, clinician, _ = clinic
    codes = RecoveryCode.replace_for(clinician)
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        post_form(c, "/login", {"email": clinician.email, "password": PASSWORD})
    assert post_form(first, "/login/verify", {"code": codes[0]}).status_code == 302
    assert post_form(second, "/login/verify", {"code": codes[0]}).status_code == 200


def test_staff_without_totp_enrol_and_get_recovery_codes(client, clinic):
    admin = make_admin(totp=False)
    response = post_form(client, "/login", {"email": admin.email, "password": PASSWORD})
    assert response.headers["Location"].startswith("/login/two-step")
    page = client.get("/login/two-step").get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0]
    assert 'src="data:image/svg+xml' in page
    wrong = post_form(client, "/login/two-step", {"code": "000000"})
    assert b"did not match" in wrong.data
    response = post_form(client, "/login/two-step", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert b"recovery codes" in response.data
    assert User.get_by_id(admin.id).totp_secret == secret
    assert RecoveryCode.select().where(RecoveryCode.user == admin).count() == 10
    assert client.get("/admin/").status_code == 200


def test_logout_needs_post_with_csrf(client, auth, clinic):
    _, _, patient = clinic
    auth.login(patient)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={})
    assert response.status_code == 400
    assert client.get("/home").status_code == 200


def test_csrf_failure_gets_a_clear_message(client, clinic):
    response = client.post("/login", data={"email": "x@example.org", "password": "y" * 12})
    assert response.status_code == 400
    assert b"nothing was saved" in response.data


# First run (AUTH-08)


def test_first_run_leads_to_creating_the_administrator(client):
    assert client.get("/").headers["Location"] == "/setup"
    assert client.get("/login").headers["Location"] == "/setup"
    response = post_form(
        client,
        "/setup",
        {
            "name": "Ada Admin",
            "email": "ada@example.org",
            "password": "tidal copper orchard",
            "confirm": "tidal copper orchard",
        },
    )
    assert response.headers["Location"] == "/login"
    assert User.get(User.email == "ada@example.org").role == "admin"
    assert client.get("/setup").status_code == 404


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", b"at least 12 characters"),
        ("password1234", b"too common"),
        ("aaaaaaaaaaaaaaaa", b"too common"),
        ("ada lovelace 1815", b"avoid your name"),
    ],
)
def test_setup_refuses_weak_passwords(client, password, message):
    response = post_form(
        client,
        "/setup",
        {"name": "Ada Lovelace", "email": "ada@example.org", "password": password, "confirm": password},
    )
    assert response.status_code == 200
    assert message in response.data
    assert User.select().count() == 0


# Invites


def invite_patient(clinician, **kwargs):
    fields = {
        "role": "patient",
        "email": "new.patient@example.org",
        "name": "Nia Patel",
        "invited_by": clinician,
        "days": 7,
    }
    fields.update(kwargs)
    return Invite.issue(**fields)


JOIN = {
    "password": "lantern meadow quietly",
    "confirm": "lantern meadow quietly",
    "timezone": "America/Chicago",
    "quiet_start": "21:00",
    "quiet_end": "08:00",
    "consent": "y",
}


def test_patient_joins_by_link(client, clinic):
    _, clinician, _ = clinic
    invite, token, _ = invite_patient(clinician)
    response = client.get(f"/join/{token}")
    assert response.headers["Location"] == "/join/accept"
    page = client.get("/join/accept")
    assert b"What your care team will see" in page.data
    response = post_form(client, "/join/accept", JOIN)
    assert response.headers["Location"] == "/home"
    patient = User.get(User.email == "new.patient@example.org")
    assert patient.timezone == "America/Chicago"
    assert patient.consented_at is not None
    assert CareRelationship.get(CareRelationship.patient == patient).clinician_id == clinician.id
    assert client.get("/home").status_code == 200


def test_patient_joins_by_short_code_in_any_case(client, clinic):
    _, clinician, _ = clinic
    _, _, code = invite_patient(clinician)
    response = post_form(client, "/join", {"code": code.lower().replace("-", " ")})
    assert response.headers["Location"] == "/join/accept"
    assert post_form(client, "/join/accept", JOIN).headers["Location"] == "/home"


def test_an_invite_works_once(app, client, clinic):
    _, clinician, _ = clinic
    _, token, code = invite_patient(clinician)
    client.get(f"/join/{token}")
    post_form(client, "/join/accept", JOIN)
    other = app.test_client()
    assert other.get(f"/join/{token}").status_code == 404
    response = post_form(other, "/join", {"code": code})
    assert b"not valid" in response.data


def test_an_expired_invite_is_refused(client, clinic):
    _, clinician, _ = clinic
    invite, token, _ = invite_patient(clinician)
    Invite.update(expires_at=utcnow() - dt.timedelta(seconds=1)).execute()
    response = client.get(f"/join/{token}")
    assert response.status_code == 404
    assert b"no longer works" in response.data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, b"Choose a time zone"),
        ({"password": "short", "confirm": "short"}, b"at least 12"),
        ({"confirm": "something else entirely"}, b"not the same"),
        ({"consent": ""}, b"tick the box"),
        ({"quiet_start": "25:00"}, b"Use a time like"),
    ],
)
def test_joining_with_bad_input_changes_nothing(client, clinic, change, message):
    _, clinician, _ = clinic
    _, token, _ = invite_patient(clinician)
    client.get(f"/join/{token}")
    data = {**JOIN, **change}
    if not data["consent"]:
        del data["consent"]
    response = post_form(client, "/join/accept", data)
    assert response.status_code == 200
    assert message in response.data
    assert not User.by_email("new.patient@example.org").exists()
    assert Invite.usable().count() == 1


def test_clinician_invites_through_the_page(client, auth, clinic):
    _, clinician, _ = clinic
    auth.login(clinician)
    response = post_form(client, "/clinician/invite", {"name": "Rae Lin", "email": "Rae.Lin@Example.org"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="invite-code"' in page and "/join/" in page
    invite = Invite.get(Invite.email == "rae.lin@example.org")
    assert invite.invited_by_id == clinician.id


def test_invite_for_an_existing_email_is_refused(client, auth, clinic):
    _, clinician, patient = clinic
    auth.login(clinician)
    response = post_form(client, "/clinician/invite", {"name": "Dup", "email": patient.email})
    assert b"already has an account" in response.data
    assert Invite.select().count() == 0


def test_staff_join_then_enrol_two_step(client, clinic):
    admin, _, _ = clinic
    _, token, _ = Invite.issue(role="clinician", email="cal@example.org", name="Cal Rivers", invited_by=admin, days=7)
    client.get(f"/join/{token}")
    data = {k: v for k, v in JOIN.items() if k != "consent"}
    response = post_form(client, "/join/accept", data)
    assert response.headers["Location"] == "/login"
    response = post_form(client, "/login", {"email": "cal@example.org", "password": JOIN["password"]})
    assert response.headers["Location"].startswith("/login/two-step")


# Password reset (AUTH-07) and change (SESS-05)


def test_reset_link_is_single_use_and_revokes_sessions(app, clinic):
    admin, _, patient = clinic
    phone = app.test_client()
    Auth(phone).login(patient)
    _, token = PasswordReset.issue(patient, admin, 30)
    client = app.test_client()
    assert client.get(f"/reset/{token}").headers["Location"] == "/reset"
    response = post_form(client, "/reset", {"password": "harbor violet sketch", "confirm": "harbor violet sketch"})
    assert response.headers["Location"] == "/login"
    assert phone.get("/home").status_code == 302  # the old session is gone
    assert app.test_client().get(f"/reset/{token}").status_code == 404
    assert Auth(app.test_client()).login(patient, password="harbor violet sketch").status_code == 302


def test_reset_link_expires_after_30_minutes(client, clinic):
    admin, _, patient = clinic
    reset, token = PasswordReset.issue(patient, admin, 30)
    assert reset.expires_at - reset.created_at <= dt.timedelta(minutes=30)
    PasswordReset.update(expires_at=utcnow() - dt.timedelta(seconds=1)).execute()
    assert client.get(f"/reset/{token}").status_code == 404


def test_reset_token_is_stored_hashed(clinic):
    admin, _, patient = clinic
    _, token = PasswordReset.issue(patient, admin, 30)
    assert not PasswordReset.select().where(PasswordReset.token_hash == token).exists()


def test_admin_issues_a_reset_link(client, auth, clinic):
    admin, _, patient = clinic
    auth.login(admin)
    token = auth.csrf("/admin/")
    response = client.post(f"/admin/users/{patient.id}/reset-link", data={"csrf_token": token})
    assert response.status_code == 200
    assert b"/reset/" in response.data


def test_password_change_signs_out_other_sessions(app, clinic):
    _, _, patient = clinic
    phone, laptop = app.test_client(), app.test_client()
    Auth(phone).login(patient)
    Auth(laptop).login(patient)
    response = post_form(
        laptop,
        "/account/password",
        {"current": PASSWORD, "password": "cobalt river window", "confirm": "cobalt river window"},
        page="/account",
    )
    assert response.headers["Location"] == "/account"
    assert laptop.get("/home").status_code == 200
    assert phone.get("/home").status_code == 302


def test_password_change_with_wrong_current_password(client, auth, clinic):
    _, _, patient = clinic
    auth.login(patient)
    response = post_form(
        client,
        "/account/password",
        {"current": "not my password", "password": "cobalt river window", "confirm": "cobalt river window"},
        page="/account",
    )
    assert response.status_code == 422
    assert b"not your current password" in response.data


def test_user_sees_and_ends_other_sessions(app, clinic):
    _, _, patient = clinic
    phone, laptop = app.test_client(), app.test_client()
    Auth(phone).login(patient)
    Auth(laptop).login(patient)
    page = laptop.get("/account").get_data(as_text=True)
    assert page.count("Sign out this device") == 1
    other = WebSession.get(WebSession.user == patient, WebSession.id != _session_id(app, laptop))
    post_form(laptop, f"/account/sessions/{other.id}/end", {}, page="/account")
    assert phone.get("/home").status_code == 302
    assert laptop.get("/home").status_code == 200


def _session_id(app, client):
    from aftercare.models import token_hash

    return token_hash(client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)


def test_deactivated_account_is_signed_out_everywhere(app, clinic):
    admin, _, patient = clinic
    phone = app.test_client()
    Auth(phone).login(patient)
    admin_client = app.test_client()
    Auth(admin_client).login(admin)
    post_form(admin_client, f"/admin/users/{patient.id}/deactivate", {}, page="/admin/")
    assert phone.get("/home").status_code == 302
    assert Auth(app.test_client()).login(patient).status_code == 200  # refused, same message


def test_next_parameter_cannot_leave_the_site(client, clinic):
    _, _, patient = clinic
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/x", data={"csrf_token": token, "email": patient.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/home"


def test_clinician_adds_a_colleague_to_the_care_team(app, clinic):
    _, clinician, patient = clinic
    colleague = make_clinician(name="Bea Colleague")
    client = app.test_client()
    Auth(client).login(clinician)
    page = client.get(f"/clinician/patients/{patient.id}").get_data(as_text=True)
    assert "Bea Colleague" in page
    response = post_form(
        client,
        f"/clinician/patients/{patient.id}/care-team",
        {"clinician": colleague.id},
        page=f"/clinician/patients/{patient.id}",
    )
    assert response.status_code == 302
    assert colleague.cares_for(patient)
    other = app.test_client()
    Auth(other).login(colleague)
    assert other.get(f"/clinician/patients/{patient.id}").status_code == 200


def test_adding_someone_who_is_not_a_clinician_is_refused(client, auth, clinic):
    admin, clinician, patient = clinic
    auth.login(clinician)
    response = post_form(
        client,
        f"/clinician/patients/{patient.id}/care-team",
        {"clinician": admin.id},
        page=f"/clinician/patients/{patient.id}",
    )
    assert response.status_code == 302
    assert not admin.cares_for(patient)


# AUTH-09: after sign-in, only a same-origin path.


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/%0d/x",
        "/%0a/evil.example",
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%20/evil.example",
        "%09/evil.example",
        "/home%00",
        "evil.example",
    ],
)
def test_sign_in_never_redirects_off_the_site(client, clinic, target):
    _, _, patient = clinic
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        f"/login?next={target}", data={"csrf_token": token, "email": patient.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/home"


@pytest.mark.parametrize("target", ["/journal", "/sessions?when=past", "/history?range=30d#mood"])
def test_sign_in_returns_to_a_page_of_the_site(client, clinic, target):
    _, _, patient = clinic
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": token, "email": patient.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == target


def test_recovery_codes_page_links_only_within_the_site(client, clinic):
    admin, _, _ = clinic
    User.update(totp_secret=None).where(User.id == admin.id).execute()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=/%09/evil.example", data={"csrf_token": token, "email": admin.email, "password": PASSWORD}
    )
    enrol = response.headers["Location"]
    page = client.get(enrol).get_data(as_text=True)
    secret = page.split('id="totp-secret">')[1].split("<")[0].replace(" ", "") if 'id="totp-secret"' in page else None
    if secret is None:
        with client.session_transaction() as session:
            secret = session["enrol_secret"]
    token = csrf_from(page)
    response = client.post(enrol, data={"csrf_token": token, "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "evil.example" not in html
    assert 'href="/admin/"' in html


# AUTH-03/11: every guess counts, before it is checked.


def test_parallel_wrong_passwords_are_checked_at_most_five_times(app, clinic, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from aftercare import accounts

    _, _, patient = clinic
    checked = []
    real_verify = accounts.verify_password

    def counting_verify(stored, password):
        checked.append(password)
        return real_verify(stored, password)

    monkeypatch.setattr(accounts, "verify_password", counting_verify)
    app.config["WTF_CSRF_ENABLED"] = False

    def attempt(n):
        with app.test_client() as client:
            response = client.post("/login", data={"email": patient.email, "password": f"wrong password {n}"})
            return response.status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, range(30)))
    assert len(checked) <= 5
    assert statuses.count(429) >= 25
    assert statuses.count(200) == len(checked)


def test_wrong_current_passwords_count_toward_the_lockout(client, auth, clinic):
    _, _, patient = clinic
    auth.login(patient)
    data = {"current": "not my password", "password": "cobalt river window", "confirm": "cobalt river window"}
    for _ in range(5):
        assert post_form(client, "/account/password", data, page="/account").status_code == 422
    response = post_form(client, "/account/password", {**data, "current": PASSWORD}, page="/account")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert Auth(client.application.test_client()).login(patient).status_code == 429
    assert User.get_by_id(patient.id).password_hash == patient.password_hash


def test_the_second_factor_and_the_password_share_one_count(client, clinic):
    """The right password does not reset the count before the second factor: else it buys more code guesses."""
    _, clinician, _ = clinic
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "email": clinician.email, "password": PASSWORD})
    for _ in range(4):
        response = post_form(client, "/login/verify", {"code": "000000"})
        assert response.status_code == 200
    response = post_form(client, "/login/verify", {"code": pyotp.TOTP(clinician.totp_secret).now()})
    assert response.status_code == 429


# AUTH-07: the raw reset token never rests in the database, not even in a session row.


def test_an_open_reset_page_keeps_only_the_tokens_hash(app, client, clinic):
    admin, _, patient = clinic
    _, token = PasswordReset.issue(patient, admin, 30)
    assert client.get(f"/reset/{token}").headers["Location"] == "/reset"
    assert client.get("/reset").status_code == 200
    stored = " ".join(row.data for row in WebSession.select())
    assert token not in stored
