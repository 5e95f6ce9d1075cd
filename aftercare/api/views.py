"""The JSON API's shared endpoints (/api/v1): its OpenAPI 3.1 document and a fresh CSRF token.

Each feature serves its own JSON endpoints beside its pages (self-reports, the journal); this
blueprint holds what belongs to none of them.
"""

from flask import Blueprint
from flask import jsonify
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..access import public
from ..access import signed_in
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(document())


@bp.route("/csrf")
@signed_in
def csrf_token():
    """Hand the outbox a fresh CSRF token: an entry queued for hours must not be dropped for an old one."""
    # `user` lets the outbox keep one person's unsent entries from being posted
    # under another account after a sign-out and sign-in on a shared phone.
    return jsonify(csrf_token=generate_csrf(), user=str(current_user.id))
