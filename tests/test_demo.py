"""The demo clinic loads, signs in, and never touches a real clinic's database."""

import pyotp

from aftercare.demo import DEMO_PASSWORD
from aftercare.demo import DEMO_TOTP_SECRET
from aftercare.models import CareRelationship
from aftercare.models import User
from tests.conftest import csrf_from
from tests.factories import make_admin


def test_demo_clinic_loads_and_its_logins_work(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert User.select().where(User.role == "patient").count() == 8
    assert User.select().where(User.role == "clinician").count() == 2
    assert User.select().where(User.role == "admin").count() == 1
    assert CareRelationship.select().count() == 8
    # Running it again refreshes, never duplicates.
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert User.select().count() == 11

    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"csrf_token": token, "email": "dana@demo.aftercare.example", "password": DEMO_PASSWORD}
    )
    assert response.headers["Location"].startswith("/login/verify")
    token = csrf_from(client.get("/login/verify").get_data(as_text=True))
    response = client.post("/login/verify", data={"csrf_token": token, "code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    assert response.headers["Location"] == "/clinician/"
    panel = client.get("/clinician/").get_data(as_text=True)
    assert panel.count('href="/clinician/patients/') == 4


def test_demo_refuses_a_database_with_real_accounts(runner):
    make_admin()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "real account" in result.output
    assert User.select().count() == 1


def test_create_admin_command_only_once(runner):
    args = [
        "users",
        "create-admin",
        "--name",
        "Ada Admin",
        "--email",
        "ada@example.org",
        "--password",
        "tidal copper orchard",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert User.get(User.email == "ada@example.org").role == "admin"
    again = runner.invoke(args=[*args[:-1], "another good passphrase"])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_create_admin_command_refuses_weak_password(runner):
    result = runner.invoke(
        args=["users", "create-admin", "--name", "Ada", "--email", "ada@example.org", "--password", "short"]
    )
    assert result.exit_code == 1
    assert User.select().count() == 0
