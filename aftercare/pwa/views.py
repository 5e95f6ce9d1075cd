"""The installable shell: manifest, service worker, offline and crisis pages, the start page."""

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import Response
from flask import send_from_directory
from flask import url_for
from flask_login import current_user

from ..access import home_for
from ..access import public
from ..accounts import admin_exists
from ..pages import public_page
from .assets import Assets
from .assets import encoding_for

bp = Blueprint("pwa", __name__)


def _assets() -> Assets:
    return current_app.extensions["aftercare_assets"]


@bp.record_once
def _install(state):
    """Serve /static/ from the built assets (versioned, compressed) instead of Flask's plain file sender."""
    state.app.extensions["aftercare_assets"] = Assets(state.app.static_folder)
    state.app.view_functions["static"] = static_file


@public
def static_file(filename):
    """A static file: a year in every cache when asked for by its current version, else revalidated."""
    asset = _assets().get(filename)
    if asset is None:
        abort(404)
    return _send(asset, request.args.get("v") == asset.version)


def _send(asset, immutable: bool, mimetype: str | None = None):
    encoding = encoding_for(request.headers.get("Accept-Encoding", ""), asset)
    etag = f'"{asset.version}-{encoding or "identity"}"'
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    body = {"br": asset.brotli, "gzip": asset.gzip}.get(encoding, asset.body)
    if encoding:
        headers["Content-Encoding"] = encoding
    return Response(body, mimetype=mimetype or asset.mimetype, headers=headers)


@bp.app_template_global()
def asset(filename: str) -> str:
    """Return a static URL versioned by content, so browsers may cache it for a year."""
    return _assets().url(filename)


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
    # Served from the root so that its scope is the whole app, not /static/. Its precache list and
    # importScripts name the versioned URLs the pages use, and its VERSION is its own content's hash,
    # so any change to a file it caches makes browsers install a new worker and drop the old cache.
    worker = _assets().worker()
    response = _send(worker, immutable=False, mimetype="text/javascript")
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


@bp.route("/offline")
@public
def offline():
    return public_page("pwa/offline.html")


@bp.route("/crisis")
@public
def crisis_page():
    return public_page("pwa/crisis.html")


@bp.route("/install")
@public
def install():
    return render_template("pwa/install.html")
