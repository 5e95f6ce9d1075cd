"""Error pages and JSON errors: a clear message, never a stack trace or a 500 for bad input."""

import logging

from flask import jsonify
from flask import render_template
from flask import request
from flask_wtf.csrf import CSRFError
from peewee import OperationalError
from werkzeug.exceptions import HTTPException

from .db import is_full
from .db import is_locked
from .idempotency import Conflict
from .inputs import Invalid

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Something in that request was not right", "Please go back and try again."),
    401: ("Please sign in", "You need to sign in to see this."),
    403: ("Not available to you", "Your account cannot open this page."),
    404: ("Not found", "There is nothing here. It may have moved, or the link may be old."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "That upload is bigger than aftercare accepts."),
    422: ("Please check your answers", "Some of what was sent could not be used."),
    429: ("Please wait a little", "Too many attempts. Try again in a few minutes."),
    500: ("Something went wrong on our side", "Nothing you did caused this. Please try again in a moment."),
    503: ("Busy for a moment", "aftercare is busy. Please try again in a few seconds; nothing was lost."),
}


def _respond(code, message=None, headers=None):
    title, default_message = MESSAGES.get(code, MESSAGES[400])
    message = message or default_message
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(error=title, message=message)
    else:
        response = render_template("errors/error.html", code=code, title=title, message=message)
    return response, code, headers or {}


def handle_http(error: HTTPException):
    message = error.description if error.code in (400, 413, 422, 429) and isinstance(error.description, str) else None
    if message and message.startswith(("The browser (or proxy)", "The server could not")):
        message = None  # Werkzeug's generic wording; ours is calmer.
    retry = getattr(error, "retry_after", None)
    return _respond(error.code or 500, message, {"Retry-After": str(retry)} if retry else None)


def handle_csrf(error: CSRFError):
    return _respond(
        400,
        "This form was open for too long or came from somewhere else. "
        "Please reload the page and try again; nothing was saved.",
    )


FULL_MESSAGE = (
    "The clinic's server has run out of space, so nothing was saved. What you sent stays on your "
    "phone and is sent again later; the clinic has been told."
)


def handle_operational(error: OperationalError):
    if is_locked(error):
        # DUR-05: a busy database is a retry, not a failure.
        return _respond(503, headers={"Retry-After": "2"})
    if is_full(error):
        # The transaction rolled back whole; the phone keeps the entry and tries again later.
        log.critical("the database is out of space: %s", error)
        return _respond(503, FULL_MESSAGE, headers={"Retry-After": "300"})
    log.exception("database error")
    return _respond(500)


def handle_invalid(error: Invalid):
    """A submission that cannot be stored: 422 with a message per field (forms catch it themselves)."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error="Please check your answers", message=str(error), fields=error.fields), 422
    return _respond(422, " ".join(error.fields.values()))


def handle_conflict(error: Conflict):
    """A client id used before for something else (DUR-04): refused, and the device keeps its copy."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(error="Conflict", message=str(error)), 422
    return _respond(422, str(error))


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s", request.endpoint)
    return _respond(500)


def init_app(app):
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(OperationalError, handle_operational)
    app.register_error_handler(Invalid, handle_invalid)
    app.register_error_handler(Conflict, handle_conflict)
    app.register_error_handler(Exception, handle_unexpected)
