"""The patient's self-reports: the mood log, check-ins and history, as pages and as the JSON API the outbox uses."""

import datetime as dt
import uuid

from flask import abort
from flask import Blueprint
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from .. import crisis
from ..access import get_object_or_404
from ..access import patients_only
from ..forms import EmptyForm
from ..idempotency import Conflict
from ..inputs import Invalid
from ..inputs import json_body
from ..localtime import local_day
from ..models import CheckIn
from ..models import MoodEntry
from ..models import User
from ..models import utcnow
from ..pages import button
from ..pages import require_button
from ..pages import stored
from . import charts
from . import checkins
from . import history as history_data
from . import mood
from .instruments import chosen
from .instruments import INSTRUMENTS

bp = Blueprint("selfreports", __name__)

LIST_LIMIT = 500


def _me() -> User:
    return current_user._get_current_object()


def _mood_form_data() -> dict:
    return {
        "client_id": request.form.get("client_id"),
        "score": request.form.get("score"),
        "note": request.form.get("note", ""),
        "tags": request.form.getlist("tags"),
    }


def _after_mood(entry: MoodEntry, message: str):
    if mood.as_json(entry)["crisis"]:
        return redirect(url_for("patient.support"))  # CLIN-04
    flash(message, "success")
    return redirect(url_for("patient.home"))


@bp.route("/mood", methods=["POST"])
@patients_only
def log_mood():
    """Log a mood entry from the plain form (the page's script uses the JSON API and the outbox)."""
    require_button()
    try:
        entry, _ = mood.submit(_me(), _mood_form_data())
    except Invalid as error:
        for message in error.fields.values():
            flash(message, "error")
        return redirect(url_for("patient.home"))
    except Conflict:
        flash("That entry was already saved.", "info")
        return redirect(url_for("patient.home"))
    return _after_mood(entry, f"Saved: {entry.score} · {mood.MOOD_WORDS[entry.score].lower()}. Thank you.")


def _todays_entry(client_id: str) -> MoodEntry:
    entry = get_object_or_404(MoodEntry.visible(), MoodEntry.patient == _me(), MoodEntry.client_id == client_id[:36])
    if not mood.editable(entry, _me()):
        flash("Entries can be changed only on the day they were logged.", "info")
        abort(redirect(url_for("patient.home")))
    return entry


@bp.route("/mood/<client_id>/delete", methods=["POST"])
@patients_only
def delete_mood(client_id):
    entry = _todays_entry(client_id)
    return button(lambda: mood.delete(_me(), entry), "The entry is removed.", url_for("patient.home"))


@bp.route("/checkins/<instrument>", methods=["GET", "POST"])
@patients_only
def checkin(instrument):
    spec = INSTRUMENTS.get(instrument) or abort(404)
    if request.method == "GET" and spec not in chosen(_me()):
        flash(checkins.not_asked(spec), "info")
        return redirect(url_for("patient.home"))
    form = EmptyForm()
    error = None
    if form.validate_on_submit():
        answers, extra = checkins.form_answers(spec, request.form)
        data = {"client_id": request.form.get("client_id"), "instrument": spec.key, "answers": answers}
        data["difficulty"] = extra
        try:
            result, _ = checkins.submit(_me(), data)
        except Invalid as invalid:
            error = " ".join(invalid.fields.values())
        except Conflict:
            error = "This questionnaire was already sent. Please reload the page to start a new one."
        else:
            return redirect(url_for("selfreports.checkin_result", client_id=result.client_id))
    return render_template(
        "selfreports/checkin.html",
        spec=spec,
        form=form,
        error=error,
        answers=[request.form.get(f"q{n}") for n in range(1, len(spec.items) + 1)],
        difficulty=request.form.get("difficulty"),
        client_id=request.form.get("client_id") or str(uuid.uuid4()),
    ), 422 if error else 200


@bp.route("/checkins/result/<client_id>")
@patients_only
def checkin_result(client_id):
    result = get_object_or_404(CheckIn, CheckIn.patient == _me(), CheckIn.client_id == client_id[:36])
    return render_template(
        "selfreports/checkin_result.html",
        result=result,
        spec=INSTRUMENTS[result.instrument],
        safety=checkins.safety_answer(result),
        lines=crisis.current_lines(),
        clinic_phone=crisis.clinic_phone(),
    )


@bp.route("/history")
@patients_only
def history():
    """Show the patient's mood and questionnaire scores as charts over 7 days, 30 days or all."""
    me = _me()
    today = local_day(utcnow(), me.timezone)
    window, mood_chart, score_charts = history_data.charts_for(me, request.args.get("range"), today)
    return render_template(
        "selfreports/history.html",
        window=window,
        ranges=charts.RANGE_LABELS,
        mood=mood_chart,
        scores=score_charts,
    )


@bp.route("/mood/<client_id>/edit", methods=["GET", "POST"])
@patients_only
def edit_mood(client_id):
    entry = _todays_entry(client_id)
    form = EmptyForm()
    errors = {}
    if form.validate_on_submit():
        data = _mood_form_data()
        data.pop("client_id")
        try:
            entry = mood.edit(_me(), entry, data)
        except Invalid as error:
            errors = error.fields
        else:
            return _after_mood(entry, "Your entry is updated.")
    return render_template(
        "selfreports/mood_edit.html",
        entry=entry,
        form=form,
        errors=errors,
        mood_words=mood.MOOD_WORDS,
        tags=mood.clinic_tags(),
    ), 422 if errors else 200


# --------------------------------------------------------------------------- JSON API (the offline outbox)


@bp.route("/api/v1/mood", methods=["POST"])
@patients_only
def api_create_mood():
    return stored(mood.submit(_me(), json_body()), mood.as_json)


@bp.route("/api/v1/mood", methods=["GET"])
@patients_only
def api_list_mood():
    days = max(1, min(request.args.get("days", 30, type=int) or 30, 3660))
    since = utcnow().date() - dt.timedelta(days=days)
    query = (
        MoodEntry.visible()
        .where(MoodEntry.patient == _me(), MoodEntry.local_day >= since)
        .order_by(MoodEntry.recorded_at.desc())
        .limit(LIST_LIMIT)
    )
    return jsonify(entries=[mood.as_json(e) for e in query])


def _own_entry(client_id: str, verb: str) -> MoodEntry:
    entry = get_object_or_404(MoodEntry.visible(), MoodEntry.patient == _me(), MoodEntry.client_id == client_id[:36])
    if not mood.editable(entry, _me()):
        abort(422, f"Entries can be {verb} only on the day they were logged.")
    return entry


@bp.route("/api/v1/mood/<client_id>", methods=["PATCH"])
@patients_only
def api_edit_mood(client_id):
    entry = mood.edit(_me(), _own_entry(client_id, "changed"), json_body())
    return jsonify(mood.as_json(entry))


@bp.route("/api/v1/mood/<client_id>", methods=["DELETE"])
@patients_only
def api_delete_mood(client_id):
    mood.delete(_me(), _own_entry(client_id, "removed"))
    return "", 204


@bp.route("/api/v1/checkins", methods=["GET"])
@patients_only
def api_list_checkins():
    query = CheckIn.select().where(CheckIn.patient == _me()).order_by(CheckIn.submitted_at.desc()).limit(LIST_LIMIT)
    return jsonify(checkins=[checkins.as_json(c) for c in query])


@bp.route("/api/v1/checkins", methods=["POST"])
@patients_only
def api_create_checkin():
    return stored(checkins.submit(_me(), json_body()), checkins.as_json)
