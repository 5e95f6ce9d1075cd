"""The clinician's pages: their panel of patients, invites, one patient's record."""

import datetime as dt

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from wtforms import SelectChoice

from .. import instruments
from .. import selfreports
from ..access import clinicians_only
from ..access import patient_for_staff
from ..auth.forms import EmptyForm
from ..auth.views import show_invite
from ..db import db
from ..journal.entries import shared_for_patient
from ..journey.views import sessions_context
from ..models import AuditEvent
from ..models import CareRelationship
from ..models import CheckIn
from ..models import CLINICIAN
from ..models import Invite
from ..models import MoodEntry
from ..models import PATIENT
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow
from . import panel
from .forms import AcknowledgeForm
from .forms import AddColleagueForm
from .forms import InvitePatientForm

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


@bp.route("/")
@clinicians_only
def index():
    me = current_user._get_current_object()
    pending = Invite.usable().where(Invite.invited_by == me, Invite.role == PATIENT).order_by(Invite.expires_at)
    return render_template("clinician/index.html", rows=panel.build(me), pending=list(pending), button=EmptyForm())


@bp.route("/invite", methods=["GET", "POST"])
@clinicians_only
def invite():
    form = InvitePatientForm()
    me = current_user._get_current_object()
    if form.validate_on_submit():
        if User.by_email(form.email.data).exists():
            form.email.errors.append("That email already has an account. Ask an administrator to link it to you.")
        else:
            invite, token, code = Invite.issue(
                role=PATIENT,
                email=form.email.data,
                name=form.name.data,
                invited_by=me,
                days=current_app.config["INVITE_DAYS"],
            )
            return show_invite(
                invite, token, code, back_url=url_for("clinician.index"), back_label="Back to your patients"
            )
    return render_template("clinician/invite.html", form=form)


@bp.route("/invites/<int:invite_id>/revoke", methods=["POST"])
@clinicians_only
def revoke_invite(invite_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    me = current_user._get_current_object()
    with db.atomic():
        revoked = (
            Invite.update(expires_at=utcnow())
            .where(Invite.id == invite_id, Invite.invited_by == me, Invite.used_at.is_null())
            .execute()
        )
        if not revoked:
            abort(404)
        AuditEvent.record("invite_revoked", actor=me, detail=f"invite {invite_id}")
    flash("The invite is cancelled; its link and code no longer work.", "success")
    return redirect(url_for("clinician.index"))


def colleague_form(patient: User) -> AddColleagueForm:
    """Offer the active clinicians not yet on this patient's care team."""
    on_team = {c.id for c in patient.clinicians()}
    candidates = User.select().where(User.role == CLINICIAN, User.active == True).order_by(User.name)  # noqa: E712
    form = AddColleagueForm()
    form.clinician.choices = [SelectChoice(c.id, c.name) for c in candidates if c.id not in on_team]
    return form


@bp.route("/patients/<int:patient_id>")
@clinicians_only
def patient(patient_id):
    patient = patient_for_staff(patient_id)
    return render_patient(patient, AcknowledgeForm())


def render_patient(patient: User, acknowledge_form: AcknowledgeForm, status: int = 200):
    """Show one patient's record; every showing is written to the audit log (LOG-01)."""
    AuditEvent.record("view_patient", actor=current_user._get_current_object(), patient=patient)
    since = utcnow() - dt.timedelta(days=30)
    alerts = (
        SafetyAlert.select()
        .where(SafetyAlert.patient == patient)
        .order_by(SafetyAlert.acknowledged_at.is_null(False), SafetyAlert.created_at.desc())
    )
    moods = (
        MoodEntry.visible()
        .where(MoodEntry.patient == patient, MoodEntry.recorded_at >= since)
        .order_by(MoodEntry.recorded_at.desc())
    )
    checkins = CheckIn.select().where(CheckIn.patient == patient).order_by(CheckIn.submitted_at.desc())
    row = next((r for r in panel.build(current_user._get_current_object()) if r.patient.id == patient.id), None)
    return render_template(
        "clinician/patient.html",
        patient=patient,
        row=row,
        alerts=list(alerts),
        moods=list(moods),
        checkins=list(checkins),
        care_team=list(patient.clinicians()),
        colleague_form=colleague_form(patient),
        acknowledge_form=acknowledge_form,
        mood_words=selfreports.MOOD_WORDS,
        instruments=instruments.INSTRUMENTS,
        shared_journal=shared_for_patient(patient),
        **sessions_context(patient),
    ), status


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@clinicians_only
def acknowledge_alert(alert_id):
    alert = SafetyAlert.get_or_none(SafetyAlert.id == alert_id)
    if alert is None:
        abort(404)
    patient = patient_for_staff(alert.patient_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return render_patient(patient, form, 422)
    me = current_user._get_current_object()
    with db.atomic():
        done = (
            SafetyAlert.update(acknowledged_at=utcnow(), acknowledged_by=me, note=form.note.data.strip())
            .where(SafetyAlert.id == alert.id, SafetyAlert.acknowledged_at.is_null())
            .execute()
        )
        if done:
            AuditEvent.record("alert_acknowledged", actor=me, patient=patient, detail=f"alert {alert.id}")
    flash("Alert acknowledged." if done else "A colleague already acknowledged this alert.", "success")
    return redirect(url_for("clinician.patient", patient_id=patient.id))


@bp.route("/patients/<int:patient_id>/care-team", methods=["POST"])
@clinicians_only
def add_colleague(patient_id):
    patient = patient_for_staff(patient_id)
    form = colleague_form(patient)
    if not form.validate_on_submit():
        flash("Choose a colleague from the list.", "error")
        return redirect(url_for("clinician.patient", patient_id=patient.id))
    colleague = User.get_by_id(form.clinician.data)
    with db.atomic():
        link, created = CareRelationship.get_or_create(patient=patient, clinician=colleague)
        if not created:
            CareRelationship.update(active=True, ended_at=None).where(CareRelationship.id == link.id).execute()
        AuditEvent.record(
            "care_team_added", actor=current_user._get_current_object(), patient=patient, detail=f"user {colleague.id}"
        )
    flash(f"{colleague.name} is now on {patient.name}'s care team.", "success")
    return redirect(url_for("clinician.patient", patient_id=patient.id))
