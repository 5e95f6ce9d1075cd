"""Accounts: signing in and out, second factors, joining, resets, care teams, and what an owner must be told.

Every change to an account is one transaction with its audit row (DUR-03). Every guess at a
password or a code is counted before it is checked, wherever it is typed (AUTH-03/11). What
someone else does to an account (an administrator's reset) leaves a notice its owner must see
(AUTH-10).
"""

import datetime as dt

from flask import current_app
from flask_login import login_user
from flask_login import logout_user
from peewee import IntegrityError
from werkzeug.exceptions import TooManyRequests

from . import websessions
from .db import db
from .models import ADMIN
from .models import AuditEvent
from .models import CareRelationship
from .models import Invite
from .models import LoginThrottle
from .models import normalize_email
from .models import PasswordReset
from .models import PATIENT
from .models import RecoveryCode
from .models import SECURITY_ACTIONS
from .models import SecurityNotice
from .models import User
from .models import utcnow
from .models import WebSession
from .passwords import hash_password
from .passwords import needs_rehash
from .passwords import password_problem
from .passwords import verify_password
from .push import devices
from .reminders import planner

ACTIVITY_LIMIT = 50


class AccountError(ValueError):
    """A change that cannot be made; the message is for the person who asked."""


def weak_password(password: str, *, email: str = "", name: str = "") -> str | None:
    """Return why a new password will not do (AUTH-01/02), counting the clinic's own name as a context word."""
    return password_problem(password, email=email, name=name, clinic=current_app.config["CLINIC_NAME"])


# --------------------------------------------------------------------------- guesses (AUTH-03/11)


def count_guess(email: str) -> None:
    """Count one guess at this account's password or code; answer 429 once the limit is passed.

    Counted before the guess is checked, in one statement, so that parallel requests on any number
    of workers see each other's guesses and at most the limit of them is ever checked.
    """
    config = current_app.config
    window = dt.timedelta(minutes=config["LOCKOUT_MINUTES"])
    attempts, started = LoginThrottle.count(email, window)
    if attempts > config["LOCKOUT_FAILURES"]:
        retry = max(1, int((started + window - utcnow()).total_seconds()) + 1)
        error = TooManyRequests(
            "Too many attempts for this account. For your safety, sign-in is paused "
            f"for {max(1, (retry + 59) // 60)} minute(s). Please try again then."
        )
        error.retry_after = retry
        raise error


