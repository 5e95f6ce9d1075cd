"""The installable shell: manifest, service worker, offline and crisis pages, the start page."""

import functools
import hashlib
from pathlib import Path

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import send_from_directory
from flask import url_for
from flask_login import current_user

from .. import crisis
from ..access import home_for
from ..access import public
from ..accounts import admin_exists

bp = Blueprint("pwa", __name__)


@functools.cache
def _file_version(static_folder: str, filename: str) -> str:
    data = (Path(static_folder) / filename).read_bytes()
    return hashlib.sha256(data).hexdigest()[:10]


@bp.app_template_global()
def asset(filename: str) -> str:
    """Return a static URL versioned by content, so browsers may cache it for a year."""
    version = _file_version(current_app.static_folder, filename)
    return url_for("static", filename=filename, v=version)


@bp.app_context_processor
def inject_clinic():
    return {"clinic_name": current_app.config["CLINIC_NAME"]}


@bp.route("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    if not admin_exists():
        return redirect(url_for("auth.setup"))
    return redirect(url_for("auth.login"))


@bp.route("/sw.js")
@public
def service_worker():
    # Served from the root so that its scope is the whole app, not /static/.
    response = send_from_directory(current_app.static_folder, "sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    response = send_from_directory(
        current_app.static_folder, "manifest.webmanifest", mimetype="application/manifest+json", max_age=0
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


def _public_page(template: str):
    """Render a page the service worker precaches: it must not depend on who asks."""
    response = current_app.make_response(
        render_template(template, lines=crisis.current_lines(), clinic_phone=crisis.clinic_phone())
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
@public
def offline():
    return _public_page("pwa/offline.html")


@bp.route("/crisis")
@public
def crisis_page():
    return _public_page("pwa/crisis.html")


@bp.route("/install")
@public
def install():
    return render_template("pwa/install.html")
