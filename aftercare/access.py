"""Who may use each endpoint (AC-01): deny by default, declared per view."""

import logging

from flask import abort
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from . import alerts
from .models import ADMIN
from .models import CLINICIAN
from .models import PATIENT
from .models import SafetyAlert
from .models import User

log = logging.getLogger(__name__)

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed-in"  # any role


def _declare(who):
    def decorator(view):
        view.access = who
        return view

    return decorator


public = _declare(PUBLIC)
signed_in = _declare(SIGNED_IN)


def roles(*allowed):
    """Allow only signed-in users with one of these roles."""
    return _declare(frozenset(allowed))


patients_only = roles(PATIENT)
clinicians_only = roles(CLINICIAN)
admins_only = roles(ADMIN)
staff_only = roles(CLINICIAN, ADMIN)


def home_for(user) -> str:
    """Return where a user lands: Today for a patient, their own start page for staff."""
    return url_for("patient.home") if user.role == PATIENT else url_for(f"{user.role}.index")


def access_of(endpoint: str | None):
    """Return the access declared on an endpoint's view, or None if it declares none."""
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return getattr(view, "access", None)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def enforce() -> None:
    """Refuse the request unless the endpoint's declaration admits the current user."""
    if request.endpoint is None:
        return  # No route matched: Flask answers 404/405 itself.
    try:
        who = access_of(request.endpoint)
        if who is None:
            log.error("endpoint %s declares no access rule; denied", request.endpoint)
            abort(404)
        if who == PUBLIC:
            return
        if not current_user.is_authenticated:
            if _wants_json():
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if who == SIGNED_IN or current_user.role in who:
            return
        abort(403)
    except Exception as error:  # noqa: BLE001
        # AC-05: a failure inside the policy check never lets the request through.
        if getattr(error, "code", None) in (401, 403, 404):
            raise
        log.exception("access check failed for %s", request.endpoint)
        abort(403)


def get_object_or_404(query, *expressions):
    """Return the one row of a model or query matching the expressions (say, its id and its owner), or answer 404.

    "Not yours" and "not there" are the same answer, so nobody learns which ids exist (AC-02).
    """
    if isinstance(query, type):
        query = query.select()
    row = query.where(*expressions).first() if expressions else query.first()
    if row is None:
        abort(404)
    return row


def patient_for_staff(patient_id: int) -> User:
    """Load a patient the current clinician may see, or answer 404 (AC-02).

    A clinician outside the care team may open a record only while on call for one of the patient's
    escalated alerts (CLIN-03); the view is audited like any other.
    """
    patient = get_object_or_404(User, User.id == patient_id, User.role == PATIENT, User.active == True)  # noqa: E712
    if current_user.role == CLINICIAN and current_user.cares_for(patient):
        return patient
    if current_user.role == CLINICIAN and on_call_for(current_user, patient):
        return patient
    abort(404)


def on_call_for(clinician: User, patient: User) -> bool:
    """Tell whether a clinician outside the care team may open this record: on call, for an escalated alert (CLIN-03)."""
    return alerts.escalated_for(clinician).where(SafetyAlert.patient == patient).exists()


def init_app(app):
    """Check every request against its endpoint's declaration, and mark the built-ins."""
    app.view_functions["static"].access = PUBLIC
    app.before_request(enforce)
