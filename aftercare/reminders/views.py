"""The administrator's reminder pages: the wording of each kind, and whether reminders can reach phones."""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_login import current_user

from ..access import admins_only
from ..forms import EmptyForm
from ..pages import require_button
from . import status
from . import texts
from .forms import WordingForm

bp = Blueprint("reminders", __name__, url_prefix="/admin/reminders")


def _wording(rule: str) -> texts.Wording:
    wording = texts.wordings().get(rule)
    if wording is None:
        abort(404)
    return wording


@bp.route("/")
@admins_only
def index():
    return render_template("reminders/index.html", wordings=list(texts.wordings().values()), problems=status.problems())


@bp.route("/<rule>", methods=["GET", "POST"])
@admins_only
def edit(rule):
    wording = _wording(rule)
    form = WordingForm(obj=wording)
    if form.validate_on_submit():
        try:
            texts.save(
                rule,
                title=form.title.data,
                body=form.body.data,
                lead=form.lead.data,
                by=current_user._get_current_object(),
            )
        except texts.WordingError as error:
            for name, message in error.fields.items():
                getattr(form, name, form.lead).errors.append(message)
        else:
            flash(f"Wording saved: {wording.label}.", "success")
            return redirect(url_for("reminders.index"))
    status_code = 422 if form.errors else 200
    return render_template(
        "reminders/edit.html", form=form, wording=wording, default=texts.DEFAULTS[rule], button=EmptyForm()
    ), status_code


@bp.route("/<rule>/restore", methods=["POST"])
@admins_only
def restore(rule):
    wording = _wording(rule)
    require_button()
    texts.restore(rule, by=current_user._get_current_object())
    flash(f"Back to the default wording: {wording.label}.", "success")
    return redirect(url_for("reminders.index"))
