"""Every peewee model. Query helpers return queries; behaviour lives here."""

import datetime as dt
import hashlib
import hmac
import json
import secrets

import pyotp
from flask_login import UserMixin
from peewee import BooleanField
from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import fn
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import SmallIntegerField
from peewee import TextField

from .db import db

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


class User(UserMixin, BaseModel):
    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=120)
    role = CharField(max_length=16, choices=[(r, r) for r in ROLES])
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    timezone = CharField(max_length=64, default="UTC")
    quiet_start = CharField(max_length=5, default="21:00")
    quiet_end = CharField(max_length=5, default="08:00")
    consented_at = DateTimeField(null=True)
    closed_at = DateTimeField(null=True)  # PRIV-02: closed by the patient, purged after retention
    totp_secret = CharField(max_length=64, null=True)
    totp_last_counter = IntegerField(default=0)
    is_demo = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    @property
    def is_active(self) -> bool:
        return self.active

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
        """Create an invite; return it with its one-time link token and short code."""
        token = secrets.token_urlsafe(32)
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        invite = cls.create(
            token_hash=token_hash(token),
            code_hash=token_hash(code),
            role=role,
            email=normalize_email(email),
            name=name.strip(),
            invited_by=invited_by,
            expires_at=utcnow() + dt.timedelta(days=days),
        )
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


class LoginFailure(BaseModel):
    """One wrong password for an account key (AUTH-03), shared by every worker."""

    account_key = CharField(max_length=64, index=True)
    at = DateTimeField(default=utcnow, index=True)

    @staticmethod
    def key_for(email: str) -> str:
        return token_hash("login:" + normalize_email(email))

    @classmethod
    def recent(cls, email: str, minutes: int):
        """Return the query for this account's failures in the last `minutes`."""
        since = utcnow() - dt.timedelta(minutes=minutes)
        return cls.select().where(cls.account_key == cls.key_for(email), cls.at > since)

    @classmethod
    def retry_after(cls, email: str, limit: int, minutes: int) -> int | None:
        """Return seconds until the account may try again, or None if it is not locked."""
        recent = cls.recent(email, minutes).order_by(cls.at.desc()).limit(limit)
        times = [f.at for f in recent]
        if len(times) < limit:
            return None
        unlock = times[-1] + dt.timedelta(minutes=minutes)
        return max(1, int((unlock - utcnow()).total_seconds()) + 1)

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
    def find(cls, token: str):
        """Return the unused, unexpired reset for a token, or None."""
        return (
            cls.select()
            .where(
                cls.token_hash == token_hash(token),
                cls.used_at.is_null(),
                cls.expires_at > utcnow(),
            )
            .first()
        )


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
        cls.insert(key=key, value=value).on_conflict(conflict_target=[cls.key], update={cls.value: value}).execute()


class AuditHead(BaseModel):
    """The end of the audit hash chain; updating it serializes audit writers."""

    id = IntegerField(primary_key=True)
    count = IntegerField(default=0)
    hash = CharField(max_length=64)


GENESIS = "0" * 64


