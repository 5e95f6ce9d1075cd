"""Accounts, care relationships, invites, sessions, sign-in safeguards and clinic settings."""

import datetime as dt
import hmac
import json
import secrets

import pyotp
from flask_login import UserMixin
from peewee import BooleanField
from peewee import Case
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import TextField

from ..db import db
from .base import BaseModel
from .base import ROLES
from .base import STAFF
from .base import token_hash
from .base import utcnow


class User(UserMixin, BaseModel):
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=120)
    role = CharField(max_length=16, choices=[(r, r) for r in ROLES])
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    timezone = CharField(max_length=64, default="UTC")
    quiet_start = CharField(max_length=5, default="21:00")
    quiet_end = CharField(max_length=5, default="08:00")
    mood_nudge_at = CharField(max_length=5, null=True)  # a daily "how are you?" at this local time, if asked for
    reminders_off = CharField(max_length=200, default="")  # kinds of reminder the patient turned off, comma separated
    measures = CharField(max_length=200, default="phq9,gad7")  # the questionnaires a patient answers (instruments)
    consented_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)
    calendar_token_hash = CharField(
        max_length=64, null=True, unique=True
    )  # the .ics feed's secret  # PRIV-02: closed by the patient, purged after retention
    totp_secret = CharField(max_length=64, null=True)
    totp_last_counter = IntegerField(default=0)
    is_demo = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active and self.closed_at is None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @classmethod
    def by_email(cls, email: str):
        """Return the query for an account by its (case-insensitive) email."""
        return cls.select().where(cls.email == normalize_email(email))

    def accept_totp(self, code: str, secret: str | None = None) -> bool:
        """Check a TOTP code; each code is accepted once (AUTH-05)."""
        secret = secret or self.totp_secret
        code = code.strip().replace(" ", "")
        if not secret or not code.isdigit() or len(code) != 6:
            return False
        totp = pyotp.TOTP(secret)
        now = utcnow().replace(tzinfo=dt.UTC)
        for drift in (-1, 0, 1):  # one step of clock drift either way
            when = now + dt.timedelta(seconds=30 * drift)
            if hmac.compare_digest(totp.at(when), code):
                counter = totp.timecode(when)
                # The conditional UPDATE is the guard: a replayed code matches no row.
                return bool(
                    User.update(totp_last_counter=counter)
                    .where(User.id == self.id, User.totp_last_counter < counter)
                    .execute()
                )
        return False

    def patients(self):
        """Return the query for this clinician's patients in an active care relationship."""
        return (
            User.select()
            .join(CareRelationship, on=CareRelationship.patient)
            .where(
                CareRelationship.clinician == self,
                CareRelationship.active == True,  # noqa: E712
                User.active == True,  # noqa: E712
            )
            .order_by(User.name)
        )

    def clinicians(self):
        """Return the query for this patient's care team."""
        return (
            User.select()
            .join(CareRelationship, on=CareRelationship.clinician)
            .where(CareRelationship.patient == self, CareRelationship.active == True)  # noqa: E712
            .order_by(User.name)
        )

    def cares_for(self, patient: "User") -> bool:
        """Tell whether this clinician is in an active care relationship with the patient (AC-02)."""
        return (
            CareRelationship.select()
            .where(
                CareRelationship.clinician == self,
                CareRelationship.patient == patient,
                CareRelationship.active == True,  # noqa: E712
            )
            .exists()
        )


def normalize_email(email: str) -> str:
    return email.strip().lower()


class CareRelationship(BaseModel):
    patient = ForeignKeyField(User, backref="care_team_links", on_delete="CASCADE")
    clinician = ForeignKeyField(User, backref="patient_links", on_delete="CASCADE")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("patient", "clinician"), True),)


# Short codes avoid look-alike characters (Crockford base32 without I, L, O, U).
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def normalize_code(code: str) -> str:
    code = code.strip().upper().replace("-", "").replace(" ", "")
    return code.replace("O", "0").replace("I", "1").replace("L", "1")


class Invite(BaseModel):
    token_hash = CharField(max_length=64, unique=True)
    code_hash = CharField(max_length=64, unique=True)
    role = CharField(max_length=16)
    email = CharField(max_length=254)
    name = CharField(max_length=120)
    invited_by = ForeignKeyField(User, backref="invites_sent", on_delete="CASCADE")
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def issue(cls, *, role: str, email: str, name: str, invited_by: User, days: int):
        """Create an invite and its audit row; return it with its one-time link token and short code."""
        from .audit import AuditEvent  # audit imports accounts

        token = secrets.token_urlsafe(32)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        with db.atomic():
            invite = cls.create(
                token_hash=token_hash(token),
                code_hash=token_hash(code),
                role=role,
                email=normalize_email(email),
                name=name.strip(),
                invited_by=invited_by,
                expires_at=utcnow() + dt.timedelta(days=days),
            )
            AuditEvent.record(f"{role}_invited", actor=invited_by, detail=f"invite {invite.id}")
        return invite, token, f"{code[:5]}-{code[5:]}"

    @classmethod
    def usable(cls):
        """Return the query for invites not yet used and not expired."""
        return cls.select().where(cls.used_at.is_null(), cls.expires_at > utcnow())

    @classmethod
    def find(cls, *, token: str | None = None, code: str | None = None):
        """Return the usable invite for a link token or a short code, or None."""
        if token:
            query = cls.usable().where(cls.token_hash == token_hash(token))
        elif code:
            query = cls.usable().where(cls.code_hash == token_hash(normalize_code(code)))
        else:
            return None
        return query.first()


