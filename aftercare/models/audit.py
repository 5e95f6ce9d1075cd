"""The append-only, hash-chained audit log (LOG-01/02/05/06).

The log is LANES hash chains, each with its own head row, so two writers in different lanes never
wait for each other (on SQLite, where one writer holds the whole database anyway, every row goes
to lane 0). `seal()` ties the lanes' heads together into one clinic chain (audit_seal), whose
latest link is the head `audit verify` prints as HASH:COUNT and later proves is still there.
"""

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField
from peewee import SmallIntegerField
from peewee import TextField

from ..db import db
from ..db import joined
from ..db import Prepared
from .accounts import User
from .base import BaseModel
from .base import utcnow


class AuditHead(BaseModel):
    """The end of one lane's hash chain (id = lane + 1); triggers let its count only grow (LOG-05)."""

    id = IntegerField(primary_key=True)
    count = IntegerField(default=0)
    hash = CharField(max_length=64)


class AuditSeal(BaseModel):
    """One link of the clinic chain: every lane's count and head at a moment, chained (append-only)."""

    at = DateTimeField(default=utcnow)
    total = IntegerField()  # events in all lanes
    lanes = TextField()  # JSON: [[lane, count, hash], ...] in lane order
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64, unique=True)

    def digest(self) -> str:
        return hashlib.sha256(f"{self.prev_hash}|{self.total}|{self.lanes}".encode()).hexdigest()


GENESIS = "0" * 64
LANES = 8  # audit_head rows 1..8 (migration 0006)


