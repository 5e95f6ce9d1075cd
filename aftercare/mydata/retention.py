"""Closing an account and deleting it once the clinic's retention period has passed (PRIV-02)."""

import datetime as dt

from .. import settings
from .. import websessions
from ..circles import board
from ..db import db
from ..models import AuditEvent
from ..models import CareRelationship
from ..models import Invite
from ..models import LoginThrottle
from ..models import PATIENT
from ..models import User
from ..models import utcnow
from ..reminders import planner


def retention_days() -> int:
    """Return the clinic's retention period for closed accounts, in days."""
    return settings.current().retention_days


def deletion_date(closed_at: dt.datetime, days: int | None = None) -> dt.datetime:
    """Return when an account closed at `closed_at` becomes due for deletion."""
    return closed_at + dt.timedelta(days=retention_days() if days is None else days)


def close_account(patient: User) -> dt.datetime:
    """Close a patient's account in one transaction; return when its data will be deleted."""
    now = utcnow()
    with db.atomic():
        User.update(closed_at=now, active=False).where(User.id == patient.id).execute()
        websessions.revoke_others(patient)  # every device, this one included
        planner.close(patient)  # nothing more is sent, and no device keeps receiving
        board.forget(patient)  # posts show as removed; memberships, invites and attendance go
        CareRelationship.update(active=False, ended_at=now).where(
            CareRelationship.patient == patient,
            CareRelationship.active == True,  # noqa: E712
        ).execute()
        AuditEvent.record("account_closed", actor=patient, patient=patient, subject=patient)
    return deletion_date(now)


def closed_accounts():
    """Return the query for closed accounts not yet deleted, oldest closure first."""
    return User.select().where(User.closed_at.is_null(False)).order_by(User.closed_at, User.id)


def due(now: dt.datetime | None = None, days: int | None = None):
    """Return the query for closed accounts whose retention period has passed."""
    days = retention_days() if days is None else days
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    return closed_accounts().where(User.closed_at <= cutoff)


def purge(now: dt.datetime | None = None) -> int:
    """Delete every closed account past retention, with all its rows; return how many."""
    days = retention_days()
    deleted = 0
    with db.atomic():
        for user in list(due(now, days)):
            # Re-check in the DELETE itself: a second purge running at the same
            # time finds nothing left to delete and writes no second audit row.
            gone = User.delete().where(User.id == user.id, User.closed_at.is_null(False)).execute()
            if not gone:
                continue
            # Every foreign key to User cascades (or sets NULL) in the schema, so the
            # DELETE takes mood, check-ins, alerts, sessions and care links with it.
            # These two hold the email without a foreign key.
            LoginThrottle.clear(user.email)
            Invite.delete().where(Invite.email == user.email, Invite.role == PATIENT).execute()
            AuditEvent.record("account_purged", actor=None, patient=user, detail=f"retention {days} days")
            deleted += 1
    return deleted
