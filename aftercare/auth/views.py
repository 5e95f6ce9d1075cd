"""Signing in and out, two-step verification, joining by invite, resets, one's own account and its activity."""

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

from .. import accounts
from .. import websessions
from ..access import home_for
from ..access import public
from ..access import signed_in
from ..access import staff_only
from ..extensions import login_manager
from ..forms import EmptyForm
from ..inputs import safe_path
from ..models import ACCOUNT_ACTIONS
from ..models import CLINICIAN
from ..models import Invite
from ..models import PasswordReset
from ..models import PATIENT
from ..models import User
from ..pages import require_button
from ..push import devices
from .forms import ChangePasswordForm
from .forms import CodeForm
from .forms import EnrolTotpForm
from .forms import JoinCodeForm
from .forms import JoinForm
from .forms import LoginForm
from .forms import ResetForm
from .forms import SetupAdminForm

bp = Blueprint("auth", __name__)

PENDING_SECONDS = 300  # between the password and the second factor
NOTICES = "auth.notices"
# Pages a person with an unread security notice may still open: the notice itself, signing out,
# help in a crisis, and what the installed app needs to keep working.
NOTICE_EXEMPT = {NOTICES, "auth.dismiss_notices", "auth.logout", "pwa.crisis_page", "pwa.offline", "static"}


def _next(default: str) -> str:
    return safe_path(request.args.get("next"), default)


def _landing(user: User) -> str:
    """Where a user goes once signed in: their security notices first, then where they were headed."""
    target = _next(home_for(user))
    if session.get("notices_pending"):
        return url_for(NOTICES, next=target)
    return target


def _signed_in(user: User, remember_device: bool = False):
    accounts.sign_in(session, user, remember_device)
    return redirect(_landing(user))


@bp.before_app_request
def notices_first():
    """Until its owner has read a security notice, every page leads to it (AUTH-10); the JSON API is left alone."""
    if not session.get("notices_pending") or request.endpoint in NOTICE_EXEMPT:
        return None
    if request.endpoint is None or request.path.startswith("/api/") or request.endpoint.startswith("pwa."):
        return None
    if not current_user.is_authenticated:
        return None
    return redirect(url_for(NOTICES, next=safe_path(request.full_path.rstrip("?"), home_for(current_user))))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if not accounts.admin_exists():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("That email and password do not match an active account.")
        elif user.is_staff:
            session["pending_user"] = user.id
            session["pending_until"] = time.time() + PENDING_SECONDS
            step = "auth.verify" if user.totp_secret else "auth.enrol"
            return redirect(url_for(step, next=_next("") or None))
        else:
            return _signed_in(user, form.remember_device.data)
    return render_template("auth/login.html", form=form)


def _remembered(key: str, load, start: str):
    """Return what the session remembers under `key`, as `load` finds it, or forget it and go back to `start`."""
    found = load(session.get(key)) if session.get(key) else None
    if found is None:
        session.pop(key, None)
        abort(redirect(url_for(start)))
    return found


def _pending(user_id) -> User | None:
    if session.get("pending_until", 0) <= time.time():
        return None
    return User.get_or_none(User.id == user_id, User.active == True, User.closed_at.is_null())  # noqa: E712


def pending_user() -> User:
    """Return the staff member half-way through signing in, or send them back to the start."""
    return _remembered("pending_user", _pending, "auth.login")


@bp.route("/login/verify", methods=["GET", "POST"])
@public
def verify():
    user = pending_user()
    if not user.totp_secret:
        return redirect(url_for("auth.enrol", next=_next("") or None))
    form = CodeForm()
    if form.validate_on_submit():
        if accounts.check_second_factor(user, form.code.data):
            session.pop("pending_user", None)
            return _signed_in(user)
        form.code.errors.append("That code did not work. Codes change every 30 seconds, and each works once.")
    return render_template("auth/verify.html", form=form)


def qr_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/login/two-step", methods=["GET", "POST"])
@public
def enrol():
    user = pending_user()
    if user.totp_secret:
        return redirect(url_for("auth.verify", next=_next("") or None))
    secret = session.get("enrol_secret") or pyotp.random_base32()
    session["enrol_secret"] = secret
    form = EnrolTotpForm()
    if form.validate_on_submit():
        if user.accept_totp(form.code.data, secret=secret):
            codes = accounts.enrol_two_step(user, secret)
            session.pop("enrol_secret", None)
            session.pop("pending_user", None)
            accounts.sign_in(session, user)
            return render_template("auth/recovery_codes.html", codes=codes, next=_landing(user))
        form.code.errors.append("That code did not match. Check the time on your phone and try the newest code.")
    issuer = current_app.config["CLINIC_NAME"]
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    return render_template("auth/enrol.html", form=form, secret=secret, qr=qr_data_uri(uri))


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if EmptyForm().validate_on_submit() and current_user.is_authenticated:
        # "Also stop reminders on this device" (More): the page put this browser's push endpoint here.
        endpoint = request.form.get("push_endpoint") if request.form.get("stop_reminders") else None
        accounts.sign_out(session, current_user._get_current_object(), stop_reminders_to=endpoint)
        flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup():
    """Create the clinic's first administrator, once (AUTH-08)."""
    if accounts.admin_exists():
        abort(404)
    form = SetupAdminForm()
    if form.validate_on_submit():
        problem = accounts.weak_password(form.password.data, email=form.email.data, name=form.name.data)
        if problem:
            form.password.errors.append(problem)
        else:
            try:
                accounts.create_first_admin(
                    name=form.name.data, email=form.email.data, password=form.password.data, detail="first run"
                )
            except accounts.AccountError as error:
                if not accounts.admin_exists():
                    form.email.errors.append(str(error))
                else:
                    abort(404)
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
    """Return the invite being accepted, or send the person back to enter a code."""
    return _remembered(
        "invite_id", lambda invite_id: Invite.usable().where(Invite.id == invite_id).first(), "auth.join"
    )


