"""The patient's own pages: today, mood log, check-ins, settings."""

import datetime as dt
import uuid
import zoneinfo

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from peewee import fn

from .. import charts
from .. import crisis
from .. import instruments
from .. import schedule
from .. import selfreports
from ..access import patients_only
from ..auth.forms import EmptyForm
from ..db import db
from ..localtime import local_day
from ..models import AuditEvent
from ..models import CheckIn
from ..models import DOSING_KINDS
from ..models import Intention
from ..models import MoodDay
from ..models import MoodEntry
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..safety import CRISIS_PATTERNS
from .forms import SettingsForm

bp = Blueprint("patient", __name__)


def greeting(now_local: dt.datetime) -> str:
    if now_local.hour < 5:
        return "Hello"
    if now_local.hour < 12:
        return "Good morning"
    if now_local.hour < 18:
        return "Good afternoon"
    return "Good evening"


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/home")
@patients_only
def home():
    me = _me()
    now_local = dt.datetime.now(zoneinfo.ZoneInfo(me.timezone))
    today = (
        MoodEntry.visible()
        .where(MoodEntry.patient == me, MoodEntry.local_day == now_local.date())
        .order_by(MoodEntry.recorded_at.desc())
    )
    return render_template(
        "patient/home.html",
        greeting=greeting(now_local),
        today=now_local,
        entries=list(today),
        care_team=list(me.clinicians()),
        form=EmptyForm(),
        client_id=str(uuid.uuid4()),
        mood_words=selfreports.MOOD_WORDS,
        tags=selfreports.clinic_tags(),
        crisis_patterns=CRISIS_PATTERNS,
        last_checkins={key: _last(me, key) for key in instruments.INSTRUMENTS},
        **journey_today(me),
    )


def journey_today(patient: User) -> dict:
    """What the Today screen shows of the treatment journey: the next session and its to-dos,
    or where the patient is in the window of clarity and today's practices."""
    now = utcnow()
    upcoming = schedule.next_session(patient, now)
    todo = []
    if upcoming is not None and upcoming.starts_at > now:
        intention = Intention.get_or_none(Intention.session == upcoming)
        todo = [
            ("intention", "Set your intention", intention is not None and not intention.is_empty),
            ("playlist", "Choose the music for the room", upcoming.playlist_id is not None),
        ]
        if upcoming.is_dosing:
            todo.append(("ride", "Confirm who drives you home", upcoming.ride_confirmed_at is not None))
    window = schedule.window(patient, now)
    return {
        "session_url": _endpoint_url("journey.patient_session", session_id=upcoming.id) if upcoming else None,
        "journal_url": _endpoint_url("journal.new_entry", session=window.session.id) if window else None,
        "upcoming": upcoming,
        "countdown": countdown(upcoming.starts_at - now) if upcoming and upcoming.starts_at > now else None,
        "todo": todo,
        "window": window,
        "practices": schedule.practices_for(window.day, window.no_driving) if window else [],
    }


