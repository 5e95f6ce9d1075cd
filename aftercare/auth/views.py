"""Signing in and out, two-step verification, joining by invite, resets, one's own account."""

import time

import pyotp
import segno
from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from peewee import IntegrityError
from werkzeug.exceptions import TooManyRequests

from .. import sessions
from ..access import public
from ..access import signed_in
from ..access import staff_only
from ..db import db
from ..extensions import login_manager
from ..models import ADMIN
from ..models import AuditEvent
from ..models import CareRelationship
from ..models import Invite
from ..models import LoginFailure
from ..models import normalize_email
from ..models import PasswordReset
from ..models import PATIENT
from ..models import RecoveryCode
from ..models import User
from ..models import utcnow
from ..models import WebSession
from ..passwords import hash_password
from ..passwords import needs_rehash
from ..passwords import password_problem
from ..passwords import verify_password
from .forms import ChangePasswordForm
from .forms import CodeForm
from .forms import EmptyForm
from .forms import EnrolTotpForm
from .forms import JoinCodeForm
from .forms import JoinForm
from .forms import LoginForm
from .forms import ResetForm
from .forms import SetupAdminForm

bp = Blueprint("auth", __name__)

PENDING_SECONDS = 300  # between the password and the second factor


def admin_exists() -> bool:
    return User.select().where(User.role == ADMIN).exists()


def home_for(user) -> str:
    return url_for("patient.home") if user.role == PATIENT else url_for(f"{user.role}.index")


def safe_next(default: str) -> str:
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def check_lockout(email: str) -> None:
    """Answer 429 with Retry-After while the account is locked (AUTH-03)."""
    config = current_app.config
    retry = LoginFailure.retry_after(email, config["LOCKOUT_FAILURES"], config["LOCKOUT_MINUTES"])
    if retry:
        error = TooManyRequests(
            "Too many attempts for this account. For your safety, sign-in is paused "
            f"for {max(1, retry // 60)} minute(s). Please try again then."
        )
        error.retry_after = retry
        raise error


def finish_login(user: User, remember_device: bool):
    """Start the user's session and send them on."""
    LoginFailure.clear(user.email)
    sessions.begin(session, user, remember_device)
    login_user(user)
    AuditEvent.record("sign_in", actor=user)
    return redirect(safe_next(home_for(user)))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if not admin_exists():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        check_lockout(email)
        user = User.by_email(email).first()
        if verify_password(user.password_hash if user else None, form.password.data) and user.active:
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
                user.save(only=[User.password_hash])
            if user.is_staff:
                session["pending_user"] = user.id
                session["pending_until"] = time.time() + PENDING_SECONDS
                if not user.totp_secret:
                    return redirect(url_for("auth.enrol", next=request.args.get("next")))
                return redirect(url_for("auth.verify", next=request.args.get("next")))
            return finish_login(user, form.remember_device.data)
        LoginFailure.create(account_key=LoginFailure.key_for(email))
        form.password.errors.append("That email and password do not match an active account.")
    return render_template("auth/login.html", form=form)


def pending_user() -> User:
    """Return the staff member half-way through signing in, or send them back to the start."""
    user_id, until = session.get("pending_user"), session.get("pending_until", 0)
    user = User.get_or_none(User.id == user_id) if user_id and until > time.time() else None
    if user is None or not user.active:
        session.pop("pending_user", None)
        abort(redirect(url_for("auth.login")))
    return user


