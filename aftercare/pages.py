"""Pages more than one blueprint shows."""

import gzip
import hashlib
import json
from collections.abc import Callable
from functools import lru_cache

import brotli
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import Response

from . import crisis
from .clinician import cohort
from .forms import EmptyForm
from .inputs import Invalid
from .links import external_url
from .models import Invite
from .models import User


def invite_from(form, role: str, *, by, taken: str, back_url: str, back_label: str):
    """Issue an invite from a validated form and show its link and code; None, with the form's error, if taken."""
    if User.by_email(form.email.data).exists():
        form.email.errors.append(taken)
        return None
    invite, token, code = Invite.issue(
        role=role, email=form.email.data, name=form.name.data, invited_by=by, days=current_app.config["INVITE_DAYS"]
    )
    return show_invite(invite, token, code, back_url=back_url, back_label=back_label)


def show_invite(invite, token: str, code: str, *, back_url: str, back_label: str):
    """Show a new invite's link and code, the only time they can be shown (the link from the base URL: CFG-02)."""
    return render_template(
        "_partials/invite_ready.html",
        invite=invite,
        link=external_url("auth.join_link", token=token),
        join_url=external_url("auth.join"),
        code=code,
        back_url=back_url,
        back_label=back_label,
    )


def require_button() -> None:
    """Refuse (400) a button's post that does not carry its form's CSRF token: no state change without it."""
    if not EmptyForm().validate_on_submit():
        abort(400)


def button(change: Callable[[], object], message: str, target: str, category: str = "success"):
    """Do what a button asks once its post carries the CSRF token (else 400); say so and go on to `target`."""
    require_button()
    change()
    flash(message, category)
    return redirect(target)


def stored(submission: tuple, as_json: Callable):
    """Answer a submission from the outbox: 201 with the new row, or 200 with the original for a replay (DUR-04)."""
    row, created = submission
    # Written straight out (jsonify sorts keys and consults a fallback for each value; these
    # answers hold only strings, numbers, booleans and lists): the outbox's hottest answer.
    body = json.dumps(as_json(row), separators=(",", ":"))
    return current_app.response_class(body, 201 if created else 200, mimetype="application/json")


def public_page(template: str, **context):
    """Render a page the service worker precaches (offline, crisis, the offline inbox): the same for everyone.

    Fetched by the worker without cookies, it holds nobody's data and no CSRF token, so it may be
    compressed (BREACH needs a secret in the page); asked for by a signed-in browser, it is sent as
    it is, like every other page.
    """
    response = current_app.make_response(render_public(template, **context))
    response.headers["Cache-Control"] = "no-cache"
    response.vary.update(("Cookie", "Accept-Encoding"))
    signed_out = current_app.config["SESSION_COOKIE_NAME"] not in request.cookies
    if signed_out and "gzip" in request.headers.get("Accept-Encoding", ""):
        response.set_data(gzip.compress(response.get_data(), 6))
        response.headers["Content-Encoding"] = "gzip"
    return response


def render_public(template: str, **context) -> str:
    """Render a public page's HTML (with the clinic's crisis lines and phone number)."""
    return render_template(template, lines=crisis.current_lines(), clinic_phone=crisis.clinic_phone(), **context)


def public_bundle(pages: Callable[[], dict[str, str]]) -> Response:
    """Answer public pages in one JSON answer, as a signed-out visitor sees them, for the service worker.

    `pages` renders {path: HTML}; it runs as nobody, so a signed-in browser asking gets the same
    copies (no name, no CSRF token), and the answer may be compressed like public_page's. It
    carries an ETag, so the worker's later checks are a 304 while nothing changed.
    """
    g._login_user = current_app.login_manager.anonymous_user()  # flask-login's current user, for this request
    body = json.dumps({"pages": pages()}, separators=(",", ":")).encode()
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Accept-Encoding")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.make_conditional(request)
    accepted = {part.split(";")[0].strip().lower() for part in request.headers.get("Accept-Encoding", "").split(",")}
    encoding = "br" if "br" in accepted else "gzip" if "gzip" in accepted else None
    if response.status_code == 200 and encoding:
        response.set_data(_squeezed(body, encoding))
        response.headers["Content-Encoding"] = encoding
    return response


@lru_cache(maxsize=8)
def _squeezed(body: bytes, encoding: str) -> bytes:
    """Compress a bundle once per content (every installing device asks for the same one)."""
    return brotli.compress(body, quality=11) if encoding == "br" else gzip.compress(body, 9, mtime=0)


def render_cohort(viewer: User, read_range):
    """Read the range, work out the figures and show them; a bad range is a 400 with the reason."""
    page = {"args": request.args, "fewer": cohort.FEWER}
    try:
        start, end = read_range(request.args)
    except Invalid as error:
        return render_template("cohort.html", figures=None, errors=error.fields, **page), 400
    figures = cohort.open_cohort(viewer, start, end)
    return render_template("cohort.html", figures=figures, charts=cohort.charts(figures), errors={}, **page)


def csv_download(data: bytes, name: str) -> Response:
    """Send a CSV file to save, never stored by a cache (health data)."""
    response = Response(data, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