class WebSession(BaseModel):
    """A server-side session (SESS-01); the cookie carries only a random id."""

    id = CharField(max_length=64, primary_key=True)  # sha256 of the cookie value
    user = ForeignKeyField(User, null=True, backref="web_sessions", on_delete="CASCADE")
    data = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    idle_seconds = IntegerField()
    device = CharField(max_length=120, default="")

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at or now >= self.last_seen + dt.timedelta(seconds=self.idle_seconds)

    def payload(self) -> dict:
        return json.loads(self.data)


class LoginThrottle(BaseModel):
    """Guesses at one account's password or second factor in the current window (AUTH-03/11).

    One row per account, counted up by a single upsert before a guess is checked, so parallel
    requests on any number of workers cannot exceed the limit between them.
    """

    account_key = CharField(max_length=64, primary_key=True)
    attempts = IntegerField(default=0)
    window_start = DateTimeField()

    @staticmethod
    def key_for(email: str) -> str:
        return token_hash("login:" + normalize_email(email))

    @classmethod
    def count(cls, email: str, window: dt.timedelta) -> tuple[int, dt.datetime]:
        """Count one more guess at this account; return (guesses in this window, when the window began)."""
        now = utcnow()
        expired = cls.window_start <= now - window
        query = (
            cls.insert(account_key=cls.key_for(email), attempts=1, window_start=now)
            .on_conflict(
                conflict_target=[cls.account_key],
                update={
                    cls.attempts: Case(None, [(expired, 1)], cls.attempts + 1),
                    cls.window_start: Case(None, [(expired, now)], cls.window_start),
                },
            )
            .returning(cls.attempts, cls.window_start)
        )
        attempts, started = query.tuples().execute()[0]
        return attempts, started if isinstance(started, dt.datetime) else dt.datetime.fromisoformat(str(started))

    @classmethod
    def clear(cls, email: str) -> None:
        cls.delete().where(cls.account_key == cls.key_for(email)).execute()


class PasswordReset(BaseModel):
    user = ForeignKeyField(User, backref="password_resets", on_delete="CASCADE")
    token_hash = CharField(max_length=64, unique=True)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def issue(cls, user: User, created_by: User | None, minutes: int):
        """Create a single-use reset (AUTH-07); return it with its token."""
        token = secrets.token_urlsafe(32)
        reset = cls.create(
            user=user,
            token_hash=token_hash(token),
            created_by=created_by,
            expires_at=utcnow() + dt.timedelta(minutes=minutes),
        )
        return reset, token

    @classmethod
    def usable(cls):
        """Return the query for resets not yet used and not expired."""
        return cls.select().where(cls.used_at.is_null(), cls.expires_at > utcnow())

    @classmethod
    def find(cls, token: str):
        """Return the usable reset for a token, or None."""
        return cls.usable().where(cls.token_hash == token_hash(token)).first()


class RecoveryCode(BaseModel):
    user = ForeignKeyField(User, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    used_at = DateTimeField(null=True)

    @classmethod
    def replace_for(cls, user: User, count: int = 10) -> list[str]:
        """Replace the user's recovery codes with new ones; return them once."""
        codes = ["-".join(secrets.token_hex(3) for _ in range(2)) for _ in range(count)]
        cls.delete().where(cls.user == user).execute()
        cls.insert_many([{"user": user, "code_hash": token_hash(c)} for c in codes]).execute()
        return codes

    @classmethod
    def redeem(cls, user: User, code: str) -> bool:
        """Use up one recovery code; tell whether it was valid."""
        code = code.strip().lower()
        return bool(
            cls.update(used_at=utcnow())
            .where(cls.user == user, cls.code_hash == token_hash(code), cls.used_at.is_null())
            .execute()
        )


class SecurityNotice(BaseModel):
    """Something someone else did to an account, which its owner must see (AUTH-10).

    Shown at the owner's next sign-in and on every page until acknowledged; an acknowledgement is
    accepted only once the notice has been shown (shown_at), so it cannot be waved away unseen.
    """

    user = ForeignKeyField(User, backref="security_notices", on_delete="CASCADE")
    kind = CharField(max_length=32)  # password_reset | two_step_reset
    by_name = CharField(max_length=120)  # who did it, as they were called then
    by_role = CharField(max_length=16)
    at = DateTimeField(default=utcnow)
    shown_at = DateTimeField(null=True)
    dismissed_at = DateTimeField(null=True)

    @classmethod
    def pending(cls, user):
        """Return the query for the user's notices not yet acknowledged, oldest first."""
        return cls.select().where(cls.user == user, cls.dismissed_at.is_null()).order_by(cls.at, cls.id)


class ClinicSetting(BaseModel):
    """Clinic-wide settings an admin edits (crisis resources, retention...)."""

    key = CharField(max_length=64, primary_key=True)
    value = TextField()

    @classmethod
    def get_value(cls, key: str, default: str = "") -> str:
        row = cls.get_or_none(cls.key == key)
        return row.value if row else default

    @classmethod
    def set_value(cls, key: str, value: str) -> None:
        """Store a setting, and a new version, so every process re-reads its copy (settings.current)."""
        cls._put(key, value)
        cls.new_version()

    @classmethod
    def new_version(cls) -> None:
        """Move the version, so every process reads what it remembers of the clinic again (settings.remembered)."""
        cls._put("settings_version", secrets.token_hex(8))

    @classmethod
    def _put(cls, key: str, value: str) -> None:
        cls.insert(key=key, value=value).on_conflict(conflict_target=[cls.key], update={cls.value: value}).execute()
