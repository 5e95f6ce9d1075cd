"""Extension objects, configured in create_app."""

from flask import current_app
from flask import request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class Csrf(CSRFProtect):
    """flask-wtf's CSRF protection, which must never answer a form with a 500 (IN-01).

    A multipart part whose name Werkzeug cannot read (a name of a lone carriage return, say) is a
    key of None in request.form, and flask-wtf's search for a prefixed token field fails on it.
    Such a part names no token: the token can then only come from the header, or is missing (400).

    A body that is not a form (the JSON API's) has no fields to search, so its token is read from
    the header without parsing the body as a form first.
    """

    def _get_csrf_token(self):
        if request.mimetype in FORM_TYPES and all(isinstance(key, str) for key in request.form):
            return super()._get_csrf_token()
        for header in current_app.config["WTF_CSRF_HEADERS"]:
            token = request.headers.get(header)
            if token:
                return token
        return None


csrf = Csrf()
login_manager = LoginManager()
