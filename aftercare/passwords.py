"""Password hashing (AUTH-04) and the password rules (AUTH-01/02)."""

import functools
import gzip
import re
from pathlib import Path

from argon2 import PasswordHasher
from argon2 import profiles
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 256

# argon2id at the RFC 9106 low-memory profile: 64 MiB, 3 passes, 4 lanes (AUTH-04).
PRODUCTION = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
_hasher = PRODUCTION

# A hash to verify against when the account does not exist, so a wrong email
# costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("aftercare timing equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password against its hash in constant-ish time."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


@functools.cache
def _common_passwords() -> frozenset[str]:
    # Royce Williams' list of 20,000 common passwords, as bundled by Django (BSD).
    path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


CONTEXT_WORDS = ("aftercare", "ketamine", "password", "clinic")


def password_problem(password: str, *, email: str = "", name: str = "", clinic: str = "") -> str | None:
    """Return why a password is not acceptable, or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters. A few words in a row work well."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    common = _common_passwords()
    if lowered in common or core in common or len(set(lowered)) < 4:
        return "That password is too common or too easy to guess. Try a few unrelated words."
    words = list(CONTEXT_WORDS)
    words += [w for w in re.split(r"[\W_]+", email.split("@")[0].lower()) if len(w) >= 4]
    words += [w for w in re.split(r"\W+", name.lower()) if len(w) >= 4]
    words += [w for w in re.split(r"\W+", clinic.lower()) if len(w) >= 4]
    squeezed = re.sub(r"[\W\d_]+", "", lowered)
    for word in words:
        if word and word in squeezed and len(squeezed) - len(word) < 8:
            return "Please avoid your name, email or the clinic's name in your password."
    return None
