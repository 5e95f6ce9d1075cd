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

from .. import accounts
from .. import websessions
from ..access import patients_only
from ..access import public
from ..models import User
from ..models import utcnow
from . import export
from . import retention
from .forms import CloseAccountForm

bp = Blueprint("mydata", __name__, url_prefix="/my-data")


def _me() -> User:
    return current_user._get_current_object()


def _page(form: CloseAccountForm, status: int = 200):
    return render_template("mydata/index.html", form=form, **export.overview(_me())), status


@bp.route("")
@patients_only
def index():
    return _page(CloseAccountForm())


@bp.route("/export.zip")
@patients_only
def export_zip():
    """Download everything stored about the patient (PRIV-01)."""
    me = _me()
    sections = export.collect(me)
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
    if not accounts.check_password(me, form.password.data):  # a guess like any other (AUTH-11)
        form.password.errors.append("That is not your password. Your account is still open.")
        return _page(form, 422)
    delete_on = retention.close_account(me)
    logout_user()
    websessions.end(session)
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