@bp.route("/login/verify", methods=["GET", "POST"])
@public
def verify():
    user = pending_user()
    if not user.totp_secret:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        check_lockout(user.email)
        if user.accept_totp(form.code.data) or RecoveryCode.redeem(user, form.code.data):
            session.pop("pending_user", None)
            return finish_login(user, False)
        LoginFailure.create(account_key=LoginFailure.key_for(user.email))
        form.code.errors.append("That code did not work. Codes change every 30 seconds, and each works once.")
    return render_template("auth/verify.html", form=form)


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/login/two-step", methods=["GET", "POST"])
@public
def enrol():
    user = pending_user()
    if user.totp_secret:
        return redirect(url_for("auth.verify"))
    secret = session.get("enrol_secret") or pyotp.random_base32()
    session["enrol_secret"] = secret
    form = EnrolTotpForm()
    if form.validate_on_submit():
        if user.accept_totp(form.code.data, secret=secret):
            with db.atomic():
                User.update(totp_secret=secret).where(User.id == user.id).execute()
                codes = RecoveryCode.replace_for(user)
                AuditEvent.record("two_step_enrolled", actor=user)
            session.pop("enrol_secret", None)
            session.pop("pending_user", None)
            finish_login(user, False)
            return render_template("auth/recovery_codes.html", codes=codes, next=safe_next(home_for(user)))
        form.code.errors.append("That code did not match. Check the time on your phone and try the newest code.")
    issuer = current_app.config["CLINIC_NAME"]
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    return render_template("auth/enrol.html", form=form, secret=secret, qr=qr_data_uri(uri))


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if EmptyForm().validate_on_submit() and current_user.is_authenticated:
        AuditEvent.record("sign_out", actor=current_user._get_current_object())
        logout_user()
        sessions.end(session)
        flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    """Create the clinic's first administrator, once (AUTH-08)."""
    if admin_exists():
        abort(404)
    form = SetupAdminForm()
    if form.validate_on_submit():
        problem = password_problem(form.password.data, email=form.email.data, name=form.name.data)
        if problem:
            form.password.errors.append(problem)
        else:
            try:
                with db.atomic():
                    if admin_exists():
                        abort(404)
                    user = User.create(
                        email=normalize_email(form.email.data),
                        name=form.name.data.strip(),
                        role=ADMIN,
                        password_hash=hash_password(form.password.data),
                    )
                    AuditEvent.record("admin_created", actor=user, detail="first run")
            except IntegrityError:
                form.email.errors.append("That email already has an account.")
            else:
                flash("The administrator account is ready. Sign in to set up two-step verification.", "success")
                return redirect(url_for("auth.login"))
    return render_template("auth/setup.html", form=form)


@bp.route("/join", methods=["GET", "POST"])
@public
def join():
    form = JoinCodeForm()
    if form.validate_on_submit():
        invite = Invite.find(code=form.code.data)
        if invite is not None:
            session["invite_id"] = invite.id
            return redirect(url_for("auth.accept"))
        form.code.errors.append(
            "That code is not valid. It may have expired or been used already; ask your clinic for a new one."
        )
    return render_template("auth/join.html", form=form)


@bp.route("/join/<token>")
@public
def join_link(token):
    invite = Invite.find(token=token)
    if invite is None:
        return render_template("auth/link_invalid.html", what="invite"), 404
    # Keep the token out of the address bar, history and Referer from here on.
    session["invite_id"] = invite.id
    return redirect(url_for("auth.accept"))


def session_invite() -> Invite:
    invite = Invite.usable().where(Invite.id == session.get("invite_id", 0)).first()
    if invite is None:
        session.pop("invite_id", None)
        abort(redirect(url_for("auth.join")))
    return invite


@bp.route("/join/accept", methods=["GET", "POST"])
@public
def accept():
    invite = session_invite()
    form = JoinForm()
    if form.validate_on_submit():
        problem = password_problem(form.password.data, email=invite.email, name=invite.name)
        if problem:
            form.password.errors.append(problem)
        elif invite.role == PATIENT and not form.consent.data:
            form.consent.errors.append("Please read the notice above and tick the box to continue.")
        else:
            user = create_invited_user(invite, form)
            if user is None:
                flash("This invite has just been used or has expired. Ask your clinic for a new one.", "error")
                return redirect(url_for("auth.join"))
            session.pop("invite_id", None)
            if user.role == PATIENT:
                response = finish_login(user, form.remember_device.data)
                flash("Welcome. Your account is ready.", "success")  # after the fresh session begins
                return response
            flash("Your account is ready. Sign in to set up two-step verification.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/accept.html", form=form, invite=invite)


def create_invited_user(invite: Invite, form: JoinForm) -> User | None:
    """Use up the invite and create its account in one transaction, or return None."""
    try:
        with db.atomic():
            claimed = (
                Invite.update(used_at=utcnow())
                .where(Invite.id == invite.id, Invite.used_at.is_null(), Invite.expires_at > utcnow())
                .execute()
            )
            if not claimed:
                return None
            user = User.create(
                email=invite.email,
                name=invite.name,
                role=invite.role,
                password_hash=hash_password(form.password.data),
                timezone=form.timezone.data,
                quiet_start=form.quiet_start.data,
                quiet_end=form.quiet_end.data,
                consented_at=utcnow() if invite.role == PATIENT else None,
            )
            if invite.role == PATIENT:
                CareRelationship.create(patient=user, clinician=invite.invited_by)
            AuditEvent.record(
                "account_created",
                actor=user,
                patient=user if user.role == PATIENT else None,
                detail=f"invite {invite.id}",
            )
            return user
    except IntegrityError:
        return None


