"""The patient's data page: what is stored, a download of all of it, closing the account."""

import datetime as dt

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import send_file
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import logout_user

from .. import sessions
from ..access import patients_only
from ..access import public
from ..auth.views import check_lockout
from ..db import db
from ..models import AuditEvent
from ..models import CheckIn
from ..models import LoginFailure
from ..models import MoodEntry
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow
from ..models import WebSession
from ..passwords import verify_password
from . import export
from . import retention
from .forms import CloseAccountForm

bp = Blueprint("mydata", __name__, url_prefix="/my-data")


def _me() -> User:
    return current_user._get_current_object()


def _stored_counts(patient: User) -> dict:
    return {
        "mood": MoodEntry.select().where(MoodEntry.patient == patient).count(),
        "first_mood": MoodEntry.select(MoodEntry.recorded_at)
        .where(MoodEntry.patient == patient)
        .order_by(MoodEntry.recorded_at)
        .scalar(),
        "phq9": CheckIn.select().where(CheckIn.patient == patient, CheckIn.instrument == "phq9").count(),
        "gad7": CheckIn.select().where(CheckIn.patient == patient, CheckIn.instrument == "gad7").count(),
        "alerts": SafetyAlert.select().where(SafetyAlert.patient == patient).count(),
        "devices": WebSession.select().where(WebSession.user == patient, WebSession.expires_at > utcnow()).count(),
    }


def _page(form: CloseAccountForm, status: int = 200):
    me = _me()
    return render_template(
        "mydata/index.html",
        counts=_stored_counts(me),
        care_team=list(me.clinicians()),
        retention_days=retention.retention_days(),
        form=form,
    ), status


@bp.route("")
@patients_only
def index():
    return _page(CloseAccountForm())


@bp.route("/export.zip")
@patients_only
def export_zip():
    """Download everything stored about the patient (PRIV-01)."""
    me = _me()
    with db.atomic():  # one consistent copy, and the audit row with it
        sections = export.collect(me)
        AuditEvent.record("export_downloaded", actor=me, patient=me)
    archive, size = export.build_zip(me, sections, current_app.config["CLINIC_NAME"])
    response = send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"aftercare-export-{utcnow():%Y-%m-%d}.zip",
        conditional=False,
        etag=False,
    )
    response.content_length = size
    # send_file says "no-cache" (store, but revalidate); health data must not be stored at all.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/close", methods=["POST"])
@patients_only
def close():
    """Close the patient's account (PRIV-02): hidden from the clinic now, deleted after retention."""
    me = _me()
    form = CloseAccountForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    check_lockout(me.email)  # the password check is a guessing oracle too (AUTH-03)
    if not verify_password(me.password_hash, form.password.data):
        LoginFailure.create(account_key=LoginFailure.key_for(me.email))
        form.password.errors.append("That is not your password. Your account is still open.")
        return _page(form, 422)
    delete_on = retention.close_account(me)
    logout_user()
    sessions.end(session)
    # Kept in the new, anonymous session so the goodbye page can show the date.
    session["account_closed_delete_on"] = delete_on.date().isoformat()
    return redirect(url_for("mydata.closed"))


@bp.route("/closed")
@public
def closed():
    """Say goodbye, and when the closed account's data will be deleted."""
    try:
        delete_on = dt.date.fromisoformat(session.get("account_closed_delete_on", ""))
    except ValueError:
        delete_on = None  # opened later, or from another device: the general wording
    return render_template("mydata/closed.html", delete_on=delete_on, retention_days=retention.retention_days())
