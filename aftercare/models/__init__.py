"""Every peewee model, one module per area; import them from here."""

from .accounts import CareRelationship
from .accounts import ClinicSetting
from .accounts import CODE_ALPHABET
from .accounts import Invite
from .accounts import LoginFailure
from .accounts import normalize_code
from .accounts import normalize_email
from .accounts import PasswordReset
from .accounts import RecoveryCode
from .accounts import User
from .accounts import WebSession
from .audit import AuditEvent
from .audit import AuditHead
from .audit import GENESIS
from .base import ADMIN
from .base import BaseModel
from .base import CLINICIAN
from .base import PATIENT
from .base import payload_hash
from .base import ROLES
from .base import STAFF
from .base import token_hash
from .base import utcnow
from .selfreports import CheckIn
from .selfreports import MoodDay
from .selfreports import MoodEntry
from .selfreports import SafetyAlert

MODELS = [
    User,
    CareRelationship,
    Invite,
    WebSession,
    LoginFailure,
    PasswordReset,
    RecoveryCode,
    ClinicSetting,
    AuditHead,
    AuditEvent,
    MoodEntry,
    MoodDay,
    CheckIn,
    SafetyAlert,
]

__all__ = [
    "ADMIN",
    "AuditEvent",
    "AuditHead",
    "BaseModel",
    "CLINICIAN",
    "CODE_ALPHABET",
    "CareRelationship",
    "CheckIn",
    "ClinicSetting",
    "GENESIS",
    "Invite",
    "LoginFailure",
    "MoodDay",
    "MoodEntry",
    "PATIENT",
    "PasswordReset",
    "ROLES",
    "RecoveryCode",
    "STAFF",
    "SafetyAlert",
    "User",
    "WebSession",
    "normalize_code",
    "normalize_email",
    "payload_hash",
    "token_hash",
    "utcnow",
    "MODELS",
]
