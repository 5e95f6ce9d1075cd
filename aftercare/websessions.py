"""Server-side sessions (SESS-01/02/05): the cookie carries only a random id."""

import datetime as dt
import json
import re
import secrets

from flask import current_app
from flask import g
from flask import request
from flask.sessions import SessionInterface
from flask.sessions import SessionMixin
from werkzeug.datastructures import CallbackDict

from .db import columns
from .db import ensure_connection
from .db import Prepared
from .db import row_to
from .models import PATIENT
from .models import token_hash
from .models import User
from .models import utcnow
from .models import WebSession

# Sessions with no one signed in (they hold a CSRF token for the sign-in form).
ANONYMOUS_IDLE = dt.timedelta(hours=1)
ANONYMOUS_ABSOLUTE = dt.timedelta(hours=2)
# Writing last_seen on every request would turn every page view into a write.
TOUCH_EVERY = dt.timedelta(seconds=60)
# Requests that never need a session (and so never touch the database for one).
SESSIONLESS_ENDPOINTS = {"static", "pwa.service_worker", "pwa.manifest"}


# One statement per request: the session, its user and the clinic settings' version.
SESSION_AND_USER = Prepared(
    f"SELECT {columns(WebSession, 's')}, {columns(User, 'u')},"  # nosec B608: SQL from module constants; every value is a bound parameter
    " (SELECT value FROM clinic_setting WHERE key = 'settings_version')"
    ' FROM web_session s LEFT JOIN "user" u ON u.id = s.user_id WHERE s.id = ?'
)
SESSION_COLUMNS = len(WebSession._meta.sorted_fields)


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, token=None, row=None):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.token = token
        self.row = row
        self.user = None  # the signed-in user, read with the session
        self.modified = False
        self.rotate = False
        self.lifetime: tuple[dt.timedelta, dt.timedelta] | None = None

    @property
    def new(self):
        return self.row is None


class NullSession(ServerSession):
    """A session that is never stored (static files, the service worker)."""


class ServerSessionInterface(SessionInterface):
    def open_session(self, app, request):
        if request.endpoint in SESSIONLESS_ENDPOINTS:
            return NullSession()
        token = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not token or len(token) > 128:
            return ServerSession()
        ensure_connection()
        found = SESSION_AND_USER.one(token_hash(token))
        if found is None:
            return ServerSession()
        row = row_to(WebSession, found[:SESSION_COLUMNS])
        if row.expired(utcnow()):
            WebSession.delete_by_id(row.id)
            return ServerSession()
        # The settings' version comes with the session, so settings.current() knows whether its copy is old.
        g.clinic_settings_version = found[-1]
        opened = ServerSession(row.payload(), token=token, row=row)
        if found[SESSION_COLUMNS] is not None:
            opened.user = row_to(User, found[SESSION_COLUMNS:-1])  # for flask-login's user_loader, no second query
        return opened

    def save_session(self, app, session, response):
        if isinstance(session, NullSession):
            return
        name = app.config["SESSION_COOKIE_NAME"]
        cookie = {
            "path": "/",
            "secure": app.config["SESSION_COOKIE_SECURE"],
            "httponly": True,
            "samesite": app.config["SESSION_COOKIE_SAMESITE"],
        }
        now = utcnow()
        if session.rotate and session.row is not None:
            # A new id on sign-in and sign-out defeats session fixation; the old
            # row goes, so a copy of the old cookie is dead (SESS-01).
            WebSession.delete_by_id(session.row.id)
            session.row = None
        if not session:
            if session.row is not None:
                WebSession.delete_by_id(session.row.id)
            if session.token or session.rotate:
                response.delete_cookie(name, path="/", secure=cookie["secure"], samesite=cookie["samesite"])
            return
        if session.row is None:
            idle, absolute = session.lifetime or (ANONYMOUS_IDLE, ANONYMOUS_ABSOLUTE)
            session.token = secrets.token_urlsafe(32)  # 256 bits
            session.row = WebSession.create(
                id=token_hash(session.token),
                user=int(session["_user_id"]) if "_user_id" in session else None,
                data=json.dumps(dict(session)),
                created_at=now,
                last_seen=now,
                expires_at=now + absolute,
                idle_seconds=int(idle.total_seconds()),
                device=describe_device(request.user_agent.string),
            )
            remember = session.lifetime is not None and idle == absolute
            response.set_cookie(
                name,
                session.token,
                expires=session.row.expires_at.replace(tzinfo=dt.UTC) if remember else None,
                **cookie,
            )
        elif session.modified:
            WebSession.update(data=json.dumps(dict(session)), last_seen=now).where(
                WebSession.id == session.row.id
            ).execute()
        elif now - session.row.last_seen > TOUCH_EVERY:
            WebSession.update(last_seen=now).where(WebSession.id == session.row.id).execute()


def lifetime_for(user, remember_device: bool) -> tuple[dt.timedelta, dt.timedelta]:
    """Return (idle, absolute) limits for a new session of this user (SESS-02)."""
    config = current_app.config
    if user.role == PATIENT and remember_device:
        days = dt.timedelta(days=config["PATIENT_DEVICE_DAYS"])
        return days, days
    return (
        dt.timedelta(minutes=config["STAFF_IDLE_MINUTES"]),
        dt.timedelta(hours=config["STAFF_ABSOLUTE_HOURS"]),
    )


def begin(session, user, remember_device: bool = False) -> None:
    """Start a fresh session for a user who just proved who they are."""
    session.clear()
    session.rotate = True
    session.lifetime = lifetime_for(user, remember_device)


def end(session) -> None:
    """End the current session: its row is deleted, its cookie dead."""
    session.clear()
    session.rotate = True


def current_id(session) -> str | None:
    return session.row.id if getattr(session, "row", None) is not None else None


def revoke_others(user, session=None) -> int:
    """End every session of the user except the current one (SESS-05)."""
    query = WebSession.delete().where(WebSession.user == user)
    keep = current_id(session) if session is not None else None
    if keep:
        query = query.where(WebSession.id != keep)
    return query.execute()


_BROWSERS = (("Edg", "Edge"), ("Firefox", "Firefox"), ("Chrome", "Chrome"), ("Safari", "Safari"))
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS", "Mac"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str) -> str:
    """Summarise a user agent as 'Browser on System' for the sessions page."""
    browser = next((label for key, label in _BROWSERS if key in user_agent), "A browser")
    system = next((label for key, label in _SYSTEMS if re.search(key, user_agent)), "an unknown device")
    return f"{browser} on {system}"