class AuditEvent(BaseModel):
    """One append-only, hash-chained audit row (LOG-01/02). No PHI in `detail`."""

    at = DateTimeField(default=utcnow, index=True)
    # Plain ids, not foreign keys: the log outlives the accounts it mentions
    # (a closed account is deleted after the retention period; its audit trail is not).
    actor_id = IntegerField(null=True, index=True)
    actor_role = CharField(max_length=16)
    patient_id = IntegerField(null=True, index=True)
    action = CharField(max_length=64, index=True)
    detail = CharField(max_length=255, default="")
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)

    def digest(self) -> str:
        """Return the hash of this row's content chained to the previous row."""
        body = json.dumps(
            [
                self.prev_hash,
                self.at.isoformat(timespec="microseconds"),
                self.actor_id,
                self.actor_role,
                self.patient_id,
                self.action,
                self.detail,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(body.encode()).hexdigest()

    @classmethod
    def record(cls, action: str, *, actor: User | None, patient: User | None = None, detail: str = ""):
        """Append one audit row to the chain, inside the caller's transaction."""
        with db.atomic():
            # The UPDATE takes the row lock (PostgreSQL) or write lock (SQLite)
            # first, so two writers can never chain onto the same head.
            AuditHead.update(count=AuditHead.count + 1).where(AuditHead.id == 1).execute()
            head = AuditHead.get_by_id(1)
            event = cls(
                at=utcnow(),
                actor_id=actor.id if actor else None,
                actor_role=actor.role if actor else "system",
                patient_id=patient.id if patient else None,
                action=action,
                detail=detail[:255],
                prev_hash=head.hash,
            )
            event.hash = event.digest()
            event.save(force_insert=True)
            AuditHead.update(hash=event.hash).where(AuditHead.id == 1).execute()
        return event

    @classmethod
    def verify_chain(cls) -> tuple[int, int | None]:
        """Walk the chain; return (rows checked, id of the first broken row or None)."""
        prev = GENESIS
        checked = 0
        for event in cls.select().order_by(cls.id).iterator():
            if event.prev_hash != prev or event.digest() != event.hash:
                return checked, event.id
            prev = event.hash
            checked += 1
        head = AuditHead.get_or_none(AuditHead.id == 1)
        if head is not None and (head.hash != prev or head.count != checked):
            return checked, -1
        return checked, None


def payload_hash(payload: dict) -> str:
    """Fingerprint a submission, so a replay can be told from a different payload (DUR-04)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class MoodEntry(BaseModel):
    """One tap on the 0-10 mood scale, with an optional note and tags."""

    patient = ForeignKeyField(User, backref="mood_entries", on_delete="CASCADE")
    client_id = CharField(max_length=36)
    payload_hash = CharField(max_length=64)
    score = SmallIntegerField()
    note = TextField(default="")
    tags = CharField(max_length=255, default="")
    recorded_at = DateTimeField()  # UTC, when the patient tapped (maybe offline)
    local_day = DateField()  # the patient's calendar day at recorded_at
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("patient", "client_id"), True),
            (("patient", "recorded_at"), False),
        )

    @classmethod
    def visible(cls):
        return cls.select().where(cls.deleted_at.is_null())

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class MoodDay(BaseModel):
    """Per-patient, per-day mood rollup, kept in the same transaction as each entry."""

    patient = ForeignKeyField(User, backref="mood_days", on_delete="CASCADE")
    day = DateField()
    count = IntegerField()
    total = IntegerField()
    low = SmallIntegerField()
    high = SmallIntegerField()

    class Meta:
        indexes = ((("patient", "day"), True),)

    @property
    def mean(self) -> float:
        return self.total / self.count

    @classmethod
    def refresh(cls, patient_id: int, day: dt.date) -> None:
        """Recompute one patient-day from its entries (after an insert, edit or delete)."""
        row = (
            MoodEntry.visible()
            .select(fn.COUNT(MoodEntry.id), fn.SUM(MoodEntry.score), fn.MIN(MoodEntry.score), fn.MAX(MoodEntry.score))
            .where(MoodEntry.patient == patient_id, MoodEntry.local_day == day)
            .tuples()
            .first()
        )
        count, total, low, high = row or (0, None, None, None)
        if not count:
            cls.delete().where(cls.patient == patient_id, cls.day == day).execute()
            return
        values = {"count": count, "total": total, "low": low, "high": high}
        cls.insert(patient=patient_id, day=day, **values).on_conflict(
            conflict_target=[cls.patient, cls.day], update=values
        ).execute()


class CheckIn(BaseModel):
    """A completed PHQ-9 or GAD-7, stored with its answers, score and instrument version."""

    patient = ForeignKeyField(User, backref="checkins", on_delete="CASCADE")
    client_id = CharField(max_length=36)
    payload_hash = CharField(max_length=64)
    instrument = CharField(max_length=16)
    version = CharField(max_length=64)
    answers = CharField(max_length=64)  # JSON list of item answers, 0-3
    difficulty = SmallIntegerField(null=True)  # PHQ-9 item 10, never summed
    total = SmallIntegerField()
    band = CharField(max_length=32)
    submitted_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("patient", "client_id"), True),
            (("patient", "instrument", "submitted_at"), False),
        )

    @property
    def answer_list(self) -> list[int]:
        return json.loads(self.answers)

    @property
    def item9(self) -> int | None:
        return self.answer_list[8] if self.instrument == "phq9" else None

    @classmethod
    def series(cls, patient, instrument: str):
        """Return the query for a patient's scores on one instrument, oldest first."""
        return (
            cls.select().where(cls.patient == patient, cls.instrument == instrument).order_by(cls.submitted_at, cls.id)
        )


class SafetyAlert(BaseModel):
    """A safety signal that stays open until a clinician acknowledges it (CLIN-02)."""

    patient = ForeignKeyField(User, backref="safety_alerts", on_delete="CASCADE")
    reason = CharField(max_length=32)  # phq9_item9 | crisis_language
    detail = CharField(max_length=255)
    checkin = ForeignKeyField(CheckIn, null=True, on_delete="SET NULL")
    mood = ForeignKeyField(MoodEntry, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    note = TextField(default="")

    @classmethod
    def open(cls):
        return cls.select().where(cls.acknowledged_at.is_null())


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