@bp.route("/join/accept", methods=["GET", "POST"])
@public
def accept():
    invite = session_invite()
    form = JoinForm()
    if form.validate_on_submit():
        problem = accounts.weak_password(form.password.data, email=invite.email, name=invite.name)
        if problem:
            form.password.errors.append(problem)
        elif invite.role == PATIENT and not form.consent.data:
            form.consent.errors.append("Please read the notice above and tick the box to continue.")
        else:
            user = accounts.join(
                invite,
                password=form.password.data,
                timezone=form.timezone.data,
                quiet_start=form.quiet_start.data,
                quiet_end=form.quiet_end.data,
            )
            if user is None:
                flash("This invite has just been used or has expired. Ask your clinic for a new one.", "error")
                return redirect(url_for("auth.join"))
            session.pop("invite_id", None)
            if user.role == PATIENT:
                response = _signed_in(user, form.remember_device.data)
                flash("Welcome. Your account is ready.", "success")  # after the fresh session begins
                return response
            flash("Your account is ready. Sign in to set up two-step verification.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/accept.html", form=form, invite=invite)


@bp.route("/reset/<token>")
@public
def reset_link(token):
    reset = PasswordReset.find(token)
    if reset is None:
        return render_template("auth/link_invalid.html", what="reset"), 404
    # The session keeps which reset this is, never the token: a copy of the session row is no key (AUTH-07).
    session["reset_id"] = reset.id
    return redirect(url_for("auth.reset"))


@bp.route("/reset", methods=["GET", "POST"])
@public
def reset():
    found = PasswordReset.usable().where(PasswordReset.id == session.get("reset_id", 0)).first()
    if found is None:
        return render_template("auth/link_invalid.html", what="reset"), 404
    user = found.user
    form = ResetForm()
    if form.validate_on_submit():
        problem = accounts.weak_password(form.password.data, email=user.email, name=user.name)
        if problem:
            form.password.errors.append(problem)
        else:
            accounts.reset_password(found, form.password.data)
            session.pop("reset_id", None)
            flash("Your password is changed and every other session is signed out. Please sign in.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, user=user)


def _account_page(form: ChangePasswordForm, status: int = 200):
    me = current_user._get_current_object()
    overview = accounts.overview(me, websessions.current_id(session))
    # Clinicians may hear of a new safety alert on their own devices (CLIN-03).
    push = devices.panel(me) if me.role == CLINICIAN else {}
    return render_template(
        "auth/account.html", form=form, button=EmptyForm(), labels=ACCOUNT_ACTIONS, **overview, **push
    ), status


@bp.route("/account")
@signed_in
def account():
    return _account_page(ChangePasswordForm())


@bp.route("/account/password", methods=["POST"])
@signed_in
def change_password():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not accounts.check_password(user, form.current.data):
            form.current.errors.append("That is not your current password.")
        elif problem := accounts.weak_password(form.password.data, email=user.email, name=user.name):
            form.password.errors.append(problem)
        else:
            ended = accounts.change_password(user, session, form.password.data)
            flash(f"Your password is changed. {ended} other session(s) were signed out.", "success")
            return redirect(url_for("auth.account"))
    return _account_page(form, 422)


@bp.route("/account/sessions/<sid>/end", methods=["POST"])
@signed_in
def end_session(sid):
    require_button()
    me = current_user._get_current_object()
    current = sid == websessions.current_id(session)
    if not accounts.end_session(me, sid[:64]):
        abort(404)
    if current:
        accounts.sign_out(session, me)
        return redirect(url_for("auth.login"))
    flash("That session is signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@signed_in
def end_other_sessions():
    require_button()
    ended = accounts.end_other_sessions(current_user._get_current_object(), session)
    flash(f"{ended} other session(s) signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/recovery-codes", methods=["POST"])
@staff_only
def new_recovery_codes():
    require_button()
    codes = accounts.replace_recovery_codes(current_user._get_current_object())
    return render_template("auth/recovery_codes.html", codes=codes, next=url_for("auth.account"))


@bp.route("/account/notices")
@signed_in
def notices():
    """What someone else did to this account, shown before anything else until acknowledged (AUTH-10)."""
    me = current_user._get_current_object()
    shown = accounts.show_notices(me)
    if not shown:
        session.pop("notices_pending", None)
        return redirect(_next(home_for(me)))
    return render_template("auth/notices.html", notices=shown, button=EmptyForm(), next=_next(home_for(me)))


@bp.route("/account/notices/dismiss", methods=["POST"])
@signed_in
def dismiss_notices():
    require_button()
    me = current_user._get_current_object()
    try:
        accounts.acknowledge_notices(me)
    except accounts.AccountError as error:
        abort(409, str(error))
    session.pop("notices_pending", None)
    return redirect(_next(home_for(me)))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    preloaded = getattr(session, "user", None)  # read with the session, in the same statement
    if preloaded is not None and str(preloaded.id) == user_id:
        return preloaded if preloaded.active else None
    return User.get_or_none(User.id == int(user_id), User.active == True)  # noqa: E712
