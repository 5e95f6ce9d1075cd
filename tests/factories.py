"""Plain factories for test data, with keyword defaults."""

import itertools

import pyotp

from aftercare.models import ADMIN
from aftercare.models import CareRelationship
from aftercare.models import CLINICIAN
from aftercare.models import PATIENT
from aftercare.models import User
from aftercare.passwords import hash_password

PASSWORD = "gentle harbor lantern"
TOTP_SECRET = pyotp.random_base32()
_counter = itertools.count(1)
_hash = None


def _password_hash():
    # Hashing with argon2 takes ~50 ms; tests share one hash of the one password.
    global _hash
    if _hash is None:
        _hash = hash_password(PASSWORD)
    return _hash


def make_user(role=PATIENT, *, name=None, email=None, active=True, totp=True, **fields) -> User:
    n = next(_counter)
    return User.create(
        email=email or f"{role}{n}@example.org",
        name=name or f"{role.title()} {n}",
        role=role,
        password_hash=_password_hash(),
        active=active,
        totp_secret=TOTP_SECRET if (totp and role != PATIENT) else None,
        **fields,
    )


def make_patient(clinician=None, **fields) -> User:
    patient = make_user(PATIENT, **fields)
    if clinician is not None:
        CareRelationship.create(patient=patient, clinician=clinician)
    return patient


def make_clinician(**fields) -> User:
    return make_user(CLINICIAN, **fields)


def make_admin(**fields) -> User:
    return make_user(ADMIN, **fields)
