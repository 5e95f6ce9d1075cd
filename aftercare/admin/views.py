"""The clinic administrator's pages: accounts, clinic settings, the audit log."""

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

from .. import crisis
from .. import schedule
from .. import sessions
from ..access import admins_only
from ..auth.forms import EmptyForm
from ..auth.views import show_invite
from ..db import db
from ..models import ADMIN
from ..models import AuditEvent
from ..models import ClinicSetting
from ..models import Invite
from ..models import PasswordReset
from ..models import PATIENT
from ..models import RecoveryCode
from ..models import User
from .forms import AuditFilterForm
from .forms import InviteStaffForm
from .forms import settings_form

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE = 50


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
    ), status


@bp.route("/invite", methods=["POST"])
@admins_only
def invite():
    form = InviteStaffForm()
    me = current_user._get_current_object()
    if form.validate_on_submit():
        if User.by_email(form.email.data).exists():
            form.email.errors.append("That email already has an account.")
        else:
            invite, token, code = Invite.issue(
                role=form.role.data,
                email=form.email.data,
                name=form.name.data,
                invited_by=me,
                days=current_app.config["INVITE_DAYS"],
            )
            return show_invite(invite, token, code, back_url=url_for("admin.index"), back_label="Back to accounts")
    return render_accounts(form, 422)


def _target(user_id: int) -> User:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = User.get_or_none(User.id == user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@admins_only
def deactivate(user_id):
    user = _target(user_id)
    me = current_user._get_current_object()
    if user.id == me.id:
        flash("You cannot deactivate your own account.", "error")
        return redirect(url_for("admin.index"))
    if user.role == ADMIN and User.select().where(User.role == ADMIN, User.active == True).count() <= 1:  # noqa: E712
        flash("The clinic needs at least one active administrator.", "error")
        return redirect(url_for("admin.index"))
    with db.atomic():
        User.update(active=False).where(User.id == user.id).execute()
        sessions.revoke_others(user)  # SESS-05: every session of a disabled account ends
        AuditEvent.record("account_deactivated", actor=me, detail=f"user {user.id}")
    flash(f"{user.name} can no longer sign in. Their sessions have ended.", "success")
    return redirect(url_for("admin.index"))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@admins_only
def reactivate(user_id):
    user = _target(user_id)
    if user.closed_at is not None:
        flash(
            f"{user.name} closed their own account; it cannot be reopened. Invite them again after it is deleted.",
            "error",
        )
        return redirect(url_for("admin.index"))
    with db.atomic():
        User.update(active=True).where(User.id == user.id).execute()
        AuditEvent.record("account_reactivated", actor=current_user._get_current_object(), detail=f"user {user.id}")
    flash(f"{user.name} can sign in again.", "success")
    return redirect(url_for("admin.index"))


@bp.route("/users/<int:user_id>/reset-link", methods=["POST"])
@admins_only
def reset_link(user_id):
    user = _target(user_id)
    minutes = current_app.config["RESET_MINUTES"]
    with db.atomic():
        _, token = PasswordReset.issue(user, current_user._get_current_object(), minutes)
        AuditEvent.record("reset_link_issued", actor=current_user._get_current_object(), detail=f"user {user.id}")
    link = url_for("auth.reset_link", token=token, _external=True)
    return render_template("admin/reset_ready.html", user=user, link=link, minutes=minutes)


@bp.route("/users/<int:user_id>/reset-two-step", methods=["POST"])
@admins_only
def reset_two_step(user_id):
    user = _target(user_id)
    if not user.is_staff:
        abort(404)
    with db.atomic():
        User.update(totp_secret=None, totp_last_counter=0).where(User.id == user.id).execute()
        RecoveryCode.delete().where(RecoveryCode.user == user).execute()
        sessions.revoke_others(user)
        AuditEvent.record("two_step_reset", actor=current_user._get_current_object(), detail=f"user {user.id}")
    flash(f"{user.name} will set up two-step verification again at their next sign-in.", "success")
    return redirect(url_for("admin.index"))


@bp.route("/settings", methods=["GET", "POST"])
@admins_only
def settings():
    form = settings_form()
    if request.method == "GET":
        form.clinic_timezone.data = schedule.clinic_zone()
        form.clinic_phone.data = ClinicSetting.get_value("clinic_phone")
        form.crisis_lines.data = ClinicSetting.get_value("crisis_lines", crisis.DEFAULT_LINES)
        form.retention_days.data = int(ClinicSetting.get_value("retention_days", "30"))
        form.mood_tags.data = ClinicSetting.get_value("mood_tags")
    elif form.validate_on_submit():
        _, problems = crisis.parse(form.crisis_lines.data)
        if problems:
            form.crisis_lines.errors.extend(problems)
        else:
            with db.atomic():
                ClinicSetting.set_value("clinic_timezone", form.clinic_timezone.data)
                ClinicSetting.set_value("clinic_phone", (form.clinic_phone.data or "").strip())
                ClinicSetting.set_value("crisis_lines", form.crisis_lines.data.strip())
                ClinicSetting.set_value("retention_days", str(form.retention_days.data))
                tags = [t.strip().lower()[:32] for t in (form.mood_tags.data or "").split(",") if t.strip()]
                ClinicSetting.set_value("mood_tags", ", ".join(dict.fromkeys(tags)))
                AuditEvent.record("settings_changed", actor=current_user._get_current_object())
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
    form = AuditFilterForm(request.args)
    query = AuditEvent.select(AuditEvent, User).join(
        User, JOIN.LEFT_OUTER, on=(AuditEvent.actor_id == User.id), attr="actor"
    )
    if form.validate():
        if form.action.data:
            query = query.where(AuditEvent.action == form.action.data.strip())
        if form.actor.data:
            query = query.where(User.email == form.actor.data.strip().lower())
        if form.patient.data:
            query = query.where(AuditEvent.patient_id == form.patient.data)
        if form.since.data:
            query = query.where(AuditEvent.at >= dt.datetime.combine(form.since.data, dt.time.min))
        if form.until.data:
            query = query.where(
                AuditEvent.at < dt.datetime.combine(form.until.data, dt.time.min) + dt.timedelta(days=1)
            )
    page = max(1, request.args.get("page", 1, type=int) or 1)
    events = list(query.order_by(AuditEvent.id.desc()).paginate(page, AUDIT_PAGE + 1))
    has_next = len(events) > AUDIT_PAGE
    actions = [row.action for row in AuditEvent.select(AuditEvent.action).distinct().order_by(AuditEvent.action)]
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "admin/audit.html",
        form=form,
        events=events[:AUDIT_PAGE],
        page=page,
        has_next=has_next,
        actions=actions,
        args=args,
    )
