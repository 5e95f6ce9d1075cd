"""Sessions: clinicians schedule them and see the day's roster; patients prepare for each one.

Clinician pages live under /clinician, patient pages under /sessions, and the calendar feed
under /calendar/<token>.ics (public: calendar apps cannot sign in; the token is the secret).
"""

import datetime as dt

from flask import abort
from flask import Blueprint
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import Response
from flask import url_for
from flask_login import current_user

from ..access import clinicians_only
from ..access import get_object_or_404
from ..access import patient_for_staff
from ..access import patients_only
from ..access import public
from ..access import roles
from ..forms import EmptyForm
from ..intake import intakes
from ..links import external_url
from ..links import host
from ..localtime import to_local
from ..models import CANCELLED
from ..models import CLINICIAN
from ..models import DOSING_KINDS
from ..models import Intention
from ..models import PATIENT
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..pages import require_button
from . import calendar
from . import preparation
from . import record
from . import roster as rosters
from . import scheduling
from .forms import IntentionForm
from .forms import PlaylistForm
from .forms import RideForm
from .forms import SessionForm
from .forms import StatusForm
from .scheduling import ScheduleError

bp = Blueprint("journey", __name__)


def _me() -> User:
    return current_user._get_current_object()


# --------------------------------------------------------------------------- clinician: one patient's sessions


def _patient_page(patient: User) -> str:
    return url_for("clinician.patient", patient_id=patient.id) + "#sessions"


def _staff_session(session_id: int) -> tuple[TreatmentSession, User]:
    """Load a session of a patient the current clinician cares for, or answer 404 (AC-02)."""
    session = get_object_or_404(TreatmentSession, TreatmentSession.id == session_id)
    return session, patient_for_staff(session.patient_id)


def _attach(form: SessionForm, error: ScheduleError) -> None:
    target = {"kind": form.kind, "duration": form.duration}.get(error.field, form.time)
    target.errors = [*target.errors, str(error)]


def _render_session_form(form: SessionForm, patient: User, session: TreatmentSession | None, zone: str):
    """Show the scheduling form beside the patient's coming sessions."""
    return render_template(
        "journey/session_form.html",
        form=form,
        patient=patient,
        session=session,
        ask_intake=session is None and not intakes.reviewed([patient.id]),
        zone=zone,
        zone_now=to_local(utcnow(), zone),
        coming=record.coming_sessions(_me(), patient, session),
    ), 422 if form.errors else 200


def _scheduled_message(session: TreatmentSession, patient: User) -> str:
    clinic = to_local(session.starts_at, session.zone)
    text = f"{session.kind_label} for {patient.name}: {clinic.strftime('%A %-d %B %Y, %H:%M %Z')}"
    # A time in a DST gap moves forward, a repeated one means the first: say so, not silently.
    change = scheduling.clock_change(dt.datetime.fromisoformat(session.wall_time), session.zone)
    if change == "skipped":
        text += f" (the clocks skip {session.wall_time[-5:]} that night)"
    elif change == "repeated":
        text += f" (the first of the two {session.wall_time[-5:]}s: the clocks go back that night)"
    if patient.timezone != session.zone:
        text += f"; {to_local(session.starts_at, patient.timezone).strftime('%H:%M %Z')} for the patient"
    return text + "."


def _schedule(form: SessionForm, patient: User, zone: str, session: TreatmentSession | None = None):
    """Book a session (or move one) from the form; show the form again with the reason if it cannot be."""
    if form.validate_on_submit():
        when = {"kind": form.kind.data, "wall": form.wall, "duration_minutes": form.minutes, "zone": zone}
        unconfirmed = session is None and form.kind.data in DOSING_KINDS and not form.intake_ok.data
        if unconfirmed and not intakes.reviewed([patient.id]):
            # A clinical decision, so it asks and never blocks: the clinician confirms and books.
            form.intake_ok.errors = [
                f"{patient.name}'s intake screening is not reviewed. Review it first, or tick the box to book anyway."
            ]
            return _render_session_form(form, patient, session, zone)
        try:
            if session is None:
                saved = scheduling.book(patient, by=_me(), **when)
            else:
                saved = scheduling.move(session, by=_me(), **when)
        except ScheduleError as error:
            _attach(form, error)
        else:
            message = ("Changed: " if session else "Scheduled: ") + _scheduled_message(saved, patient)
            if session and saved.is_dosing and session.ride_confirmed_at and saved.ride_confirmed_at is None:
                message += " The ride home shows as not confirmed until the patient confirms it for the new time."
            flash(message, "success")
            return redirect(_patient_page(patient))
    return _render_session_form(form, patient, session, zone)


@bp.route("/clinician/patients/<int:patient_id>/sessions/new", methods=["GET", "POST"])
@clinicians_only
def new_session(patient_id):
    return _schedule(SessionForm(), patient_for_staff(patient_id), scheduling.clinic_zone())