def lane_for_this_writer() -> int:
    """Pick this process and thread's lane: fixed per writer, so its own rows stay in order in one chain."""
    if not db.for_update:
        return 0  # SQLite: one writer at a time, one chain
    return (os.getpid() * 7919 + threading.get_ident()) % LANES


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
    "intake_form_changed": "Intake questions changed",
    "guide_changed": "Guide changed",
    "circle_changed": "Integration circle started, changed or closed",
}
# Staff opening a patient's data: an access review needs who and whose, never what was in it.
ACCESS_ACTIONS = {
    "view_patient": "Opened a patient's record",
    "view_panel": "Saw a patient on their panel",
    "view_roster": "Saw a patient on the day roster",
    "calendar_feed": "Calendar feed with a patient's appointments",
    "view_sessions": "Saw a patient's coming sessions",
    "voice_note_downloaded": "Listened to a shared voice note",
    "journal_image_viewed": "Saw a picture in a shared journal entry",
    "view_intake": "Opened a patient's intake answers",
    "view_cohort": "Saw the cohort's figures (counts and means, no one named)",
    "export_selfreports": "Downloaded a patient's self-reports",
    "export_cohort": "Downloaded the cohort's self-reports",
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


HEAD = Prepared("SELECT hash FROM audit_head WHERE id = ?")
HEAD_FOR_UPDATE = Prepared("SELECT hash FROM audit_head WHERE id = ? FOR UPDATE")
INSERT_EVENT = Prepared(
    """INSERT INTO audit_event (at, actor_id, actor_role, patient_id, subject_id, action, detail, prev_hash, hash, lane)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"""
)
MOVE_HEAD = Prepared("UPDATE audit_head SET count = count + ?, hash = ? WHERE id = ?")


class AuditEvent(BaseModel):
    """One append-only, hash-chained audit row (LOG-01/02). No PHI in `detail`."""

    at = DateTimeField(default=utcnow, index=True)
    # Plain ids, not foreign keys: the log outlives the accounts it mentions
    # (a closed account is deleted after the retention period; its audit trail is not).
    actor_id = IntegerField(null=True, index=True)
    actor_role = CharField(max_length=16)
    patient_id = IntegerField(null=True, index=True)
    # The account acted on (a reset, a deactivation), so its owner can read their own activity.
    # Indexed only where set (a partial index, migration 0014): most rows act on no account.
    subject_id = IntegerField(null=True)
    action = CharField(max_length=64, index=True)
    detail = CharField(max_length=255, default="")
    prev_hash = CharField(max_length=64)
    hash = CharField(max_length=64)  # the chain, not an index, makes it tamper-evident (migration 0014)
    lane = SmallIntegerField(default=0)  # which chain (see the module's docstring)

    def digest(self) -> str:
        """Return the hash of this row's content chained to the previous row of its lane."""
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
        if self.lane:
            fields.append(["lane", self.lane])  # rows of lane 0 (all of them, before lanes) hash without it
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
        lane: int | None = None,
    ):
        """Append one audit row to the chain, inside the caller's transaction."""
        return cls.record_many(action, actor=actor, patients=[patient], subject=subject, detail=detail, lane=lane)[0]

    @classmethod
    def record_many(
        cls,
        action: str,
        *,
        actor: User | None,
        patients: Iterable[User | None],
        subject: User | None = None,
        detail: str = "",
        lane: int | None = None,
    ) -> list["AuditEvent"]:
        """Append one row per patient in a single INSERT, chained in order (a panel names everyone it shows)."""
        patients = list(patients)
        if not patients:
            return []
        now = utcnow()
        lane = lane_for_this_writer() if lane is None else lane
        with joined():  # inside the write's transaction (DUR-03), or one of its own
            # Take this lane head's row lock (PostgreSQL) first; SQLite's IMMEDIATE transaction
            # already holds the database's write lock. Either way two writers never chain onto one head.
            previous = (HEAD_FOR_UPDATE if db.for_update else HEAD).one(lane + 1)[0]
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
                    lane=lane,
                )
                event.hash = previous = event.digest()
                events.append(event)
            if len(events) == 1:  # nearly every write: prepared SQL, no query to build
                event = events[0]
                at = AuditEvent.at.db_value(event.at)
                values = (event.actor_id, event.actor_role, event.patient_id, event.subject_id, event.action)
                event.id = INSERT_EVENT.one(at, *values, event.detail, event.prev_hash, event.hash, lane)[0]
            else:
                fields = [cls.at, cls.actor_id, cls.actor_role, cls.patient_id, cls.subject_id, cls.action, cls.detail]
                rows = [[getattr(e, f.name) for f in fields] + [e.prev_hash, e.hash, lane] for e in events]
                query = cls.insert_many(rows, fields=[*fields, cls.prev_hash, cls.hash, cls.lane]).returning(cls.id)
                for event, (event_id,) in zip(events, query.tuples().execute(), strict=True):
                    event.id = event_id
            MOVE_HEAD.run(len(events), previous, lane + 1)
        return events

    @classmethod
    def chain(cls):
        """Return the query for every row, lane by lane, each lane oldest first."""
        return cls.select().order_by(cls.lane, cls.id)

    @classmethod
    def seal(cls) -> "AuditSeal":
        """Tie every lane's current head into the clinic chain; return the newest seal (a new one if anything changed)."""
        with db.atomic():
            heads = list(AuditHead.select().order_by(AuditHead.id))
            lanes = json.dumps([[h.id - 1, h.count, h.hash] for h in heads], separators=(",", ":"))
            last = AuditSeal.select().order_by(AuditSeal.id.desc()).first()
            if last is not None and last.lanes == lanes:
                return last
            seal = AuditSeal(
                at=utcnow(),
                total=sum(h.count for h in heads),
                lanes=lanes,
                prev_hash=last.hash if last else GENESIS,
            )
            seal.hash = seal.digest()
            seal.save(force_insert=True)
            return seal

    @classmethod
    def verify_chain(cls, expect: tuple[str, int] | None = None) -> "ChainCheck":
        """Walk every lane and the seals that tie them; report how far it is intact and whether a recorded head is in it.

        The head is the newest seal's hash and the number of events it covers; `expect` is such a
        head recorded earlier, which must still be one of the seals (or, for a head recorded before
        the log had lanes, the hash of that many events into lane 0, where every older row is).
        """
        seals = list(AuditSeal.select().order_by(AuditSeal.id))
        # Each seal names a count per lane; remember each lane's hash at those counts while walking.
        wanted: dict[int, set[int]] = {}
        for seal in seals:
            for lane, count, _ in json.loads(seal.lanes):
                wanted.setdefault(lane, set()).add(count)
        at_count: dict[tuple[int, int], str] = {(lane, 0): GENESIS for lane in range(LANES)}
        ends: dict[int, tuple[int, str]] = {}
        checked = 0
        lane, prev, count = None, GENESIS, 0
        legacy = False
        for event in cls.chain().iterator():
            if event.lane != lane:
                if lane is not None:
                    ends[lane] = (count, prev)
                lane, prev, count = event.lane, GENESIS, 0
            if event.prev_hash != prev or event.digest() != event.hash:
                return ChainCheck(checked, prev, event.id, _found(seals, expect, False))
            prev = event.hash
            count += 1
            checked += 1
            if expect is not None and lane == 0 and count == expect[1] and prev == expect[0]:
                legacy = True  # a head recorded before lanes: the Nth event of the one chain there was
            if count in wanted.get(lane, ()):
                at_count[(lane, count)] = prev
        if lane is not None:
            ends[lane] = (count, prev)
        for head in AuditHead.select():
            if ends.get(head.id - 1, (0, GENESIS)) != (head.count, head.hash):
                return ChainCheck(checked, head.hash, -1, _found(seals, expect, False))
        previous = GENESIS
        for seal in seals:
            lanes = json.loads(seal.lanes)
            sound = (
                seal.prev_hash == previous
                and seal.digest() == seal.hash
                and sum(count for _, count, _ in lanes) == seal.total
                and all(at_count.get((lane, count)) == lane_hash for lane, count, lane_hash in lanes)
            )
            if not sound:
                return ChainCheck(checked, previous, -2, _found(seals, expect, False))
            previous = seal.hash
        head = seals[-1] if seals else None
        found = _found(seals, expect, True)
        if found is False and legacy:
            found = True
        return ChainCheck(checked, head.hash if head else GENESIS, None, found, head.total if head else 0)


# Only rows that act on an account are indexed by it (migration 0014); `subject_id = ?` uses it.
AuditEvent.add_index(
    AuditEvent.index(AuditEvent.subject_id, name="audit_event_subject_id").where(AuditEvent.subject_id.is_null(False))
)


def _found(seals: list["AuditSeal"], expect: tuple[str, int] | None, intact: bool) -> bool | None:
    if expect is None:
        return None
    return intact and any(s.hash == expect[0] and s.total == expect[1] for s in seals)


@dataclass(frozen=True)
class ChainCheck:
    """What `audit verify` found: rows intact, the head hash, the first broken row, a recorded head's fate."""

    checked: int  # events walked
    head: str  # the newest seal's hash: with `sealed`, what `audit verify` prints as HASH:COUNT
    broken: int | None  # None: intact; -1: a lane's head disagrees; -2: a seal does; else the first bad row's id
    expected_found: bool | None  # None: nothing was expected
    sealed: int = 0  # events the newest seal covers
