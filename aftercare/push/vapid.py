"""The clinic's VAPID key pair (RFC 8292): how push services know the sender and let a clinic's pushes through.

`flask --app aftercare vapid generate` writes a key pair once to instance/vapid.env (never over an
existing one) and prints the AFTERCARE_VAPID_* settings. The app reads that file for any of those
settings the environment leaves unset, so `make run` on a developer's machine works without more.

A push service may write to the subject when something is wrong, so nothing is sent without a
`mailto:` address or an https URL there: the start-up log and the administrator's page say so.
"""

import base64
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

log = logging.getLogger(__name__)

SETTINGS = ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT")
FILENAME = "vapid.env"
SUBJECT_RE = re.compile(
    r"^(?:mailto:[^@\s/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:[/?#]\S*)?)$"
)
# Push services accept a token for up to 24 hours (RFC 8292 §2); one is signed for 12 and used
# for every push to that service until an hour before it ends.
TOKEN_SECONDS = 12 * 3600
RENEW_SECONDS = 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_of(private: ec.EllipticCurvePrivateKey) -> str:
    """Return a public key as browsers take it (applicationServerKey): the uncompressed point, base64url."""
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


def private_key_from(text: str) -> ec.EllipticCurvePrivateKey:
    """Read a private key written as base64url: the raw 32-byte scalar, or DER. Raise ValueError if it is neither."""
    text = "".join(text.split())
    try:
        raw = b64url_decode(text)
    except (ValueError, TypeError) as error:
        raise ValueError("not base64url") from error
    if len(raw) == 32:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    key = serialization.load_der_private_key(raw, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 key")
    return key


@dataclass(frozen=True)
class Keys:
    private: ec.EllipticCurvePrivateKey
    public: str  # the applicationServerKey pages subscribe with
    subject: str


def load_file(instance_path: str) -> dict[str, str]:
    """Return the AFTERCARE_VAPID_* settings written by `vapid generate`, without the prefix."""
    path = Path(instance_path) / FILENAME
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, value = line.strip().partition("=")
        key = name.removeprefix("AFTERCARE_")
        if key in SETTINGS and value:
            values[key] = value.strip()
    return values


def problem(config) -> str | None:
    """Say why this configuration cannot send push, in words for an administrator; None when it can."""
    try:
        _keys(config)
    except ValueError as error:
        return str(error)
    return None


def keys(config) -> Keys | None:
    """Return the clinic's keys, or None if push is not configured (see `problem`)."""
    try:
        return _keys(config)
    except ValueError:
        return None


_cache: dict[tuple, Keys] = {}


def _keys(config) -> Keys:
    private_text, public_text, subject = (config.get(k, "") or "" for k in SETTINGS)
    cached = _cache.get((private_text, public_text, subject))
    if cached is not None:
        return cached
    if not private_text:
        raise ValueError(
            "Reminders cannot be sent: there is no VAPID key. Run `flask --app aftercare vapid generate` and set "
            "the AFTERCARE_VAPID_* settings it prints."
        )
    try:
        private = private_key_from(private_text)
    except ValueError:
        raise ValueError(
            "Reminders cannot be sent: AFTERCARE_VAPID_PRIVATE_KEY is not a P-256 key in base64url."
        ) from None
    public = public_key_of(private)
    if public_text and public_text.rstrip("=") != public:
        raise ValueError(
            "Reminders cannot be sent: AFTERCARE_VAPID_PUBLIC_KEY does not belong to AFTERCARE_VAPID_PRIVATE_KEY. "
            "Leave it empty (it is worked out from the private key) or set the matching one."
        )
    if not SUBJECT_RE.match(subject):
        raise ValueError(
            "Reminders cannot be sent: AFTERCARE_VAPID_SUBJECT must be a mailto: address or an https URL where a push "
            "service can reach the clinic, for example mailto:it@example-clinic.org."
        )
    result = Keys(private, public, subject)
    _cache[(private_text, public_text, subject)] = result
    return result


def generate(instance_path: str, subject: str) -> tuple[Path, bool, dict[str, str]]:
    """Write a new key pair to instance/vapid.env unless one is there; return the file, whether it is new, its settings."""
    path = Path(instance_path) / FILENAME
    if path.exists():
        return path, False, load_file(instance_path)
    private = ec.generate_private_key(ec.SECP256R1())
    settings = {
        "VAPID_PRIVATE_KEY": b64url(private.private_numbers().private_value.to_bytes(32, "big")),
        "VAPID_PUBLIC_KEY": public_key_of(private),
        "VAPID_SUBJECT": subject,
    }
    os.makedirs(instance_path, exist_ok=True)
    # O_EXCL: two runs at once cannot both write, and an existing file is never replaced.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        for key, value in settings.items():
            file.write(f"AFTERCARE_{key}={value}\n")
    return path, True, settings


class Signer:
    """Authorization headers per push service: signed once, reused for the token's life (a fresh claims dict each)."""

    def __init__(self, keys: Keys, clock=time.time):
        self.keys = keys
        self.clock = clock
        self._vapid = Vapid02(keys.private)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def authorization(self, audience: str) -> str:
        """Return the Authorization header for pushes to one push service (its origin, scheme://host[:port])."""
        now = self.clock()
        with self._lock:
            cached = self._tokens.get(audience)
            if cached is not None and cached[1] - RENEW_SECONDS > now:
                return cached[0]
        expires = int(now) + TOKEN_SECONDS
        header = self._vapid.sign({"aud": audience, "exp": expires, "sub": self.keys.subject})["Authorization"]
        with self._lock:
            self._tokens[audience] = (header, expires)
        return header
