"""The clinician's pages: their panel of patients, invites, one patient's record."""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import SelectChoice

from .. import accounts
from .. import alerts
from ..access import clinicians_only
from ..access import get_object_or_404
from ..access import patient_for_staff
from ..forms import EmptyForm
from ..inputs import Invalid
from ..models import CLINICIAN
from ..models import Invite
from ..models import PATIENT
from ..models import SafetyAlert
from ..models import User
from ..pages import csv_download
from ..pages import invite_from
from ..pages import render_cohort
from ..pages import require_button
from ..reminders import messages
from ..reminders.forms import MessageForm
from ..selfreports import checkins
from ..selfreports.charts import TIMELINE_RANGE_LABELS
from ..selfreports.checkins import safety_answer
from ..selfreports.instruments import chosen
from ..selfreports.instruments import INSTRUMENTS
from ..selfreports.mood import MOOD_WORDS
from . import cohort
from . import export
from . import panel
from .forms import AcknowledgeForm
from .forms import AddColleagueForm
from .forms import InvitePatientForm
from .forms import MeasuresForm
from .forms import PanelSearchForm
from .record import open_record

bp = Blueprint("clinician", __name__, url_prefix="/clinician")


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/", methods=["GET", "POST"])
@clinicians_only
def index():
    """The panel: filtered by flag and paged in the address; a name search is posted (never in a URL or log)."""
    me = _me()
    form = PanelSearchForm()
    search = form.name.data.strip() if form.validate_on_submit() else None
    try:
        shown = panel.show(me, flag=request.args.get("flag"), page=request.args.get("page"), search=search)
    except Invalid as error:
        return render_template("clinician/index.html", panel=None, errors=error.fields, form=form), 400
    pending = Invite.usable().where(Invite.invited_by == me, Invite.role == PATIENT).order_by(Invite.expires_at)
    return render_template(
        "clinician/index.html",
        panel=shown,
        flags=panel.FLAGS,
        form=form,
        errors={},
        pending=list(pending),
        button=EmptyForm(),
    )


@bp.route("/cohort")
@clinicians_only
def cohort_page():
    """The figures across this clinician's patients: the window-of-clarity curve, the series, response."""
    return render_cohort(_me(), cohort.days_from)


@bp.route("/cohort/self-reports.csv")
@clinicians_only
def cohort_export():
    """The cohort's self-reports over the page's range: pseudonymous unless `names=1` (audited)."""
    try:
        start, end = cohort.days_from(request.args)
    except Invalid as error:
        return " ".join(error.fields.values()), 400, {"Content-Type": "text/plain; charset=utf-8"}
    names = request.args.get("names") == "1"
    data = export.cohort_csv(_me(), start, end, names=names)
    return csv_download(data, f"aftercare-cohort-{start.isoformat()}-to-{end.isoformat()}.csv")


@bp.route("/patients/<int:patient_id>/self-reports.csv")
@clinicians_only
def patient_export(patient_id):
    """One patient's self-reports, for the care team only (an on-call colleague reads the record, no more)."""
    patient = patient_for_staff(patient_id)
    if not _me().cares_for(patient):
        abort(404)
    return csv_download(export.patient_csv(_me(), patient), f"aftercare-self-reports-{patient.id}.csv")


@bp.route("/invite", methods=["GET", "POST"])
@clinicians_only
def invite():
    form = InvitePatientForm()
    shown = form.validate_on_submit() and invite_from(
        form,
        PATIENT,
        by=_me(),
        taken="That email already has an account. Ask an administrator to link it to you.",
        back_url=url_for("clinician.index"),
        back_label="Back to your patients",
    )
    return shown or render_template("clinician/invite.html", form=form)


@bp.route("/invites/<int:invite_id>/revoke", methods=["POST"])
@clinicians_only
def revoke_invite(invite_id):
    require_button()
    if not accounts.revoke_invite(invite_id, by=_me()):
        abort(404)
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
    return render_patient(patient_for_staff(patient_id), AcknowledgeForm(), range_key=request.args.get("range"))


def render_patient(
    patient: User,
    acknowledge_form: AcknowledgeForm,
    status: int = 200,
    message_form: MessageForm | None = None,
    measures_form: MeasuresForm | None = None,
    range_key=None,
):
    """Show one patient's record; every showing is written to the audit log (LOG-01)."""
    if measures_form is None:
        measures_form = MeasuresForm(measures=[spec.key for spec in chosen(patient)])
    return render_template(
        "clinician/patient.html",
        colleague_form=colleague_form(patient),
        acknowledge_form=acknowledge_form,
        message_form=message_form or MessageForm(),
        measures_form=measures_form,
        chosen=chosen(patient),
        mood_words=MOOD_WORDS,
        instruments=INSTRUMENTS,
        safety_answer=safety_answer,
        ranges=TIMELINE_RANGE_LABELS,
        **open_record(_me(), patient, range_key),
    ), status


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@clinicians_only
def acknowledge_alert(alert_id):
    alert = get_object_or_404(SafetyAlert, SafetyAlert.id == alert_id)
    patient = patient_for_staff(alert.patient_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return render_patient(patient, form, 422)
    done = alerts.acknowledge(alert, by=_me(), note=form.note.data)
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
    accounts.add_to_care_team(patient, colleague, by=_me())
    flash(f"{colleague.name} is now on {patient.name}'s care team.", "success")
    return redirect(url_for("clinician.patient", patient_id=patient.id))


@bp.route("/patients/<int:patient_id>/measures", methods=["POST"])
@clinicians_only
def choose_measures(patient_id):
    """Choose the questionnaires a patient in this clinician's care answers (an on-call colleague only reads)."""
    patient = patient_for_staff(patient_id)
    if not _me().cares_for(patient):
        abort(404)
    form = MeasuresForm()
    if not form.validate_on_submit():
        return render_patient(patient, AcknowledgeForm(), 422, measures_form=form)
    try:
        measures = checkins.choose(_me(), patient, form.measures.data)
    except Invalid as error:
        form.measures.errors = list(error.fields.values())
        return render_patient(patient, AcknowledgeForm(), 422, measures_form=form)
    names = ", ".join(spec.name for spec in measures)
    flash(f"{patient.name} now answers {names}; their reminders follow.", "success")
    return redirect(url_for("clinician.patient", patient_id=patient.id, _anchor="scores-heading"))


@bp.route("/patients/<int:patient_id>/message", methods=["POST"])
@clinicians_only
def send_message(patient_id):
    """A message to one patient in this clinician's care: pushed like a reminder, kept in their inbox."""
    patient = patient_for_staff(patient_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            messages.send_message(_me(), patient, title=form.title.data, body=form.body.data)
        except Invalid as error:
            for name, message in error.fields.items():
                getattr(form, name).errors.append(message)
        else:
            flash(f"Message sent. It is in {patient.name}'s inbox.", "success")
            return redirect(url_for("clinician.patient", patient_id=patient.id, _anchor="messages"))
    return render_patient(patient, AcknowledgeForm(), 422, message_form=form)
