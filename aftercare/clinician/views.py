"""The clinician's pages: their panel of patients, invites, one patient's record."""

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user
from wtforms import SelectChoice

from ..access import clinicians_only
from ..access import patient_for_staff
from ..auth.forms import EmptyForm
from ..db import db
from ..models import AuditEvent
from ..models import CareRelationship
from ..models import CLINICIAN
from ..models import Invite
from ..models import PATIENT
from ..models import User
from ..models import utcnow
from .forms import AddColleagueForm
from .forms import InvitePatientForm

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


@bp.route("/")
@clinicians_only
def index():
    me = current_user._get_current_object()
    pending = Invite.usable().where(Invite.invited_by == me, Invite.role == PATIENT).order_by(Invite.expires_at)
    return render_template(
        "clinician/index.html", patients=list(me.patients()), pending=list(pending), button=EmptyForm()
    )


@bp.route("/invite", methods=["GET", "POST"])
@clinicians_only
def invite():
    form = InvitePatientForm()
    me = current_user._get_current_object()
    if form.validate_on_submit():
        if User.by_email(form.email.data).exists():
            form.email.errors.append("That email already has an account. Ask an administrator to link it to you.")
        else:
            with db.atomic():
                invite, token, code = Invite.issue(
                    role=PATIENT,
                    email=form.email.data,
                    name=form.name.data,
                    invited_by=me,
                    days=current_app.config["INVITE_DAYS"],
                )
                AuditEvent.record("patient_invited", actor=me, detail=f"invite {invite.id}")
            link = url_for("auth.join_link", token=token, _external=True)
            return render_template(
                "_partials/invite_ready.html",
                invite=invite,
                link=link,
                code=code,
                back_url=url_for("clinician.index"),
                back_label="Back to your patients",
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
    AuditEvent.record("view_patient", actor=current_user._get_current_object(), patient=patient)
    return render_template(
        "clinician/patient.html",
        patient=patient,
        care_team=list(patient.clinicians()),
        colleague_form=colleague_form(patient),
    )


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
