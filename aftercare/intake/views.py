"""The intake screening's pages: the patient answers, the clinician reviews, the clinic adds questions."""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from ..access import admins_only
from ..access import clinicians_only
from ..access import get_object_or_404
from ..access import patient_for_staff
from ..access import patients_only
from ..forms import EmptyForm
from ..inputs import Invalid
from ..inputs import json_body
from ..inputs import parse_id
from ..models import Intake
from ..models import User
from ..models.intake import DRAFT
from ..models.intake import INTAKE_STATUSES
from ..pages import button
from ..pages import require_button
from . import intakes
from . import questions
from . import review

bp = Blueprint("intake", __name__)

CHANGED = (
    "Your clinic changed the questions while you were answering. Your answers are kept: "
    "please look over the questions again, then send them."
)


def _me() -> User:
    return current_user._get_current_object()


ALREADY_SENT = "These answers were already sent to your clinic."


def _draft_of(me: User, posted) -> Intake:
    """The intake a submission names, if it is the patient's own; else 404 (AC-02)."""
    return get_object_or_404(Intake, Intake.id == (parse_id(posted) or 0), Intake.patient == me)


def _conflict(message: str, **extra):
    return jsonify(error="Conflict", message=message, **extra), 409


# --------------------------------------------------------------------------- the patient


@bp.route("/intake", methods=["GET", "POST"])
@patients_only
def answer():
    """The intake questions, saved as a draft as the patient goes, and sent when they are ready."""
    me = _me()
    if request.method == "GET":
        intake = intakes.to_answer(me)
        if intake is None:
            return _sent_page(me)
        return _form_page(intake, questions.fields_of(intake.answer_dict))
    intake = _draft_of(me, request.form.get("intake"))
    if intake.status != DRAFT:  # sent from another tab a moment ago
        flash(ALREADY_SENT, "info")
        return redirect(url_for("intake.answer"))
    send = request.form.get("action") == "send"
    try:
        saved, crisis = intakes.save(me, intake, request.form, version=request.form.get("version", ""), send=send)
    except intakes.VersionChanged as changed:
        return _form_page(changed.args[0], request.form, notice=CHANGED), 409
    except Invalid as error:
        if getattr(error, "crisis", False):
            return redirect(url_for("patient.support"))  # CLIN-02: help first; the draft keeps the answers
        return _form_page(intake, request.form, errors=error.fields), 422
    if crisis:
        return redirect(url_for("patient.support"))
    if send:
        flash("Thank you. Your answers were sent to your clinic.", "success")
        return redirect(url_for("intake.answer"))
    flash("Saved. Come back to finish whenever you like.", "success")
    return redirect(url_for("intake.answer"))


@bp.route("/api/v1/intake/draft", methods=["POST"])
@patients_only
def save_draft():
    """Save the draft from the page as the patient answers (and again when a phone comes back online)."""
    me = _me()
    body = json_body()
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        return jsonify(error="Bad request", message="The answers (fields) were missing."), 400
    intake = _draft_of(me, body.get("intake"))
    if intake.status != DRAFT:
        return _conflict(ALREADY_SENT)
    try:
        saved, crisis = intakes.save(me, intake, fields, version=str(body.get("version", "")), send=False)
    except intakes.VersionChanged as changed:
        return _conflict(CHANGED, version=changed.args[0].form_id)
    except Invalid as error:  # what could be read was saved; the rest is named
        return jsonify(saved=True, errors=error.fields, crisis=getattr(error, "crisis", False)), 200
    return jsonify(saved=True, errors={}, crisis=crisis, updated_at=saved.updated_at.isoformat() + "Z")


def _form_page(intake: Intake, values, *, errors: dict | None = None, notice: str = ""):
    form = intake.form
    return render_template(
        "intake/form.html",
        intake=intake,
        sections=intakes.sections(form),
        values=values,
        errors=errors or {},
        notice=notice,
    )


def _sent_page(me: User):
    intake = intakes.latest(me)
    return render_template("intake/sent.html", intake=intake, statuses=INTAKE_STATUSES)


# --------------------------------------------------------------------------- the clinician


@bp.route("/clinician/patients/<int:patient_id>/intake")
@clinicians_only
def patient_intake(patient_id):
    """A patient's intake: what needs checking first, then every answer; the review and its note."""
    patient = patient_for_staff(patient_id)
    sent, draft = intakes.open_for_review(patient, by=_me())
    return render_template(
        "intake/review.html",
        patient=patient,
        intake=sent,
        draft=draft,
        sections=intakes.sections(sent.form) if sent else [],
        answers=sent.answer_dict if sent else {},
        highlights=intakes.highlights(sent) if sent else [],
        score=review.worked_out(sent.answer_dict) if sent else {},
        statuses=INTAKE_STATUSES,
        answer=questions.shown,
        form=EmptyForm(),
    )


@bp.route("/clinician/patients/<int:patient_id>/intake/review", methods=["POST"])
@clinicians_only
def mark_reviewed(patient_id):
    patient = patient_for_staff(patient_id)
    require_button()
    intake = intakes.last_sent(patient)
    if intake is None:
        abort(404)
    try:
        done = intakes.mark_reviewed(intake, by=_me(), note=request.form.get("note", ""))
    except Invalid as error:
        flash(error.fields["note"], "error")
        return redirect(url_for("intake.patient_intake", patient_id=patient.id))
    flash("Intake marked as reviewed." if done else "This intake was already reviewed.", "success")
    return redirect(url_for("intake.patient_intake", patient_id=patient.id))


@bp.route("/clinician/patients/<int:patient_id>/intake/again", methods=["POST"])
@clinicians_only
def ask_again(patient_id):
    patient = patient_for_staff(patient_id)
    target = url_for("intake.patient_intake", patient_id=patient.id)
    return button(
        lambda: intakes.ask_again(patient, by=_me()), "The patient is asked to go through the intake again.", target
    )


# --------------------------------------------------------------------------- the clinic's questions


@bp.route("/admin/intake", methods=["GET", "POST"])
@admins_only
def questionnaire():
    """The intake questions as patients see them now; the clinic adds or removes its own."""
    errors, values = {}, {}
    if request.method == "POST":
        require_button()
        values = request.form
        try:
            intakes.add_question(
                by=_me(),
                text=request.form.get("text", ""),
                kind=request.form.get("kind", ""),
                flag=request.form.get("flag", ""),
            )
        except Invalid as error:
            errors = error.fields
        else:
            flash("Question added. Patients who start or continue the intake now see it.", "success")
            return redirect(url_for("intake.questionnaire"))
    form = intakes.current_form()
    page = render_template(
        "intake/questionnaire.html",
        form=form,
        sections=intakes.sections(form),
        rules=review.RULES,
        errors=errors,
        values=values,
        csrf_form=EmptyForm(),
    )
    return (page, 422) if errors else page


@bp.route("/admin/intake/<key>/remove", methods=["POST"])
@admins_only
def remove_question(key):
    require_button()
    if intakes.remove_question(key, by=_me()) is None:
        abort(404)
    flash("Question removed. Answers already given to it are kept.", "success")
    return redirect(url_for("intake.questionnaire"))
