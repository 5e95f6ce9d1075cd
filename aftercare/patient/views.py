"""The patient's own pages."""

import datetime as dt
import zoneinfo

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user

from .. import crisis
from ..access import patients_only
from ..db import db
from ..models import AuditEvent
from ..models import User
from .forms import SettingsForm

bp = Blueprint("patient", __name__)


def greeting(now_local: dt.datetime) -> str:
    if now_local.hour < 5:
        return "Hello"
    if now_local.hour < 12:
        return "Good morning"
    if now_local.hour < 18:
        return "Good afternoon"
    return "Good evening"


@bp.route("/home")
@patients_only
def home():
    now_local = dt.datetime.now(zoneinfo.ZoneInfo(current_user.timezone))
    return render_template(
        "patient/home.html",
        greeting=greeting(now_local),
        today=now_local,
        care_team=list(current_user.clinicians()),
        lines=crisis.current_lines(),
        clinic_phone=crisis.clinic_phone(),
    )


@bp.route("/settings", methods=["GET", "POST"])
@patients_only
def settings():
    user = current_user._get_current_object()
    form = SettingsForm(obj=user)
    if form.validate_on_submit():
        with db.atomic():
            User.update(
                timezone=form.timezone.data, quiet_start=form.quiet_start.data, quiet_end=form.quiet_end.data
            ).where(User.id == user.id).execute()
            AuditEvent.record("settings_changed", actor=user, patient=user)
        flash("Your settings are saved.", "success")
        return redirect(url_for("patient.settings"))
    return render_template("patient/settings.html", form=form)
