"""The append-only, hash-chained audit log (LOG-01/02)."""

import hashlib
import json

from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField

from ..db import db
from .accounts import User
from .base import BaseModel
from .base import utcnow


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
