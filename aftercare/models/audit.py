"""The append-only, hash-chained audit log (LOG-01/02/05/06)."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField

from ..db import db
from .accounts import User
from .base import BaseModel
from .base import utcnow


class AuditHead(BaseModel):
    """The end of the audit hash chain; triggers let its count only grow (LOG-05)."""

    id = IntegerField(primary_key=True)
    count = IntegerField(default=0)
    hash = CharField(max_length=64)


GENESIS = "0" * 64

# What an administrator's audit view shows (LOG-06): who did what to which account, and who
# opened whose record. Everything else (self-reports, alerts, sessions, journal) is clinical:
# it stays in the log and in `audit verify`, but an administrator's pages never list it.
ACCOUNT_ACTIONS = {
    "account_created": "Account created",
    "account_closed": "Account closed by its owner",
    "account_deactivated": "Account deactivated",
    "account_reactivated": "Account reactivated",
    "account_purged": "Closed account deleted after retention",
    "admin_created": "Administrator created",
    "admin_invited": "Administrator invited",
    "clinician_invited": "Clinician invited",
    "patient_invited": "Patient invited",
    "invite_revoked": "Invite cancelled",
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "password_changed": "Password changed",
    "reset_link_issued": "Reset link issued",
    "password_reset": "Password reset",
    "two_step_enrolled": "Two-step verification set up",
    "two_step_reset": "Two-step verification reset",
    "recovery_codes_replaced": "New recovery codes",
    "session_ended": "A device signed out",
    "other_sessions_ended": "Other devices signed out",
    "security_notice_seen": "Security notice acknowledged",
    "time_settings_changed": "Time zone or quiet hours changed",
    "calendar_link_created": "Calendar link created",
    "calendar_link_revoked": "Calendar link revoked",
    "export_downloaded": "Data exported by its owner",
    "care_team_added": "Added to a care team",
    "clinic_settings_changed": "Clinic settings changed",
    "playlist_changed": "Playlist changed",
    "practice_added": "Practice added",
    "practice_changed": "Practice changed",
    "practice_moved": "Practice moved",
    "demo_loaded": "Demo clinic loaded",
    "reminder_text_changed": "Reminder wording changed",
    "device_added": "Reminders turned on for a device",
    "device_removed": "A device stopped getting reminders",
}
# Staff opening a patient's data: an access review needs who and whose, never what was in it.
ACCESS_ACTIONS = {
    "view_patient": "Opened a patient's record",
    "view_panel": "Saw a patient on their panel",
    "view_roster": "Saw a patient on the day roster",
    "calendar_feed": "Calendar feed with a patient's appointments",
    "view_sessions": "Saw a patient's coming sessions",
    "voice_note_downloaded": "Listened to a shared voice note",
}
ADMIN_VISIBLE = {**ACCOUNT_ACTIONS, **ACCESS_ACTIONS}
# The account owner's own security activity (AUTH-10).
SECURITY_ACTIONS = (
    "account_created",
    "sign_in",
    "password_changed",
    "reset_link_issued",
    "password_reset",
    "two_step_enrolled",
    "two_step_reset",
    "recovery_codes_replaced",
    "session_ended",
    "other_sessions_ended",
    "account_deactivated",
    "account_reactivated",
)


class AuditEvent(BaseModel):
    """One append-only, hash-chained audit row (LOG-01/02). No PHI in `detail`."""

    at = DateTimeField(default=utcnow, index=True)
    # Plain ids, not foreign keys: the log outlives the accounts it mentions
    # (a closed account is deleted after the retention period; its audit trail is not).
    actor_id = IntegerField(null=True, index=True)
    actor_role = CharField(max_length=16)
    patient_id = IntegerField(null=True, index=True)
    # The account acted on (a reset, a deactivation), so its owner can read their own activity.
    subject_id = IntegerField(null=True, index=True)
    action = CharField(max_length=64, index=True)
    detail = CharField(max_length=255, default="")
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)

    def digest(self) -> str:
        """Return the hash of this row's content chained to the previous row."""
        fields = [
            self.prev_hash,
            self.at.isoformat(timespec="microseconds"),
            self.actor_id,
            self.actor_role,
            self.patient_id,
            self.action,
            self.detail,
        ]
        if self.subject_id is not None:
            fields.append(self.subject_id)  # rows from before the column existed hash without it
        return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()

    @classmethod
    def record(
        cls,
        action: str,
        *,
        actor: User | None,
        patient: User | None = None,
        subject: User | None = None,
        detail: str = "",
    ):
        """Append one audit row to the chain, inside the caller's transaction."""
        return cls.record_many(action, actor=actor, patients=[patient], subject=subject, detail=detail)[0]

    @classmethod
    def record_many(
        cls,
        action: str,
        *,
        actor: User | None,
        patients: Iterable[User | None],
        subject: User | None = None,
        detail: str = "",
    ) -> list["AuditEvent"]:
        """Append one row per patient in a single INSERT, chained in order (a panel names everyone it shows)."""
        patients = list(patients)
        if not patients:
            return []
        now = utcnow()
        with db.atomic():
            # Take the head's row lock (PostgreSQL) first; SQLite's IMMEDIATE transaction already
            # holds the database's write lock. Either way two writers never chain onto one head.
            head_query = AuditHead.select().where(AuditHead.id == 1)
            head = (head_query.for_update() if db.for_update else head_query).get()
            previous = head.hash
            events = []
            for patient in patients:
                event = cls(
                    at=now,
                    actor_id=actor.id if actor else None,
                    actor_role=actor.role if actor else "system",
                    patient_id=patient.id if patient else None,
                    subject_id=subject.id if subject else None,
                    action=action,
                    detail=detail[:255],
                    prev_hash=previous,
                )
                event.hash = previous = event.digest()
                events.append(event)
            fields = [cls.at, cls.actor_id, cls.actor_role, cls.patient_id, cls.subject_id, cls.action, cls.detail]
            rows = [[getattr(e, f.name) for f in fields] + [e.prev_hash, e.hash] for e in events]
            query = cls.insert_many(rows, fields=[*fields, cls.prev_hash, cls.hash]).returning(cls.id)
            for event, (event_id,) in zip(events, query.tuples().execute(), strict=True):
                event.id = event_id
            AuditHead.update(count=AuditHead.count + len(events), hash=previous).where(AuditHead.id == 1).execute()
        return events

    @classmethod
    def chain(cls):
        """Return the query for the whole chain, oldest first."""
        return cls.select().order_by(cls.id)

    @classmethod
    def verify_chain(cls, expect: tuple[str, int] | None = None) -> "ChainCheck":
        """Walk the chain; report how far it is intact, its head, and whether a recorded head is in it."""
        prev = GENESIS
        checked = 0
        found = None if expect is None else False
        for event in cls.chain().iterator():
            if event.prev_hash != prev or event.digest() != event.hash:
                return ChainCheck(checked, prev, event.id, found)
            prev = event.hash
            checked += 1
            if expect is not None and checked == expect[1]:
                found = event.hash == expect[0]
        head = AuditHead.get_or_none(AuditHead.id == 1)
        if head is None or head.hash != prev or head.count != checked:
            return ChainCheck(checked, prev, -1, found)
        return ChainCheck(checked, prev, None, found)


@dataclass(frozen=True)
class ChainCheck:
    """What `audit verify` found: rows intact, the head hash, the first broken row, a recorded head's fate."""

    checked: int
    head: str
    broken: int | None  # None: intact; -1: the head row disagrees; otherwise the first bad row's id
    expected_found: bool | None  # None: nothing was expected
