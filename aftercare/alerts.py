"""Safety alerts (CLIN-02/04): raised in the same transaction as what raised them, one open per subject,
open until a clinician acknowledges them.

Every piece of writing (a mood note, a journal entry, an intention) and every answer set goes
through here, so the rule "one open alert per piece of writing" is written once: saving the
same crisis words again shows the patient support again, but is no news to a clinician who has
not yet acted on the first alert. Once acknowledged, the next save is news again.

A new alert is also pushed, generically, to the devices of the care team; one still open after
the clinic's set working minutes escalates (CLIN-03): it goes first on the panel of every
clinician in the care team and on call, and their devices are told again. Push is an extra
channel: the panel shows every open alert whether or not a push arrives (CLIN-05).
"""

import datetime as dt

from peewee import IntegrityError

from . import settings
from . import workhours
from .db import db
from .models import AuditEvent
from .models import CLINICIAN
from .models import Device
from .models import Reminder
from .models import SafetyAlert
from .models import User
from .models import utcnow
from .safety import has_crisis_language

CRISIS_LANGUAGE = "crisis_language"


def subject(kind: str, row_id: int) -> str:
    """Name what an alert is about: "mood:12", "journal:7", "intention:31" (a session's), "checkin:88"."""
    return f"{kind}:{row_id}"


def raise_alert(patient: User, *, about: str, reason: str, detail: str, **links) -> SafetyAlert:
    """Open an alert about `about`, or return the one still open for it (call inside the write's transaction)."""
    existing = SafetyAlert.open().where(SafetyAlert.subject == about).first()
    if existing is not None:
        return existing
    try:
        with db.atomic():  # a savepoint: if a racing save opened it first, reuse theirs
            alert = SafetyAlert.create(patient=patient, subject=about, reason=reason, detail=detail[:255], **links)
    except IntegrityError:
        return SafetyAlert.open().where(SafetyAlert.subject == about).get()
    _push(alert, list(patient.clinicians()), "alert_new", utcnow())
    return alert


def flag_writing(patient: User, text: str | None, *, about: str, detail: str, **links) -> bool:
    """Raise (or reuse) the crisis-language alert for a piece of writing; return whether it holds crisis words."""
    if not has_crisis_language(text):
        return False
    raise_alert(patient, about=about, reason=CRISIS_LANGUAGE, detail=detail, **links)
    return True


def acknowledge(alert: SafetyAlert, *, by: User, note: str) -> bool:
    """Record who acknowledged an alert, when and what they did; False if a colleague already had."""
    with db.atomic():
        done = (
            SafetyAlert.update(acknowledged_at=utcnow(), acknowledged_by=by, note=note.strip())
            .where(SafetyAlert.id == alert.id, SafetyAlert.acknowledged_at.is_null())
            .execute()
        )
        if done:
            AuditEvent.record("alert_acknowledged", actor=by, patient=alert.patient, detail=f"alert {alert.id}")
    return bool(done)


# --------------------------------------------------------------------------- reaching clinicians (CLIN-03)

ALERT_PUSH_HOURS = 12  # a push about an alert is no use after this; the panel still shows it


def _push(alert: SafetyAlert, clinicians: list[User], rule: str, now: dt.datetime) -> int:
    """Queue a generic push about an alert to each clinician with a device for it; return how many."""
    ids = [c.id for c in clinicians if c.role == CLINICIAN and c.active]
    with_devices = {d.user_id for d in Device.select(Device.user).where(Device.user.in_(ids))} if ids else set()
    rows = [
        {
            "user": clinician_id,
            "rule": rule,
            "slot": f"alert:{alert.id}",
            "alert": alert.id,
            "due_at": now,
            "expires_at": now + dt.timedelta(hours=ALERT_PUSH_HOURS),
            "path": f"/clinician/patients/{alert.patient_id}#alerts",
        }
        for clinician_id in sorted(with_devices)
    ]
    if rows:
        Reminder.insert_many(rows).on_conflict_ignore().execute()
    return len(rows)


def on_call() -> list[User]:
    """Return the clinicians on call for escalated alerts (Clinic settings), active ones only."""
    ids = settings.current().on_call
    if not ids:
        return []
    return list(User.select().where(User.id.in_(list(ids)), User.role == CLINICIAN, User.active == True))  # noqa: E712


def escalate_due(now: dt.datetime | None = None) -> list[SafetyAlert]:
    """Escalate every open alert that has waited the clinic's set working minutes; return those escalated now.

    Run by the reminder worker on each pass. The conditional UPDATE escalates an alert once,
    however many workers run this at the same time.
    """
    now = now or utcnow()
    clinic = settings.current()
    threshold = clinic.escalate_minutes
    candidates = SafetyAlert.open().where(
        SafetyAlert.escalated_at.is_null(), SafetyAlert.created_at <= now - dt.timedelta(minutes=threshold)
    )
    escalated = []
    for alert in candidates:
        if workhours.working_minutes(alert.created_at, now, clinic) < threshold:
            continue
        with db.atomic():
            done = (
                SafetyAlert.update(escalated_at=now)
                .where(
                    SafetyAlert.id == alert.id,
                    SafetyAlert.escalated_at.is_null(),
                    SafetyAlert.acknowledged_at.is_null(),
                )
                .execute()
            )
            if done:
                team = {c.id: c for c in alert.patient.clinicians()}
                team.update({c.id: c for c in on_call()})
                _push(alert, list(team.values()), "alert_escalated", now)
                escalated.append(alert)
    return escalated


def escalated_for(clinician: User):
    """Return the query for escalated open alerts a clinician must see: their patients', or all when on call."""
    query = SafetyAlert.open().where(SafetyAlert.escalated_at.is_null(False))
    if clinician.id in settings.current().on_call:
        return query
    return query.where(SafetyAlert.patient.in_(clinician.patients().select(User.id)))
