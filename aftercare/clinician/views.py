"""The clinician's pages: their panel of patients, invites, one patient's record."""

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user

from ..access import clinicians_only
from ..access import patient_for_staff
from ..auth.forms import EmptyForm
from ..db import db
from ..models import AuditEvent
from ..models import Invite
from ..models import PATIENT
from ..models import User
from ..models import utcnow
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


@bp.route("/patients/<int:patient_id>")
@clinicians_only
def patient(patient_id):
    patient = patient_for_staff(patient_id)
    AuditEvent.record("view_patient", actor=current_user._get_current_object(), patient=patient)
    return render_template("clinician/patient.html", patient=patient, care_team=list(patient.clinicians()))
