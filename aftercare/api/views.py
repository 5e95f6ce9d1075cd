"""JSON API for the PWA's scripts (/api/v1), described by an OpenAPI 3.1 document."""

import datetime as dt

from flask import abort
from flask import Blueprint
from flask import jsonify
from flask import request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .. import selfreports
from ..access import patients_only
from ..access import public
from ..access import signed_in
from ..models import CheckIn
from ..models import MoodEntry
from ..models import utcnow
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

LIST_LIMIT = 500


def body() -> dict:
    """Return the request's JSON object, or answer 400 with a clear message."""
    data = request.get_json(silent=True)
    if data is None:
        abort(400, "The request body must be JSON (Content-Type: application/json).")
    return data


def invalid(error: selfreports.Invalid):
    return jsonify(error="Please check your answers", message=str(error), fields=error.fields), 422


def conflict(error: selfreports.Conflict):
    return jsonify(error="Conflict", message=str(error)), 422


bp.register_error_handler(selfreports.Invalid, invalid)
bp.register_error_handler(selfreports.Conflict, conflict)


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


def _me():
    return current_user._get_current_object()


@bp.route("/mood", methods=["POST"])
@patients_only
def create_mood():
    entry, created = selfreports.submit_mood(_me(), body())
    return jsonify(selfreports.mood_json(entry)), 201 if created else 200


@bp.route("/mood", methods=["GET"])
@patients_only
def list_mood():
    days = max(1, min(request.args.get("days", 30, type=int) or 30, 3660))
    since = utcnow().date() - dt.timedelta(days=days)
    query = (
        MoodEntry.visible()
        .where(MoodEntry.patient == _me(), MoodEntry.local_day >= since)
        .order_by(MoodEntry.recorded_at.desc())
        .limit(LIST_LIMIT)
    )
    return jsonify(entries=[selfreports.mood_json(e) for e in query])


def _own_entry(client_id: str) -> MoodEntry:
    entry = MoodEntry.visible().where(MoodEntry.patient == _me(), MoodEntry.client_id == client_id[:36]).first()
    if entry is None:
        abort(404)
    return entry


@bp.route("/mood/<client_id>", methods=["PATCH"])
@patients_only
def edit_mood(client_id):
    entry = _own_entry(client_id)
    if not selfreports.editable(entry, _me()):
        abort(422, "Entries can be changed only on the day they were logged.")
    entry = selfreports.edit_mood(_me(), entry, body())
    return jsonify(selfreports.mood_json(entry))


@bp.route("/mood/<client_id>", methods=["DELETE"])
@patients_only
def delete_mood(client_id):
    entry = _own_entry(client_id)
    if not selfreports.editable(entry, _me()):
        abort(422, "Entries can be removed only on the day they were logged.")
    selfreports.delete_mood(_me(), entry)
    return "", 204


@bp.route("/checkins", methods=["POST"])
@patients_only
def create_checkin():
    checkin, created = selfreports.submit_checkin(_me(), body())
    return jsonify(selfreports.checkin_json(checkin)), 201 if created else 200


@bp.route("/checkins", methods=["GET"])
@patients_only
def list_checkins():
    query = CheckIn.select().where(CheckIn.patient == _me()).order_by(CheckIn.submitted_at.desc()).limit(LIST_LIMIT)
    return jsonify(checkins=[selfreports.checkin_json(c) for c in query])
