"""The clinic administrator's pages: accounts, clinic settings, the audit log of who did what to which account."""

import datetime as dt

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from peewee import JOIN

from .. import accounts
from .. import crisis
from .. import settings as clinic_settings
from ..access import admins_only
from ..access import get_object_or_404
from ..clinician import cohort
from ..forms import EmptyForm
from ..links import external_url
from ..models import ADMIN_VISIBLE
from ..models import AuditEvent
from ..models import CLINICIAN
from ..models import Invite
from ..models import PATIENT
from ..models import User
from ..pages import invite_from
from ..pages import render_cohort
from ..pages import require_button
from ..reminders import status as reminder_status
from .forms import AuditFilterForm
from .forms import InviteStaffForm
from .forms import settings_form
from .forms import WITH_CUTOFF

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE = 50


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/")
@admins_only
def index():
    return render_accounts(InviteStaffForm())


def render_accounts(form, status=200):
    """Render the accounts page: staff first, then patients, then pending staff invites."""
    users = list(User.select().order_by(User.name))
    pending = Invite.usable().where(Invite.role != PATIENT).order_by(Invite.expires_at)
    return render_template(
        "admin/index.html",
        staff=[u for u in users if u.is_staff],
        patients=[u for u in users if not u.is_staff],
        pending=list(pending),
        form=form,
        button=EmptyForm(),
        reminder_problems=reminder_status.problems(),
    ), status


@bp.route("/cohort")
@admins_only
def cohort_page():
    """The clinic's figures: whole calendar months only, no names, no count below five (README)."""
    return render_cohort(current_user._get_current_object(), cohort.months_from)


@bp.route("/invite", methods=["POST"])
@admins_only
def invite():
    form = InviteStaffForm()
    shown = form.validate_on_submit() and invite_from(
        form,
        form.role.data,
        by=_me(),
        taken="That email already has an account.",
        back_url=url_for("admin.index"),
        back_label="Back to accounts",
    )
    return shown or render_accounts(form, 422)


def _target(user_id: int) -> User:
    require_button()
    return get_object_or_404(User, User.id == user_id)


def _change(user_id: int, change, done: str):
    """Make one change to an account; say what happened, or why it could not be done."""
    user = _target(user_id)
    try:
        change(user, by=_me())
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        flash(done.format(name=user.name), "success")
    return redirect(url_for("admin.index"))


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@admins_only
def deactivate(user_id):
    return _change(user_id, accounts.deactivate, "{name} can no longer sign in. Their sessions have ended.")


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@admins_only
def reactivate(user_id):
    return _change(user_id, accounts.reactivate, "{name} can sign in again.")


@bp.route("/users/<int:user_id>/reset-two-step", methods=["POST"])
@admins_only
def reset_two_step(user_id):
    if not _target(user_id).is_staff:
        abort(404)
    return _change(
        user_id,
        accounts.reset_two_step,
        "{name} will set up two-step verification again at their next sign-in, and will be told you reset it.",
    )


@bp.route("/users/<int:user_id>/reset-link", methods=["POST"])
@admins_only
def reset_link(user_id):
    user = _target(user_id)
    token = accounts.issue_reset_link(user, by=_me())
    return render_template(
        "admin/reset_ready.html",
        user=user,
        link=external_url("auth.reset_link", token=token),
        minutes=current_app.config["RESET_MINUTES"],
    )


@bp.route("/settings", methods=["GET", "POST"])
@admins_only
def settings():
    clinicians = User.select().where(User.role == CLINICIAN, User.active == True).order_by(User.name)  # noqa: E712
    form = settings_form(clinicians=list(clinicians))
    if request.method == "GET":
        current = clinic_settings.current()
        form.clinic_timezone.data = current.timezone
        form.clinic_phone.data = current.phone
        form.crisis_lines.data = current.crisis_lines or crisis.DEFAULT_LINES
        form.retention_days.data = current.retention_days
        form.mood_tags.data = ", ".join(current.mood_tags)
        form.work_days.data = [str(d) for d in current.work_days]
        form.work_start.data, form.work_end.data = current.work_start, current.work_end
        form.escalate_minutes.data = current.escalate_minutes
        form.on_call.data = [str(c) for c in current.on_call]
        for spec, cutoff_field in zip(WITH_CUTOFF, form.cutoff_fields, strict=True):
            cutoff_field.data = int(clinic_settings.cutoff(spec))
    elif form.validate_on_submit():
        _, problems = crisis.parse(form.crisis_lines.data)
        if problems:
            form.crisis_lines.errors.extend(problems)
        else:
            clinic_settings.save(form.clinic_settings, by=_me())
            flash(
                "Clinic settings saved. Installed apps pick up the new crisis resources the next time they go online.",
                "success",
            )
            return redirect(url_for("admin.settings"))
    preview, _ = crisis.parse(form.crisis_lines.data or "")
    status = 422 if request.method == "POST" else 200
    return render_template("admin/settings.html", form=form, preview=preview), status


@bp.route("/audit")
@admins_only
def audit():
    """Who did what to which account, and who opened whose record; never clinical events (LOG-06)."""
    form = AuditFilterForm(request.args)
    query = (
        AuditEvent.select(AuditEvent, User)
        .join(User, JOIN.LEFT_OUTER, on=(AuditEvent.actor_id == User.id), attr="actor")
        .where(AuditEvent.action.in_(list(ADMIN_VISIBLE)))
    )
    if form.validate():
        if form.action.data:
            query = query.where(AuditEvent.action == form.action.data.strip())
        if form.actor.data:
            query = query.where(User.email == form.actor.data.strip().lower())
        if form.account.data:
            query = query.where(
                (AuditEvent.subject_id == form.account.data) | (AuditEvent.patient_id == form.account.data)
            )
        if form.since.data:
            query = query.where(AuditEvent.at >= dt.datetime.combine(form.since.data, dt.time.min))
        if form.until.data:
            query = query.where(
                AuditEvent.at < dt.datetime.combine(form.until.data, dt.time.min) + dt.timedelta(days=1)
            )
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    events = list(query.order_by(AuditEvent.id.desc()).paginate(page, AUDIT_PAGE + 1))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        form=form,
        events=events[:AUDIT_PAGE],
        page=page,
        has_next=len(events) > AUDIT_PAGE,
        labels=ADMIN_VISIBLE,
        args=args,
    )
