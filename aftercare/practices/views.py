"""The clinic's library of integration practices: staff edit it; patients meet it on the Today screen.

Each practice is offered on chosen days of the window of clarity (the session day and the three
days after it), in the library's order. Practices are archived, never deleted, so a change of
heart is one tap and no history points at nothing.
"""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from ..access import get_object_or_404
from ..access import staff_only
from ..forms import EmptyForm
from ..models import Practice
from . import library
from .forms import DAYS
from .forms import PracticeForm

bp = Blueprint("practices", __name__, url_prefix="/practices")

DAY_LABELS = {int(value): label for value, label in DAYS}


def _me():
    return current_user._get_current_object()


def _practice(practice_id: int) -> Practice:
    return get_object_or_404(Practice, Practice.id == practice_id)


def _fields(form: PracticeForm) -> dict:
    return {
        "title": form.title.data.strip(),
        "kind": form.kind.data,
        "description": form.description.data.strip(),
        "days": form.day_string,
        "active": form.active.data,
    }


@bp.route("/")
@staff_only
def index():
    practices = list(Practice.library())
    return render_template(
        "practices/index.html",
        offered=[p for p in practices if p.active],
        archived=[p for p in practices if not p.active],
        day_labels=DAY_LABELS,
        button=EmptyForm(),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_only
def new():
    form = PracticeForm()
    if request.method == "GET":
        form.days.data = ["1", "2", "3"]
    if form.validate_on_submit():
        practice = library.add(by=_me(), **_fields(form))
        flash(f"Added “{practice.title}” to the library.", "success")
        return redirect(url_for("practices.index", _anchor=f"practice-{practice.id}"))
    return render_template("practices/form.html", form=form, practice=None), 422 if form.errors else 200


@bp.route("/<int:practice_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(practice_id):
    practice = _practice(practice_id)
    form = PracticeForm(obj=practice)
    if request.method == "GET":
        form.days.data = [str(d) for d in practice.day_list]
    if form.validate_on_submit():
        library.change(practice, by=_me(), **_fields(form))
        flash(f"Saved “{form.title.data.strip()}”.", "success")
        return redirect(url_for("practices.index", _anchor=f"practice-{practice.id}"))
    return render_template("practices/form.html", form=form, practice=practice), 422 if form.errors else 200


@bp.route("/<int:practice_id>/move", methods=["POST"])
@staff_only
def move(practice_id):
    """Swap a practice with its neighbour above or below: patients see them in this order."""
    practice = _practice(practice_id)
    direction = request.form.get("direction")
    if not EmptyForm().validate_on_submit() or direction not in ("up", "down"):
        abort(400, "Choose up or down.")
    practice = library.move(practice.id, direction, by=_me()) or abort(404)
    return redirect(url_for("practices.index", _anchor=f"practice-{practice.id}"))
