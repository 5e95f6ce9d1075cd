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
from peewee import fn

from ..access import staff_only
from ..auth.forms import EmptyForm
from ..db import db
from ..models import AuditEvent
from ..models import Practice
from .forms import DAYS
from .forms import PracticeForm

bp = Blueprint("practices", __name__, url_prefix="/practices")

DAY_LABELS = {int(value): label for value, label in DAYS}


def _me():
    return current_user._get_current_object()


def _practice(practice_id: int) -> Practice:
    practice = Practice.get_or_none(Practice.id == practice_id)
    if practice is None:
        abort(404)
    return practice


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
        with db.atomic():
            last = Practice.select(fn.MAX(Practice.position)).scalar()
            practice = Practice.create(position=(last or 0) + 1, **_fields(form))
            AuditEvent.record("practice_added", actor=_me(), detail=f"practice {practice.id}")
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
        with db.atomic():
            Practice.update(**_fields(form)).where(Practice.id == practice.id).execute()
            AuditEvent.record("practice_changed", actor=_me(), detail=f"practice {practice.id}")
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
    with db.atomic():
        # As it is now: archived or restored by someone else a moment ago, it moves in its new list.
        practice = _practice(practice_id)
        # Renumber first, so ties from older rows (or a hand-edited database) cannot stall a move.
        ordered = list(
            Practice.select().where(Practice.active == practice.active).order_by(Practice.position, Practice.id)
        )
        ids = [p.id for p in ordered]
        here = ids.index(practice.id)
        there = here - 1 if direction == "up" else here + 1
        if 0 <= there < len(ids):
            ids[here], ids[there] = ids[there], ids[here]
            for position, pid in enumerate(ids, start=1):
                Practice.update(position=position).where(Practice.id == pid).execute()
            AuditEvent.record("practice_moved", actor=_me(), detail=f"practice {practice.id} {direction}")
    return redirect(url_for("practices.index", _anchor=f"practice-{practice.id}"))
