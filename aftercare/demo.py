"""A demo clinic: an admin, two clinicians and eight patients with documented logins."""

import click
from flask.cli import with_appcontext

from .db import db
from .models import ADMIN
from .models import AuditEvent
from .models import CareRelationship
from .models import CLINICIAN
from .models import PATIENT
from .models import User
from .models import utcnow
from .passwords import hash_password

DEMO_PASSWORD = "quiet river morning"
# Staff sign in with a second factor even in the demo. Add this key to an
# authenticator app, or print the current code with
#   python -c "import pyotp; print(pyotp.TOTP('AFTERCAREDEMOTOTPKEY2345').now())"
DEMO_TOTP_SECRET = "AFTERCAREDEMOTOTPKEY2345"
DOMAIN = "demo.aftercare.example"

STAFF = [
    (ADMIN, "Alex Admin", "admin"),
    (CLINICIAN, "Dr. Dana Reyes", "dana"),
    (CLINICIAN, "Sam Okafor, NP", "sam"),
]
# (name, login, time zone, clinician login)
PATIENTS = [
    ("Maya Chen", "maya", "America/Los_Angeles", "dana"),
    ("Jordan Blake", "jordan", "America/Chicago", "dana"),
    ("Priya Nair", "priya", "America/New_York", "dana"),
    ("Luis Ortega", "luis", "America/Denver", "dana"),
    ("Hannah Weiss", "hannah", "Europe/Berlin", "sam"),
    ("Tom Becker", "tom", "America/New_York", "sam"),
    ("Grace Kim", "grace", "Pacific/Honolulu", "sam"),
    ("Ola Nowak", "ola", "Europe/Warsaw", "sam"),
]


def demo_email(login: str) -> str:
    return f"{login}@{DOMAIN}"


@click.command("demo")
@with_appcontext
def demo_command():
    """Create (or refresh) the demo clinic. Refuses on a database with real accounts."""
    real = User.select().where(User.is_demo == False).count()  # noqa: E712
    if real:
        raise click.ClickException(
            f"This database holds {real} real account(s); the demo clinic only goes into an empty or demo database."
        )
    password_hash = hash_password(DEMO_PASSWORD)
    with db.atomic():
        users = {}
        for role, name, login in STAFF:
            users[login] = ensure_user(login, name, role, password_hash, totp_secret=DEMO_TOTP_SECRET)
        for name, login, zone, clinician in PATIENTS:
            patient = ensure_user(login, name, PATIENT, password_hash, timezone=zone)
            patient.consented_at = patient.consented_at or utcnow()
            patient.save()
            CareRelationship.get_or_create(patient=patient, clinician=users[clinician])
        AuditEvent.record("demo_loaded", actor=None)
    click.echo(f"Demo clinic ready. Every demo account's password is: {DEMO_PASSWORD}")
    for role, _name, login in STAFF:
        click.echo(f"  {role:9} {demo_email(login)}  (two-step key {DEMO_TOTP_SECRET})")
    for name, login, zone, clinician in PATIENTS:
        click.echo(f"  patient   {demo_email(login)}  ({name}, {zone}, cared for by {clinician})")


def ensure_user(login, name, role, password_hash, timezone="America/New_York", totp_secret=None) -> User:
    user, _ = User.get_or_create(
        email=demo_email(login),
        defaults={
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "timezone": timezone,
            "totp_secret": totp_secret,
            "is_demo": True,
        },
    )
    return user