def authenticate(email: str, password: str) -> User | None:
    """Return the active account for an email and password, or None; every try counts toward the lockout."""
    email = normalize_email(email)
    count_guess(email)
    user = User.by_email(email).first()
    if not verify_password(user.password_hash if user else None, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    return user


def check_password(user: User, password: str) -> bool:
    """Check an account's own password (changing it, closing the account); it counts as a guess."""
    count_guess(user.email)
    return verify_password(user.password_hash, password)


def check_second_factor(user: User, code: str) -> bool:
    """Check a TOTP or recovery code; it counts as a guess at the same account."""
    count_guess(user.email)
    return user.accept_totp(code) or RecoveryCode.redeem(user, code)


# --------------------------------------------------------------------------- signing in and out


def sign_in(session, user: User, remember_device: bool = False) -> None:
    """Start a fresh session for someone who just proved who they are."""
    LoginThrottle.clear(user.email)
    websessions.begin(session, user, remember_device)
    login_user(user)
    # Notices can only arise while every session of the account is revoked (a reset ends them),
    # so a flag set here is enough: no request needs a query to learn of them (AUTH-10).
    if SecurityNotice.pending(user).exists():
        session["notices_pending"] = True
    AuditEvent.record("sign_in", actor=user, subject=user)


def sign_out(session, user: User, *, stop_reminders_to: str | None = None) -> None:
    """Sign out on this device; with the endpoint of this browser's push subscription, it stops getting reminders."""
    if stop_reminders_to:
        devices.forget(user, stop_reminders_to)
    AuditEvent.record("sign_out", actor=user, subject=user)
    logout_user()
    websessions.end(session)


def enrol_two_step(user: User, secret: str) -> list[str]:
    """Turn on the second factor with a new secret; return the recovery codes (shown once)."""
    with db.atomic():
        User.update(totp_secret=secret).where(User.id == user.id).execute()
        codes = RecoveryCode.replace_for(user)
        AuditEvent.record("two_step_enrolled", actor=user, subject=user)
    return codes


def replace_recovery_codes(user: User) -> list[str]:
    with db.atomic():
        codes = RecoveryCode.replace_for(user)
        AuditEvent.record("recovery_codes_replaced", actor=user, subject=user)
    return codes


def end_session(user: User, session_id: str) -> bool:
    """Sign out one of the user's devices; False if it is not theirs (or already gone)."""
    with db.atomic():
        ended = WebSession.delete().where(WebSession.id == session_id, WebSession.user == user.id).execute()
        if ended:
            AuditEvent.record("session_ended", actor=user, subject=user)
    return bool(ended)


def end_other_sessions(user: User, session) -> int:
    with db.atomic():
        ended = websessions.revoke_others(user, session)
        AuditEvent.record("other_sessions_ended", actor=user, subject=user, detail=f"{ended} session(s)")
    return ended


def active_sessions(user: User) -> list[WebSession]:
    rows = (
        WebSession.select()
        .where(WebSession.user == user.id, WebSession.expires_at > utcnow())
        .order_by(WebSession.last_seen.desc())
    )
    now = utcnow()
    return [row for row in rows if not row.expired(now)]


# --------------------------------------------------------------------------- creating accounts


def admin_exists() -> bool:
    return User.select().where(User.role == ADMIN).exists()


def create_first_admin(*, name: str, email: str, password: str, detail: str) -> User:
    """Create the clinic's first administrator (AUTH-08); refuse once one exists or the email is taken."""
    try:
        with db.atomic():
            if admin_exists():
                raise AccountError("An administrator already exists.")
            user = User.create(
                email=normalize_email(email), name=name.strip(), role=ADMIN, password_hash=hash_password(password)
            )
            AuditEvent.record("admin_created", actor=user, subject=user, detail=detail)
    except IntegrityError:
        raise AccountError("That email already has an account.") from None
    return user


def join(invite: Invite, *, password: str, timezone: str, quiet_start: str, quiet_end: str) -> User | None:
    """Use up the invite and create its account in one transaction; None if it was used or expired meanwhile."""
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
                password_hash=hash_password(password),
                timezone=timezone,
                quiet_start=quiet_start,
                quiet_end=quiet_end,
                consented_at=utcnow() if invite.role == PATIENT else None,
            )
            if invite.role == PATIENT:
                CareRelationship.create(patient=user, clinician=invite.invited_by)
                planner.plan(user)  # the first questionnaires
            AuditEvent.record(
                "account_created",
                actor=user,
                patient=user if user.role == PATIENT else None,
                subject=user,
                detail=f"invite {invite.id}",
            )
            return user
    except IntegrityError:
        return None


def revoke_invite(invite_id: int, *, by: User) -> bool:
    """Cancel one of the user's own unused invites; False if there is no such invite."""
    with db.atomic():
        revoked = (
            Invite.update(expires_at=utcnow())
            .where(Invite.id == invite_id, Invite.invited_by == by, Invite.used_at.is_null())
            .execute()
        )
        if revoked:
            AuditEvent.record("invite_revoked", actor=by, detail=f"invite {invite_id}")
    return bool(revoked)


# --------------------------------------------------------------------------- passwords


def change_password(user: User, session, password: str) -> int:
    """Set a new password the owner chose; end their other sessions; return how many ended (SESS-05)."""
    with db.atomic():
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
        ended = websessions.revoke_others(user, session)
        AuditEvent.record("password_changed", actor=user, subject=user)
    return ended


def issue_reset_link(user: User, *, by: User) -> str:
    """Create a single-use reset for an account (AUTH-07); return its token, to be shown once."""
    with db.atomic():
        _, token = PasswordReset.issue(user, by, current_app.config["RESET_MINUTES"])
        AuditEvent.record("reset_link_issued", actor=by, subject=user, detail=f"user {user.id}")
    return token


def reset_password(reset: PasswordReset, password: str) -> bool:
    """Use a reset to set a password: every session ends, and if someone else issued it, the owner is told."""
    user = reset.user
    with db.atomic():
        used = (
            PasswordReset.update(used_at=utcnow())
            .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_null())
            .execute()
        )
        if not used:
            return False
        User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
        websessions.revoke_others(user)
        LoginThrottle.clear(user.email)
        AuditEvent.record("password_reset", actor=user, subject=user)
        issuer = reset.created_by
        if issuer is not None and issuer.id != user.id:
            SecurityNotice.create(user=user, kind="password_reset", by_name=issuer.name, by_role=issuer.role)
    return True


# --------------------------------------------------------------------------- what an administrator does


