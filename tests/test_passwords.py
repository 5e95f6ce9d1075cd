"""AUTH-01/02/04: the password rules and hashing, as a table of real cases."""

import pytest
from argon2 import PasswordHasher

from aftercare.passwords import hash_password
from aftercare.passwords import needs_rehash
from aftercare.passwords import password_problem
from aftercare.passwords import PRODUCTION
from aftercare.passwords import verify_password


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", "at least 12"),
        ("elevenchars", "at least 12"),
        ("twelve chars", None),
        ("correct horse battery staple", None),
        ("Ünïcödé wörds ïn ä röw", None),
        ("😀 smiling through the rain", None),
        ("p" * 257, "at most 256"),
        ("password1234", "too common"),
        ("qwertyuiop123", "too common"),
        ("iloveyou12345", "too common"),
        ("abababababababab", "too common"),
        ("aftercare2026!", "avoid your name"),
        ("maria.lopez1990", "avoid your name"),
        ("sunny ketamine", "avoid your name"),
    ],
)
def test_password_rules(password, problem):
    found = password_problem(password, email="maria.lopez@example.org", name="Maria Lopez")
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_hashes_are_argon2id_and_verify():
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapler")
    assert not verify_password(None, "anything at all")
    assert not verify_password("not a hash", "anything at all")


def test_weak_parameters_are_rehashed():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery staple")
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("correct horse battery staple"))


def test_production_hashes_with_the_rfc_9106_low_memory_profile():
    # The suite itself hashes cheaply (tests/conftest.py: cheap_password_hashing); production does not.
    stored = PRODUCTION.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCTION.verify(stored, "correct horse battery staple")
    assert PRODUCTION.check_needs_rehash(hash_password("correct horse battery staple"))
