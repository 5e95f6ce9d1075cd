"""Reminder pages: the patient's inbox and coming reminders; the administrator's wording, queue and notices."""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from .. import crisis
from ..access import admins_only
from ..access import get_object_or_404
from ..access import patients_only
from ..access import public
from ..forms import EmptyForm
from ..inputs import Invalid
from ..inputs import parse_id
from ..localtime import to_local
from ..models import Reminder
from ..pages import public_page
from ..pages import require_button
from . import inbox as patient_inbox
from . import messages
from . import planner
from . import status
from . import texts
from .forms import MessageForm
from .forms import WordingForm

bp = Blueprint("reminders", __name__)


def _me():
    return current_user._get_current_object()


# --------------------------------------------------------------------------- the patient's inbox


@bp.app_context_processor
def inbox_badge():
    """Give templates the patient's unread count, counted only where a page shows the tabs."""
    return {"unread_inbox": lambda: patient_inbox.unread(_me())}


@bp.route("/inbox")
@patients_only
def inbox():
    """Every reminder and message that reached its time, newest first; what is shown is marked read."""
    me = _me()
    before = parse_id(request.args.get("before"))
    items, more = patient_inbox.items(me, before=before)
    patient_inbox.mark_read(me, [item.id for item in items if item.unread])
    return render_template(
        "reminders/inbox.html",
        items=items,
        more=more,
        older=url_for("reminders.inbox", before=items[-1].id) if more and items else None,
        clinic_phone=crisis.clinic_phone(),
        care_team=list(me.clinicians()),
    )


@bp.route("/api/v1/inbox")
@patients_only
def api_inbox():
    """The newest page of the inbox, for the copy the app keeps on the phone to read offline."""
    items, more = patient_inbox.items(_me())
    return jsonify(user=str(_me().id), items=[item.as_json() for item in items], more=more)


@bp.route("/inbox/offline")
@public
def offline_inbox():
    """The empty frame the service worker keeps for reading the inbox offline; its script fills it from the phone."""
    return public_page("reminders/offline_inbox.html")


@bp.route("/reminders")
@patients_only
def upcoming():
    """The reminders coming in the next two weeks, each of which can be sent later."""
    me = _me()
    wordings = texts.wordings()
    rows = [(r, texts.inbox_heading(wordings[r.rule])) for r in planner.upcoming(me)]
    return render_template(
        "reminders/upcoming.html",
        rows=rows,
        snoozes=planner.SNOOZES,
        form=EmptyForm(),
        off=[planner.KINDS[k][0] for k in sorted(planner.turned_off(me))],
    )


@bp.route("/reminders/<int:reminder_id>/snooze", methods=["POST"])
@patients_only
def snooze(reminder_id):
    me = _me()
    reminder = get_object_or_404(Reminder, Reminder.id == reminder_id, Reminder.user == me)
    require_button()
    try:
        when = planner.snooze(me, reminder, request.form.get("when", ""))
    except planner.SnoozeError as error:
        flash(str(error), "error")
    else:
        shown = to_local(when, me.timezone)
        flash(f"It will come {shown:%A} at {shown:%H:%M} instead.", "success")
    return redirect(url_for("reminders.upcoming"))


# --------------------------------------------------------------------------- the administrator's pages


def _wording(rule: str) -> texts.Wording:
    wording = texts.wordings().get(rule)
    if wording is None:
        abort(404)
    return wording


def _admin_page(form: MessageForm, status_code: int = 200):
    return render_template(
        "reminders/index.html",
        wordings=list(texts.wordings().values()),
        problems=status.problems(),
        queue=status.queue(),
        waits=status.alert_waits(),
        form=form,
    ), status_code


@bp.route("/admin/reminders/notice", methods=["POST"])
@admins_only
def send_notice():
    """A notice to every patient, through the same outbox as reminders."""
    form = MessageForm()
    if form.validate_on_submit():
        try:
            count = messages.send_notice(_me(), title=form.title.data, body=form.body.data)
        except Invalid as error:
            for name, message in error.fields.items():
                getattr(form, name).errors.append(message)
        else:
            flash(f"Notice sent to {count} patient(s). It is in each one's inbox.", "success")
            return redirect(url_for("reminders.index"))
    return _admin_page(form, 422)


@bp.route("/admin/reminders/")
@admins_only
def index():
    """Whether reminders reach phones, the queue and alert waits as counts, a notice, and each kind's wording."""
    return _admin_page(MessageForm())


@bp.route("/admin/reminders/<rule>", methods=["GET", "POST"])
@admins_only
def edit(rule):
    wording = _wording(rule)
    form = WordingForm(obj=wording)
    if form.validate_on_submit():
        try:
            texts.save(rule, title=form.title.data, body=form.body.data, lead=form.lead.data, by=_me())
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


@bp.route("/admin/reminders/<rule>/restore", methods=["POST"])
@admins_only
def restore(rule):
    wording = _wording(rule)
    require_button()
    texts.restore(rule, by=_me())
    flash(f"Back to the default wording: {wording.label}.", "success")
    return redirect(url_for("reminders.index"))