def deactivate(user: User, *, by: User) -> None:
    if user.id == by.id:
        raise AccountError("You cannot deactivate your own account.")
    with db.atomic():
        active_admins = User.select().where(User.role == ADMIN, User.active == True).count()  # noqa: E712
        if user.role == ADMIN and user.active and active_admins <= 1:
            raise AccountError("The clinic needs at least one active administrator.")
        User.update(active=False).where(User.id == user.id).execute()
        websessions.revoke_others(user)  # SESS-05: every session of a disabled account ends
        planner.cancel_all(user)
        AuditEvent.record("account_deactivated", actor=by, subject=user, detail=f"user {user.id}")


def reactivate(user: User, *, by: User) -> None:
    if user.closed_at is not None:
        raise AccountError(
            f"{user.name} closed their own account; it cannot be reopened. Invite them again after it is deleted."
        )
    with db.atomic():
        User.update(active=True).where(User.id == user.id).execute()
        planner.plan(User.get_by_id(user.id))
        AuditEvent.record("account_reactivated", actor=by, subject=user, detail=f"user {user.id}")


def reset_two_step(user: User, *, by: User) -> None:
    """Make a staff member set up their second factor again; they are told at their next sign-in."""
    if not user.is_staff:
        raise AccountError("Only staff accounts use two-step verification.")
    with db.atomic():
        User.update(totp_secret=None, totp_last_counter=0).where(User.id == user.id).execute()
        RecoveryCode.delete().where(RecoveryCode.user == user).execute()
        websessions.revoke_others(user)
        if by.id != user.id:
            SecurityNotice.create(user=user, kind="two_step_reset", by_name=by.name, by_role=by.role)
        AuditEvent.record("two_step_reset", actor=by, subject=user, detail=f"user {user.id}")


def add_to_care_team(patient: User, colleague: User, *, by: User) -> None:
    with db.atomic():
        link, created = CareRelationship.get_or_create(patient=patient, clinician=colleague)
        if not created:
            CareRelationship.update(active=True, ended_at=None).where(CareRelationship.id == link.id).execute()
        AuditEvent.record(
            "care_team_added", actor=by, patient=patient, subject=colleague, detail=f"user {colleague.id}"
        )


def update_time_settings(
    user: User,
    *,
    timezone: str,
    quiet_start: str,
    quiet_end: str,
    mood_nudge_at: str | None = None,
    reminders_off: str | None = None,
) -> None:
    """Change the patient's zone, quiet hours, daily nudge and kinds of reminder turned off; their reminders are
    re-planned in the same transaction."""
    changes = {
        "timezone": timezone,
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
        "mood_nudge_at": mood_nudge_at or None,
    }
    if reminders_off is not None:
        changes["reminders_off"] = reminders_off
    with db.atomic():
        User.update(**changes).where(User.id == user.id).execute()
        AuditEvent.record("time_settings_changed", actor=user, patient=user, subject=user)
        planner.plan(User.get_by_id(user.id))


# --------------------------------------------------------------------------- what the owner is told (AUTH-10)


def show_notices(user: User) -> list[SecurityNotice]:
    """Return the owner's pending notices, marking them shown (only a shown notice can be acknowledged)."""
    notices = list(SecurityNotice.pending(user))
    unseen = [n.id for n in notices if n.shown_at is None]
    if unseen:
        SecurityNotice.update(shown_at=utcnow()).where(SecurityNotice.id.in_(unseen)).execute()
    return notices


def acknowledge_notices(user: User) -> int:
    """Acknowledge every pending notice the owner has been shown; refuse while any has not been shown."""
    with db.atomic():
        pending = list(SecurityNotice.pending(user))
        if any(n.shown_at is None for n in pending):
            raise AccountError("Please read the notice first.")
        if pending:
            SecurityNotice.update(dismissed_at=utcnow()).where(SecurityNotice.id.in_([n.id for n in pending])).execute()
            AuditEvent.record("security_notice_seen", actor=user, subject=user, detail=f"{len(pending)} notice(s)")
    return len(pending)


def overview(user: User, current_session_id: str | None) -> dict:
    """What "My account" shows: the devices signed in (this one marked) and the account's activity."""
    return {"sessions": active_sessions(user), "current_id": current_session_id, "activity": activity(user)}


def activity(user: User) -> list[tuple[AuditEvent, User | None]]:
    """Return the account's security activity, newest first, each with who did it (AUTH-10)."""
    events = list(
        AuditEvent.select()
        .where(AuditEvent.subject_id == user.id, AuditEvent.action.in_(SECURITY_ACTIONS))
        .order_by(AuditEvent.id.desc())
        .limit(ACTIVITY_LIMIT)
    )
    actors = {u.id: u for u in User.select().where(User.id.in_({e.actor_id for e in events if e.actor_id}))}
    return [(event, actors.get(event.actor_id)) for event in events]
