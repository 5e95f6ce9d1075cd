"""The patient's own pages: Today, support after alarming words, More, and settings (reminders, zone, quiet hours)."""

import uuid

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user

from .. import accounts
from .. import crisis
from ..access import patients_only
from ..forms import EmptyForm
from ..journey import scheduling
from ..push import devices
from ..reminders import planner
from ..selfreports import mood
from . import today
from .forms import SettingsForm

bp = Blueprint("patient", __name__)


@bp.route("/home")
@patients_only
def home():
    return render_template(
        "patient/home.html",
        client_id=str(uuid.uuid4()),
        mood_words=mood.MOOD_WORDS,
        tags=tuple(mood.clinic_tags()),
        **today.overview(current_user._get_current_object()),
    )


@bp.route("/support")
@patients_only
def support():
    """The screen after crisis language or a safety answer (CLIN-02/04)."""
    return render_template("patient/support.html", lines=crisis.current_lines(), clinic_phone=crisis.clinic_phone())


@bp.route("/more")
@patients_only
def more():
    """Everything that is not Today, the journal or history: sessions, settings, data, account, sign out."""
    return render_template("patient/more.html", upcoming=scheduling.next_session(current_user._get_current_object()))


@bp.route("/settings", methods=["GET", "POST"])
@patients_only
def settings():
    user = current_user._get_current_object()
    form = SettingsForm(obj=user)
    if not form.is_submitted():
        form.reminders_on.data = [k for k in planner.KINDS if k not in planner.turned_off(user)]
    if form.validate_on_submit():
        accounts.update_time_settings(
            user,
            timezone=form.timezone.data,
            quiet_start=form.quiet_start.data,
            quiet_end=form.quiet_end.data,
            mood_nudge_at=form.mood_nudge_at.data,
            reminders_off=form.reminders_off,
        )
        flash("Your settings are saved.", "success")
        return redirect(url_for("patient.settings"))
    return render_template(
        "patient/settings.html",
        form=form,
        button=EmptyForm(),
        **devices.panel(user),
    ), (422 if form.is_submitted() else 200)  # IN-01: a refused form says so
