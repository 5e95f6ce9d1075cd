"""The .ics subscription feed: appointment times only, under a title that says nothing clinical.

A calendar is shown on lock screens, synced to other services and shared with family, so an
event carries no patient name, no kind of session, no description: "aftercare appointment".
"""

import datetime as dt
import secrets

from icalendar import Calendar
from icalendar import Event

from ..db import db
from ..models import AuditEvent
from ..models import CANCELLED
from ..models import CareRelationship
from ..models import CLINICIAN
from ..models import PATIENT
from ..models import token_hash
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow

TITLE = "aftercare appointment"
PRODID = "-//aftercare//appointments//EN"
# Calendar apps keep a long-gone past forever; the feed carries recent history and the future.
HISTORY_DAYS = 180


def new_token(user: User) -> str:
    """Give the user a new feed secret, replacing (and so revoking) any earlier link; return it once."""
    token = secrets.token_urlsafe(32)
    with db.atomic():
        User.update(calendar_token_hash=token_hash(token)).where(User.id == user.id).execute()
        AuditEvent.record(
            "calendar_link_created", actor=user, patient=user if user.role == PATIENT else None, subject=user
        )
    return token


def revoke(user: User) -> None:
    with db.atomic():
        User.update(calendar_token_hash=None).where(User.id == user.id).execute()
        AuditEvent.record(
            "calendar_link_revoked", actor=user, patient=user if user.role == PATIENT else None, subject=user
        )


def owner(token: str) -> User | None:
    """Return the active patient or clinician a feed token belongs to, or None."""
    if not token:
        return None
    user = User.get_or_none(User.calendar_token_hash == token_hash(token))
    if user is None or not user.is_active or user.role not in (PATIENT, CLINICIAN):
        return None
    return user


def sessions_for(user: User, now: dt.datetime | None = None):
    """Return the query for the sessions a user's feed lists: their own, or their patients'."""
    since = (now or utcnow()) - dt.timedelta(days=HISTORY_DAYS)
    query = TreatmentSession.select().where(TreatmentSession.starts_at >= since)
    if user.role == PATIENT:
        query = query.where(TreatmentSession.patient == user)
    else:
        patients = (
            User.select(User.id)
            .join(CareRelationship, on=CareRelationship.patient)
            .where(
                CareRelationship.clinician == user,
                CareRelationship.active == True,  # noqa: E712
                User.active == True,  # noqa: E712
            )
        )
        query = query.where(TreatmentSession.patient.in_(patients))
    return query.order_by(TreatmentSession.starts_at, TreatmentSession.id)


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC)


def feed(user: User, host: str, now: dt.datetime | None = None) -> bytes:
    """Build the user's calendar: one event per session, cancelled ones marked so apps remove them."""
    now = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "aftercare")
    # Ask subscribing apps to look again hourly (many poll less often whatever we say).
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", dt.timedelta(hours=1))
    with db.atomic():
        sessions = list(sessions_for(user, now))
        patient_ids = {session.patient_id for session in sessions}
        if user.role == CLINICIAN:
            # The feed holds patients' appointment times (no names): each download names every
            # patient in it in the audit log, in one statement, as the roster does (LOG-01).
            patients = list(User.select().where(User.id.in_(patient_ids)))
            AuditEvent.record_many("calendar_feed", actor=user, patients=patients, detail="clinician calendar feed")
    for session in sessions:
        event = Event()
        # Stable per session, so a moved or cancelled appointment replaces the one already shown.
        event.add("uid", f"session-{session.id}@{host}")
        event.add("summary", TITLE)
        event.add("dtstart", _utc(session.starts_at))
        event.add("dtend", _utc(session.ends_at))
        event.add("dtstamp", _utc(now))
        event.add("last-modified", _utc(session.updated_at))
        event.add("status", "CANCELLED" if session.status == CANCELLED else "CONFIRMED")
        event.add("transp", "TRANSPARENT" if session.status == CANCELLED else "OPAQUE")
        event.add("class", "PRIVATE")
        calendar.add_component(event)
    return calendar.to_ical()