@bp.route("/clinician/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@clinicians_only
def edit_session(session_id):
    session, patient = _staff_session(session_id)
    if not scheduling.preparation_open(session):
        flash("That session has started or is no longer scheduled, so it cannot be changed.", "error")
        return redirect(_patient_page(patient))
    zone = scheduling.clinic_zone()
    start = to_local(session.starts_at, zone)
    form = SessionForm(
        data={
            "kind": session.kind,
            "date": start.strftime("%Y-%m-%d"),
            "time": start.strftime("%H:%M"),
            "duration": str(session.duration_minutes),
        }
    )
    return _schedule(form, patient, zone, session)


@bp.route("/clinician/sessions/<int:session_id>/cancel", methods=["POST"])
@clinicians_only
def cancel_session(session_id):
    session, patient = _staff_session(session_id)
    require_button()
    try:
        scheduling.cancel(session, by=_me())
    except ScheduleError as error:
        flash(str(error), "error")
    else:
        when = to_local(session.starts_at, session.zone).strftime("%A %-d %B, %H:%M %Z")
        flash(f"Cancelled: {session.kind_label} on {when}. Its time is free again.", "success")
    return redirect(_patient_page(patient))


@bp.route("/clinician/sessions/<int:session_id>/status", methods=["POST"])
@clinicians_only
def session_status(session_id):
    session, patient = _staff_session(session_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        marked = scheduling.mark(session, form.status.data, by=_me())
    except ScheduleError as error:
        flash(str(error), "error")
    else:
        flash(f"Marked {marked.status_label.lower()}: {marked.kind_label} for {patient.name}.", "success")
    return redirect(_patient_page(patient))


# --------------------------------------------------------------------------- clinician: the day roster


def _parse_day(value: str | None, zone: str) -> dt.date:
    if not value:
        return scheduling.today_in(zone)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        abort(400, "Choose a day as year-month-day, for example 2026-12-03.")
    if not 2000 <= day.year <= 2999:
        # As the scheduling form: also keeps day arithmetic far from datetime's limits (years 1 and 9999).
        abort(400, "Check the year: choose a day between 2000 and 2999.")
    return day


@bp.route("/clinician/roster")
@clinicians_only
def roster():
    """Every session on one day for this clinician's patients, so the room can be set."""
    me = _me()
    zone = scheduling.clinic_zone()
    day = rosters.show(me, _parse_day(request.args.get("day"), zone), zone)
    return render_template(
        "journey/roster.html",
        day=day.day,
        zone=zone,
        today=scheduling.today_in(zone),
        previous_day=day.day - dt.timedelta(days=1),
        next_day=day.day + dt.timedelta(days=1),
        sessions=day.sessions,
        next_busy=day.next_busy,
        intentions=day.intentions,
        unreviewed=day.unreviewed,
        calendar_on=me.calendar_token_hash is not None,
        button=EmptyForm(),
    )


# --------------------------------------------------------------------------- patient: their sessions


def _own_session(session_id: int) -> TreatmentSession:
    """Load one of the current patient's sessions with its music pick, or answer 404 (AC-02)."""
    return get_object_or_404(
        TreatmentSession.with_playlist(), TreatmentSession.id == session_id, TreatmentSession.patient == _me()
    )


@bp.route("/sessions")
@patients_only
def patient_sessions():
    me = _me()
    now = utcnow()
    sessions = list(TreatmentSession.with_playlist(TreatmentSession.for_patient(me)))
    return render_template(
        "journey/sessions.html",
        open_ids={s.id for s in sessions if scheduling.preparation_open(s, now)},
        upcoming=[s for s in sessions if s.ends_at > now],
        past=[s for s in reversed(sessions) if s.ends_at <= now],
        intentions=preparation.intentions_for(sessions),
        calendar_on=me.calendar_token_hash is not None,
        button=EmptyForm(),
    )


def _render_session(session, *, intention_form=None, playlist_form=None, ride_form=None, notice=None, status=200):
    """Show one session with its preparation; forms not being submitted show what is stored."""
    intention = Intention.get_or_none(Intention.session == session)
    playlists = list(preparation.session_playlists())
    if intention_form is None:
        stored = (
            {"explore": intention.explore, "let_go": intention.let_go, "carry": intention.carry} if intention else {}
        )
        intention_form = IntentionForm(formdata=None, data=stored)
    if playlist_form is None:
        playlist_form = PlaylistForm(playlists, formdata=None, data={"playlist": str(session.playlist_id or "")})
    if ride_form is None:
        ride_form = RideForm(
            formdata=None, data={"ride_name": session.ride_name, "confirmed": session.ride_confirmed_at is not None}
        )
    now = utcnow()
    is_open = scheduling.preparation_open(session, now)
    return render_template(
        "journey/session.html",
        session=session,
        intention=intention,
        playlists={p.id: p for p in playlists},
        open=is_open,
        started=scheduling.has_started(session, now),
        in_progress=session.starts_at <= now < session.ends_at,
        # CLIN-08: before a dosing session, and for the 24 hours after it ends.
        no_driving=session.is_dosing
        and session.status != CANCELLED
        and (is_open or now < session.ends_at + dt.timedelta(hours=scheduling.NO_DRIVING_HOURS)),
        intention_form=intention_form,
        playlist_form=playlist_form,
        ride_form=ride_form,
        notice=notice,
        journal_url=url_for("journal.new_entry", session=session.id),
    ), status


CLOSED = "This session has started, so what you chose before it can no longer be changed."


@bp.route("/sessions/<int:session_id>")
@patients_only
def patient_session(session_id):
    return _render_session(_own_session(session_id))


def _accept(session: TreatmentSession, form, name: str) -> None:
    """Refuse a preparation form that cannot be saved: the session has started (409) or the form is wrong (422)."""
    if not scheduling.preparation_open(session):
        abort(make_response(_render_session(session, notice=CLOSED, status=409)))
    if not form.validate_on_submit():
        abort(make_response(_render_session(session, status=422, **{f"{name}_form": form})))


def _saved(session: TreatmentSession, anchor: str, message: str, category: str = "success"):
    """Say what was saved and go back to that part of the session's page."""
    flash(message, category)
    return redirect(url_for("journey.patient_session", session_id=session.id) + f"#{anchor}")


@bp.route("/sessions/<int:session_id>/intention", methods=["POST"])
@patients_only
def save_intention(session_id):
    session = _own_session(session_id)
    form = IntentionForm()
    _accept(session, form, "intention")
    if preparation.save_intention(_me(), session, form.texts):
        return redirect(url_for("patient.support"))  # CLIN-04
    return _saved(session, "intention", "Your intention is saved. Your care team can read it too.")


@bp.route("/sessions/<int:session_id>/playlist", methods=["POST"])
@patients_only
def pick_playlist(session_id):
    session = _own_session(session_id)
    playlists = list(preparation.session_playlists())
    form = PlaylistForm(playlists)
    _accept(session, form, "playlist")
    try:
        preparation.pick_playlist(_me(), session, form.playlist_id)
    except preparation.PlaylistGone as error:
        fresh = PlaylistForm(list(preparation.session_playlists()), formdata=None)
        fresh.playlist.errors = [str(error)]
        return _render_session(session, playlist_form=fresh, status=409)
    if form.playlist_id:
        title = next(p.title for p in playlists if p.id == form.playlist_id)
        return _saved(session, "playlist", f"Saved: “{title}” will be ready in the room.")
    return _saved(session, "playlist", "Saved: your care team will choose the music.")


@bp.route("/sessions/<int:session_id>/ride", methods=["POST"])
@patients_only
def confirm_ride(session_id):
    session = _own_session(session_id)
    if not session.is_dosing:
        abort(404)  # only dosing sessions ask for a ride home
    form = RideForm(confirmed_before=session.ride_confirmed_at is not None)
    _accept(session, form, "ride")
    preparation.confirm_ride(_me(), session, name=form.ride_name.data or "", confirmed=form.confirmed.data)
    if form.confirmed.data:
        return _saved(session, "ride", "Thank you: your ride home is confirmed.")
    return _saved(
        session,
        "ride",
        "Your ride home is no longer confirmed. If you need help getting home, tell your care team.",
        "warning",
    )


# --------------------------------------------------------------------------- calendar subscription


def _calendar_home(user: User) -> str:
    return url_for("journey.roster") if user.role == CLINICIAN else url_for("journey.patient_sessions")


@bp.route("/calendar/link", methods=["POST"])
@roles(PATIENT, CLINICIAN)
def calendar_link():
    """Create (or replace) the user's calendar subscription link and show it, once."""
    require_button()
    me = _me()
    replaced = me.calendar_token_hash is not None
    url = external_url("journey.calendar_feed", token=calendar.new_token(me))
    return render_template(
        "journey/calendar_ready.html",
        url=url,
        webcal=url.split("://", 1)[1],
        replaced=replaced,
        back_url=_calendar_home(me),
    )


@bp.route("/calendar/link/revoke", methods=["POST"])
@roles(PATIENT, CLINICIAN)
def revoke_calendar_link():
    require_button()
    me = _me()
    calendar.revoke(me)
    flash("Your calendar link no longer works. Calendars that used it stop updating.", "success")
    return redirect(_calendar_home(me))


@bp.route("/calendar/<token>.ics")
@public
def calendar_feed(token):
    """The subscription feed a calendar app polls: appointment times under a generic title."""
    user = calendar.owner(token)
    if user is None:
        abort(404)
    response = Response(calendar.feed(user, host()), mimetype="text/calendar")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = 'inline; filename="aftercare.ics"'
    return response