def _endpoint_url(endpoint: str, **values) -> str | None:
    # The journey and journal pages are separate blueprints; the Today screen links to them.
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def countdown(delta: dt.timedelta) -> str:
    """Say how long until a session in words a tired person reads at a glance."""
    minutes = int(delta.total_seconds() // 60)
    days, hours = divmod(minutes // 60, 24)
    if days >= 2:
        return f"in {days} days"
    if days == 1:
        return f"in 1 day and {hours} hour{'s' if hours != 1 else ''}" if hours else "in 1 day"
    if hours >= 1:
        return f"in {hours} hour{'s' if hours > 1 else ''}"
    return f"in {max(1, minutes)} minute{'s' if minutes > 1 else ''}"


def _last(patient: User, instrument: str) -> CheckIn | None:
    return (
        CheckIn.select()
        .where(CheckIn.patient == patient, CheckIn.instrument == instrument)
        .order_by(CheckIn.submitted_at.desc())
        .first()
    )


def _mood_form_data() -> dict:
    return {
        "client_id": request.form.get("client_id"),
        "score": request.form.get("score"),
        "note": request.form.get("note", ""),
        "tags": request.form.getlist("tags"),
    }


@bp.route("/mood", methods=["POST"])
@patients_only
def log_mood():
    """Log a mood entry from the plain form (the page's script uses the JSON API and the outbox)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        entry, _ = selfreports.submit_mood(_me(), _mood_form_data())
    except selfreports.Invalid as error:
        for message in error.fields.values():
            flash(message, "error")
        return redirect(url_for("patient.home"))
    except selfreports.Conflict:
        flash("That entry was already saved.", "info")
        return redirect(url_for("patient.home"))
    if selfreports.mood_json(entry)["crisis"]:
        return redirect(url_for("patient.support"))
    flash(f"Saved: {entry.score} · {selfreports.MOOD_WORDS[entry.score].lower()}. Thank you.", "success")
    return redirect(url_for("patient.home"))


def _todays_entry(client_id: str) -> MoodEntry:
    entry = MoodEntry.visible().where(MoodEntry.patient == _me(), MoodEntry.client_id == client_id[:36]).first()
    if entry is None:
        abort(404)
    if not selfreports.editable(entry, _me()):
        flash("Entries can be changed only on the day they were logged.", "info")
        abort(redirect(url_for("patient.home")))
    return entry


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
            entry = selfreports.edit_mood(_me(), entry, data)
        except selfreports.Invalid as error:
            errors = error.fields
        else:
            if selfreports.mood_json(entry)["crisis"]:
                return redirect(url_for("patient.support"))
            flash("Your entry is updated.", "success")
            return redirect(url_for("patient.home"))
    return render_template(
        "patient/mood_edit.html",
        entry=entry,
        form=form,
        errors=errors,
        mood_words=selfreports.MOOD_WORDS,
        tags=selfreports.clinic_tags(),
    )


@bp.route("/mood/<client_id>/delete", methods=["POST"])
@patients_only
def delete_mood(client_id):
    entry = _todays_entry(client_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    selfreports.delete_mood(_me(), entry)
    flash("The entry is removed.", "success")
    return redirect(url_for("patient.home"))


@bp.route("/support")
@patients_only
def support():
    """The screen after crisis language or a PHQ-9 item-9 answer (CLIN-02/04)."""
    return render_template("patient/support.html", lines=crisis.current_lines(), clinic_phone=crisis.clinic_phone())


@bp.route("/checkins/<instrument>", methods=["GET", "POST"])
@patients_only
def checkin(instrument):
    spec = instruments.INSTRUMENTS.get(instrument)
    if spec is None:
        abort(404)
    form = EmptyForm()
    error = None
    answers = [request.form.get(f"q{n}") for n in range(1, len(spec.items) + 1)]
    difficulty = request.form.get("difficulty")
    if form.validate_on_submit():
        data = {
            "client_id": request.form.get("client_id"),
            "instrument": spec.key,
            "answers": [int(a) if a and a.isdigit() else a for a in answers],
            "difficulty": int(difficulty) if difficulty and difficulty.isdigit() else None,
        }
        try:
            result, _ = selfreports.submit_checkin(_me(), data)
        except selfreports.Invalid as invalid:
            error = " ".join(invalid.fields.values())
        except selfreports.Conflict:
            error = "This questionnaire was already sent. Please reload the page to start a new one."
        else:
            return redirect(url_for("patient.checkin_result", client_id=result.client_id))
    return render_template(
        "patient/checkin.html",
        spec=spec,
        form=form,
        error=error,
        answers=answers,
        difficulty=difficulty,
        choices=instruments.ANSWERS,
        difficulty_choices=instruments.DIFFICULTY,
        difficulty_question=instruments.DIFFICULTY_QUESTION,
        client_id=request.form.get("client_id") or str(uuid.uuid4()),
    ), 422 if error else 200


@bp.route("/checkins/result/<client_id>")
@patients_only
def checkin_result(client_id):
    result = CheckIn.get_or_none(CheckIn.patient == _me(), CheckIn.client_id == client_id[:36])
    if result is None:
        abort(404)
    return render_template(
        "patient/checkin_result.html",
        result=result,
        spec=instruments.INSTRUMENTS[result.instrument],
        lines=crisis.current_lines(),
        clinic_phone=crisis.clinic_phone(),
    )


@bp.route("/history")
@patients_only
def history():
    """Show the patient's mood and questionnaire scores as charts over 7 days, 30 days or all."""
    me = _me()
    today = local_day(utcnow(), me.timezone)
    first_mood = MoodDay.select(fn.MIN(MoodDay.day)).where(MoodDay.patient == me).scalar()
    first_checkin = CheckIn.select(fn.MIN(CheckIn.submitted_at)).where(CheckIn.patient == me).scalar()
    firsts = [first_mood, first_checkin and local_day(first_checkin, me.timezone)]
    window = charts.window(request.args.get("range"), today, min(filter(None, firsts), default=None))
    since, until = window.utc_bounds(me.timezone)
    sessions = [
        local_day(s.starts_at, me.timezone)
        for s in TreatmentSession.live().where(
            TreatmentSession.patient == me,
            TreatmentSession.kind.in_(DOSING_KINDS),
            TreatmentSession.starts_at >= since,
            TreatmentSession.starts_at < until,
        )
    ]
    days = MoodDay.select().where(MoodDay.patient == me, MoodDay.day.between(window.start, window.end))
    scores = {
        key: charts.score_chart(
            spec,
            charts.local_scores(
                CheckIn.series(me, key).where(CheckIn.submitted_at >= since, CheckIn.submitted_at < until),
                me.timezone,
            ),
            window,
            markers=sessions,
        )
        for key, spec in instruments.INSTRUMENTS.items()
    }
    return render_template(
        "patient/history.html",
        window=window,
        ranges=charts.RANGE_LABELS,
        mood=charts.mood_chart(days, window, markers=sessions),
        scores=scores,
    )


@bp.route("/settings", methods=["GET", "POST"])
@patients_only
def settings():
    user = _me()
    form = SettingsForm(obj=user)
    if form.validate_on_submit():
        with db.atomic():
            User.update(
                timezone=form.timezone.data, quiet_start=form.quiet_start.data, quiet_end=form.quiet_end.data
            ).where(User.id == user.id).execute()
            AuditEvent.record("settings_changed", actor=user, patient=user)
        flash("Your settings are saved.", "success")
        return redirect(url_for("patient.settings"))
    return render_template("patient/settings.html", form=form)
