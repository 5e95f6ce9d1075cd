"""The guides' pages: public to read (and kept offline by the service worker); the clinic edits them."""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from ..access import admins_only
from ..access import public
from ..forms import EmptyForm
from ..inputs import Invalid
from ..pages import public_bundle
from ..pages import public_page
from ..pages import render_public
from ..pages import require_button
from . import library

bp = Blueprint("guides", __name__)


# Each public guide page as (template, context): the page itself and its offline copy render the same.
def _index_page(guides) -> tuple[str, dict]:
    return "guides/index.html", {"guides": guides, "stages": library.STAGES}


def _guide_page(guide) -> tuple[str, dict]:
    return "guides/show.html", {"guide": guide, "blocks": library.blocks(guide.body), "stages": library.STAGES}


@bp.route("/guides")
@public
def index():
    template, context = _index_page(library.published())
    return public_page(template, **context)


@bp.route("/guides/offline.json")
@public
def offline_bundle():
    """Every published guide page, signed out, in one small answer: what the service worker keeps for offline reading."""

    def pages() -> dict[str, str]:
        guides = library.published()
        template, context = _index_page(guides)
        rendered = {url_for("guides.index"): render_public(template, **context)}
        for guide in guides:
            template, context = _guide_page(guide)
            rendered[url_for("guides.show", slug=guide.slug)] = render_public(template, **context)
        return rendered

    return public_bundle(pages)


@bp.route("/guides/<slug>")
@public
def show(slug):
    guide = library.find(slug)
    if guide is None or not guide.active:
        abort(404)
    template, context = _guide_page(guide)
    return public_page(template, **context)


@bp.route("/admin/guides", methods=["GET", "POST"])
@admins_only
def manage():
    errors, values = {}, {}
    if request.method == "POST":
        require_button()
        values = request.form
        try:
            guide = library.add(
                by=current_user._get_current_object(),
                title=values.get("title", ""),
                summary=values.get("summary", ""),
                body=values.get("body", ""),
                stage=values.get("stage", ""),
            )
        except Invalid as error:
            errors = error.fields
        else:
            flash(f"“{guide.title}” added. Patients can read it now, online and offline.", "success")
            return redirect(url_for("guides.manage"))
    page = render_template(
        "guides/manage.html",
        guides=library.every(),
        stages=library.STAGES,
        errors=errors,
        values=values,
        form=EmptyForm(),
    )
    return (page, 422) if errors else page


@bp.route("/admin/guides/<slug>", methods=["GET", "POST"])
@admins_only
def edit(slug):
    guide = library.find(slug)
    if guide is None:
        abort(404)
    errors, values = {}, {}
    if request.method == "POST":
        require_button()
        values = request.form
        try:
            guide = library.change(
                guide,
                by=current_user._get_current_object(),
                title=values.get("title", ""),
                summary=values.get("summary", ""),
                body=values.get("body", ""),
                stage=values.get("stage", ""),
                active=values.get("active") == "y",
            )
        except Invalid as error:
            errors = error.fields
        else:
            flash(f"Saved: version {guide.version}, reviewed today.", "success")
            return redirect(url_for("guides.manage"))
    page = render_template(
        "guides/edit.html", guide=guide, stages=library.STAGES, errors=errors, values=values, form=EmptyForm()
    )
    return (page, 422) if errors else page
