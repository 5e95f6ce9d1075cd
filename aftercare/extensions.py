"""Extension objects, configured in create_app."""

import hmac
import time

from flask import current_app
from flask import g
from flask import request
from flask import session
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from flask_wtf.csrf import same_origin
from itsdangerous import BadData
from itsdangerous import URLSafeTimedSerializer

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
# Header tokens this process has verified, at most this many (then it starts again).
VERIFIED_MAX = 4096


class Csrf(CSRFProtect):
    """flask-wtf's CSRF protection, which must never answer a form with a 500 (IN-01).

    A multipart part whose name Werkzeug cannot read (a name of a lone carriage return, say) is a
    key of None in request.form, and flask-wtf's search for a prefixed token field fails on it.
    Such a part names no token: the token can then only come from the header, or is missing (400).

    A body that is not a form (the JSON API's) has no fields to search, so its token is read from
    the header without parsing the body as a form first.

    A phone's outbox sends the same header token with every entry, and verifying its signature
    again each time was a twentieth of a mood entry's work. Once flask-wtf's full check has
    passed a header token, this process remembers what the token carries (the session's value and
    when it was signed); the next request with that exact token is let through only when every
    part of the full check would pass: the value matches this request's session, the token is
    within WTF_CSRF_TIME_LIMIT of its signing, and on https the Referer is this site. Anything
    else goes through flask-wtf's check as before, with its messages (HDR-01..05).
    """

    def __init__(self, app=None):
        self._verified: dict[tuple[str, str], tuple[str, float]] = {}
        super().__init__(app)

    def _get_csrf_token(self):
        if request.mimetype in FORM_TYPES and all(isinstance(key, str) for key in request.form):
            return super()._get_csrf_token()
        return self._header_token()

    def _header_token(self) -> str | None:
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return token
        return None

    def protect(self, apply_exemptions=False):
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return  # flask-wtf returns here too, after looking up the view's exemption first
        token = None if request.mimetype in FORM_TYPES else self._header_token()
        if token and self._known_good(token) and not (apply_exemptions and self._is_exempt()):
            g.csrf_valid = True
            return
        super().protect(apply_exemptions)
        if token and g.get("csrf_valid"):
            self._remember(token)

    def _key(self, token: str) -> tuple[str, str]:
        config = current_app.config
        return config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, token

    def _known_good(self, token: str) -> bool:
        """Tell whether flask-wtf's check would pass this remembered token on this request."""
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return False
        known = self._verified.get(self._key(token))
        if known is None:
            return False
        value, signed_at = known
        field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        if field not in session or not hmac.compare_digest(session[field], value):
            return False
        limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
        if limit is not None and time.time() - signed_at > limit:
            return False
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            referrer = request.referrer
            if not referrer or not same_origin(referrer, f"https://{request.host}/"):
                return False
        return True

    def _remember(self, token: str) -> None:
        """Keep what a token that just passed the full check carries (read again, with its signing time)."""
        secret, _ = key = self._key(token)
        try:
            value, signed = URLSafeTimedSerializer(secret, salt="wtf-csrf-token").loads(token, return_timestamp=True)
        except BadData:
            return
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[key] = (value, signed.timestamp())


class Login(LoginManager):
    """flask-login's manager, which need not digest the client's address and agent on every request.

    flask-login hashes them (SHA-512) to check its session protection before looking at whether
    that protection is on. It is off here (create_app: server-side sessions bind a session to its
    device), so the check answers "not failed" at once; turned on, it runs as flask-login wrote it.
    """

    def _session_protection_failed(self):
        if not current_app.config.get("SESSION_PROTECTION", self.session_protection):
            return False
        return super()._session_protection_failed()


csrf = Csrf()
login_manager = Login()
