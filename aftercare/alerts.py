"""Safety alerts (CLIN-02/04): raised in the same transaction as what raised them, one open per subject,
open until a clinician acknowledges them.

Every piece of writing (a mood note, a journal entry, an intention) and every answer set goes
through here, so the rule "one open alert per piece of writing" is written once: saving the
same crisis words again shows the patient support again, but is no news to a clinician who has
not yet acted on the first alert. Once acknowledged, the next save is news again.
"""

from peewee import IntegrityError

from .db import db
from .models import AuditEvent
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
            return SafetyAlert.create(patient=patient, subject=about, reason=reason, detail=detail[:255], **links)
    except IntegrityError:
        return SafetyAlert.open().where(SafetyAlert.subject == about).get()


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
