"""The base model and helpers every model module shares."""

import datetime as dt
import hashlib
import json

from peewee import Model

from ..db import db

PATIENT, CLINICIAN, ADMIN = "patient", "clinician", "admin"
ROLES = (PATIENT, CLINICIAN, ADMIN)
STAFF = (CLINICIAN, ADMIN)


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (the database stores UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def token_hash(token: str) -> str:
    """Hash a bearer token for storage, so a database copy holds no live secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def payload_hash(payload: dict) -> str:
    """Fingerprint a submission, so a replay can be told from a different payload (DUR-04)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