def show_invite(invite: Invite, token: str, code: str, *, back_url: str, back_label: str):
    """Show a new invite's link and code, the only time they can be shown."""
    link = url_for("auth.join_link", token=token, _external=True)
    return render_template(
        "_partials/invite_ready.html",
        invite=invite,
        link=link,
        code=code,
        back_url=back_url,
        back_label=back_label,
    )


@bp.route("/reset/<token>")
@public
def reset_link(token):
    reset = PasswordReset.find(token)
    if reset is None:
        return render_template("auth/link_invalid.html", what="reset"), 404
    session["reset_token"] = token
    return redirect(url_for("auth.reset"))


@bp.route("/reset", methods=["GET", "POST"])
@public
def reset():
    token = session.get("reset_token", "")
    found = PasswordReset.find(token) if token else None
    if found is None:
        return render_template("auth/link_invalid.html", what="reset"), 404
    user = found.user
    form = ResetForm()
    if form.validate_on_submit():
        problem = password_problem(form.password.data, email=user.email, name=user.name)
        if problem:
            form.password.errors.append(problem)
        else:
            with db.atomic():
                used = (
                    PasswordReset.update(used_at=utcnow())
                    .where(PasswordReset.id == found.id, PasswordReset.used_at.is_null())
                    .execute()
                )
                if used:
                    User.update(password_hash=hash_password(form.password.data)).where(User.id == user.id).execute()
                    sessions.revoke_others(user)
                    LoginFailure.clear(user.email)
                    AuditEvent.record("password_reset", actor=user)
            session.pop("reset_token", None)
            flash("Your password is changed and every other session is signed out. Please sign in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=user)


@bp.route("/account")
@signed_in
def account():
    rows = (
        WebSession.select()
        .where(WebSession.user == current_user.id, WebSession.expires_at > utcnow())
        .order_by(WebSession.last_seen.desc())
    )
    active = [row for row in rows if not row.expired(utcnow())]
    return render_template(
        "auth/account.html",
        sessions=active,
        current_id=sessions.current_id(session),
        form=ChangePasswordForm(),
        button=EmptyForm(),
    )


@bp.route("/account/password", methods=["POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append("That is not your current password.")
        elif problem := password_problem(form.password.data, email=user.email, name=user.name):
            form.password.errors.append(problem)
        else:
            with db.atomic():
                User.update(password_hash=hash_password(form.password.data)).where(User.id == user.id).execute()
                ended = sessions.revoke_others(user, session)
                AuditEvent.record("password_changed", actor=user)
            flash(f"Your password is changed. {ended} other session(s) were signed out.", "success")
            return redirect(url_for("auth.account"))
    rows = WebSession.select().where(WebSession.user == user.id).order_by(WebSession.last_seen.desc())
    return render_template(
        "auth/account.html",
        sessions=[r for r in rows if not r.expired(utcnow())],
        current_id=sessions.current_id(session),
        form=form,
        button=EmptyForm(),
    ), 422


@bp.route("/account/sessions/<sid>/end", methods=["POST"])
@signed_in
def end_session(sid):
    if not EmptyForm().validate_on_submit():
        abort(400)
    deleted = WebSession.delete().where(WebSession.id == sid, WebSession.user == current_user.id).execute()
    if not deleted:
        abort(404)
    if sid == sessions.current_id(session):
        logout_user()
        sessions.end(session)
        return redirect(url_for("auth.login"))
    flash("That session is signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@signed_in
def end_other_sessions():
    if not EmptyForm().validate_on_submit():
        abort(400)
    ended = sessions.revoke_others(current_user._get_current_object(), session)
    flash(f"{ended} other session(s) signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/recovery-codes", methods=["POST"])
@staff_only
def new_recovery_codes():
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    with db.atomic():
        codes = RecoveryCode.replace_for(user)
        AuditEvent.record("recovery_codes_replaced", actor=user)
    return render_template("auth/recovery_codes.html", codes=codes, next=url_for("auth.account"))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return User.get_or_none(User.id == int(user_id), User.active == True)  # noqa: E712
