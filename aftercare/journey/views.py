"""Sessions: clinicians schedule them and see the day's roster; patients prepare for each one.

Clinician pages live under /clinician, patient pages under /sessions, and the calendar feed
under /calendar/<token>.ics (public: calendar apps cannot sign in; the token is the secret).
"""

import datetime as dt
from dataclasses import dataclass

from flask import abort
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import Response
from flask import url_for
from flask_login import current_user
from peewee import IntegrityError
from peewee import JOIN

from .. import schedule
from ..access import clinicians_only
from ..access import patient_for_staff
from ..access import patients_only
from ..access import public
from ..access import roles
from ..auth.forms import EmptyForm
from ..db import db
from ..localtime import to_local
from ..models import AuditEvent
from ..models import CANCELLED
from ..models import CLINICIAN
from ..models import Intention
from ..models import PATIENT
from ..models import Playlist
from ..models import SafetyAlert
from ..models import SCHEDULED
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..safety import has_crisis_language
from ..schedule import ScheduleError
from . import calendar
from .forms import IntentionForm
from .forms import PlaylistForm
from .forms import RideForm
from .forms import SessionForm
from .forms import StatusForm

bp = Blueprint("journey", __name__)


def _me() -> User:
    return current_user._get_current_object()


def _with_playlist(query):
    """Load each session's playlist pick in the same query."""
    return query.select_extend(Playlist).join(Playlist, JOIN.LEFT_OUTER).switch(TreatmentSession)


def _intentions(sessions) -> dict[int, Intention]:
    ids = [s.id for s in sessions]
    if not ids:
        return {}
    return {i.session_id: i for i in Intention.select().where(Intention.session.in_(ids))}


def session_playlists():
    """Return the query for the playlists a patient may pick for the session room."""
    return (
        Playlist.select()
        .where(Playlist.active == True, Playlist.purpose == "session")  # noqa: E712
        .order_by(Playlist.title, Playlist.id)
    )


# --------------------------------------------------------------------------- clinician: one patient's sessions


@dataclass
class PatientSessions:
    """What journey/_patient_sessions.html shows on the clinician's patient page."""

    patient: User
    upcoming: list[TreatmentSession]  # not yet ended, soonest first (cancelled ones included, marked)
    past: list[TreatmentSession]  # ended, most recent first
    intentions: dict[int, Intention]
    clinic_zone: str
    button: EmptyForm
    now: dt.datetime

    def needs_marking(self, session: TreatmentSession) -> bool:
        return session.status == SCHEDULED and schedule.has_started(session, self.now)

    def can_change(self, session: TreatmentSession) -> bool:
        return schedule.preparation_open(session, self.now)


def sessions_context(patient: User, now: dt.datetime | None = None) -> dict:
    """Return the template context for journey/_patient_sessions.html: {"journey": PatientSessions}.

    The caller (the clinician's patient page) writes the audit row for viewing the record.
    """
    now = now or utcnow()
    sessions = list(_with_playlist(TreatmentSession.for_patient(patient)))
    upcoming = [s for s in sessions if s.ends_at > now]
    past = [s for s in reversed(sessions) if s.ends_at <= now]
    return {
        "journey": PatientSessions(
            patient=patient,
            upcoming=upcoming,
            past=past,
            intentions=_intentions(sessions),
            clinic_zone=schedule.clinic_zone(),
            button=EmptyForm(),
            now=now,
        )
    }


def _patient_page(patient: User) -> str:
    return url_for("clinician.patient", patient_id=patient.id) + "#sessions"


def _staff_session(session_id: int) -> tuple[TreatmentSession, User]:
    """Load a session of a patient the current clinician cares for, or answer 404 (AC-02)."""
    session = TreatmentSession.get_or_none(TreatmentSession.id == session_id)
    if session is None:
        abort(404)
    patient = patient_for_staff(session.patient_id)
    return session, patient


def _attach(form: SessionForm, error: ScheduleError) -> None:
    target = {"kind": form.kind, "duration": form.duration}.get(error.field, form.time)
    target.errors = [*target.errors, str(error)]


def _render_session_form(form: SessionForm, patient: User, session: TreatmentSession | None, zone: str):
    """Show the scheduling form; it lists the patient's coming sessions, so the showing is audited (LOG-01)."""
    AuditEvent.record(
        "view_sessions", actor=_me(), patient=patient, detail=f"session {session.id}" if session else "new session"
    )
    now = utcnow()
    coming = TreatmentSession.live().where(
        TreatmentSession.patient == patient, TreatmentSession.starts_at > now - dt.timedelta(hours=8)
    )
    return render_template(
        "journey/session_form.html",
        form=form,
        patient=patient,
        session=session,
        zone=zone,
        zone_now=to_local(now, zone),
        coming=[s for s in coming.order_by(TreatmentSession.starts_at) if not session or s.id != session.id],
    ), 422 if form.errors else 200


def _scheduled_message(session: TreatmentSession, patient: User) -> str:
    clinic = to_local(session.starts_at, session.zone)
    text = f"{session.kind_label} for {patient.name}: {clinic.strftime('%A %-d %B %Y, %H:%M %Z')}"
    # A time in a DST gap moves forward, a repeated one means the first: say so, not silently.
    change = schedule.clock_change(dt.datetime.fromisoformat(session.wall_time), session.zone)
    if change == "skipped":
        text += f" (the clocks skip {session.wall_time[-5:]} that night)"
    elif change == "repeated":
        text += f" (the first of the two {session.wall_time[-5:]}s: the clocks go back that night)"
    if patient.timezone != session.zone:
        text += f"; {to_local(session.starts_at, patient.timezone).strftime('%H:%M %Z')} for the patient"
    return text + "."


@bp.route("/clinician/patients/<int:patient_id>/sessions/new", methods=["GET", "POST"])
@clinicians_only
def new_session(patient_id):
    patient = patient_for_staff(patient_id)
    zone = schedule.clinic_zone()
    form = SessionForm()
    if form.validate_on_submit():
        try:
            session = schedule.book(
                patient, by=_me(), kind=form.kind.data, wall=form.wall, duration_minutes=form.minutes, zone=zone
            )
        except ScheduleError as error:
            _attach(form, error)
        else:
            flash("Scheduled: " + _scheduled_message(session, patient), "success")
            return redirect(_patient_page(patient))
    return _render_session_form(form, patient, None, zone)


@bp.route("/clinician/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@clinicians_only
def edit_session(session_id):
    session, patient = _staff_session(session_id)
    if not schedule.preparation_open(session):
        flash("That session has started or is no longer scheduled, so it cannot be changed.", "error")
        return redirect(_patient_page(patient))
    zone = schedule.clinic_zone()
    start = to_local(session.starts_at, zone)
    form = SessionForm(
        data={
            "kind": session.kind,
            "date": start.strftime("%Y-%m-%d"),
            "time": start.strftime("%H:%M"),
            "duration": str(session.duration_minutes),
        }
    )
    if form.validate_on_submit():
        try:
            moved = schedule.move(
                session, by=_me(), kind=form.kind.data, wall=form.wall, duration_minutes=form.minutes, zone=zone
            )
        except ScheduleError as error:
            _attach(form, error)
        else:
            message = "Changed: " + _scheduled_message(moved, patient)
            if moved.is_dosing and session.ride_confirmed_at and moved.ride_confirmed_at is None:
                message += " The ride home shows as not confirmed until the patient confirms it for the new time."
            flash(message, "success")
            return redirect(_patient_page(patient))
    return _render_session_form(form, patient, session, zone)


@bp.route("/clinician/sessions/<int:session_id>/cancel", methods=["POST"])
@clinicians_only
def cancel_session(session_id):
    session, patient = _staff_session(session_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        schedule.cancel(session, by=_me())
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
        marked = schedule.mark(session, form.status.data, by=_me())
    except ScheduleError as error:
        flash(str(error), "error")
    else:
        flash(f"Marked {marked.status_label.lower()}: {marked.kind_label} for {patient.name}.", "success")
    return redirect(_patient_page(patient))


# --------------------------------------------------------------------------- clinician: the day roster


def _parse_day(value: str | None, zone: str) -> dt.date:
    if not value:
        return schedule.today_in(zone)
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
    zone = schedule.clinic_zone()
    day = _parse_day(request.args.get("day"), zone)
    start, end = schedule.day_bounds(day, zone)
    sessions = list(
        _with_playlist(
            TreatmentSession.select(TreatmentSession, User)
            .join(User, on=TreatmentSession.patient)
            .switch(TreatmentSession)
        )
        .where(
            TreatmentSession.patient.in_(me.patients().select(User.id)),
            TreatmentSession.starts_at >= start,
            TreatmentSession.starts_at < end,
        )
        .order_by(TreatmentSession.starts_at, User.name)
    )
    # An empty day points to the next one with sessions, so nobody pages through a quiet week.
    next_busy = None
    if not sessions:
        following = (
            TreatmentSession.live()
            .where(TreatmentSession.patient.in_(me.patients().select(User.id)), TreatmentSession.starts_at >= end)
            .order_by(TreatmentSession.starts_at)
            .first()
        )
        next_busy = to_local(following.starts_at, zone).date() if following else None
    # LOG-01: one audit row for each patient whose data the roster shows.
    with db.atomic():
        for patient in {s.patient_id: s.patient for s in sessions}.values():
            AuditEvent.record("view_roster", actor=me, patient=patient, detail=day.isoformat())
    return render_template(
        "journey/roster.html",
        day=day,
        zone=zone,
        today=schedule.today_in(zone),
        previous_day=day - dt.timedelta(days=1),
        next_day=day + dt.timedelta(days=1),
        sessions=sessions,
        next_busy=next_busy,
        intentions=_intentions(sessions),
        calendar_on=me.calendar_token_hash is not None,
        button=EmptyForm(),
    )


# --------------------------------------------------------------------------- patient: their sessions


def _own_session(session_id: int) -> TreatmentSession:
    """Load one of the current patient's sessions, or answer 404 (AC-02)."""
    session = _with_playlist(TreatmentSession.select()).where(
        TreatmentSession.id == session_id, TreatmentSession.patient == _me()
    )
    session = session.first()
    if session is None:
        abort(404)
    return session


@bp.route("/sessions")
@patients_only
def patient_sessions():
    me = _me()
    now = utcnow()
    sessions = list(_with_playlist(TreatmentSession.for_patient(me)))
    return render_template(
        "journey/sessions.html",
        open_ids={s.id for s in sessions if schedule.preparation_open(s, now)},
        upcoming=[s for s in sessions if s.ends_at > now],
        past=[s for s in reversed(sessions) if s.ends_at <= now],
        intentions=_intentions(sessions),
        calendar_on=me.calendar_token_hash is not None,
        button=EmptyForm(),
    )


def _render_session(session, *, intention_form=None, playlist_form=None, ride_form=None, notice=None, status=200):
    """Show one session with its preparation; forms not being submitted show what is stored."""
    intention = Intention.get_or_none(Intention.session == session)
    playlists = list(session_playlists())
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
    journal = "journal.new_entry"
    now = utcnow()
    is_open = schedule.preparation_open(session, now)
    return render_template(
        "journey/session.html",
        session=session,
        intention=intention,
        playlists={p.id: p for p in playlists},
        open=is_open,
        started=schedule.has_started(session, now),
        in_progress=session.starts_at <= now < session.ends_at,
        # CLIN-08: before a dosing session, and for the 24 hours after it ends.
        no_driving=session.is_dosing
        and session.status != CANCELLED
        and (is_open or now < session.ends_at + dt.timedelta(hours=schedule.NO_DRIVING_HOURS)),
        intention_form=intention_form,
        playlist_form=playlist_form,
        ride_form=ride_form,
        notice=notice,
        journal_url=url_for(journal, session=session.id) if journal in current_app.view_functions else None,
    ), status


CLOSED = "This session has started, so what you chose before it can no longer be changed."


@bp.route("/sessions/<int:session_id>")
@patients_only
def patient_session(session_id):
    return _render_session(_own_session(session_id))


@bp.route("/sessions/<int:session_id>/intention", methods=["POST"])
@patients_only
def save_intention(session_id):
    session = _own_session(session_id)
    form = IntentionForm()
    if not schedule.preparation_open(session):
        return _render_session(session, notice=CLOSED, status=409)
    if not form.validate_on_submit():
        return _render_session(session, intention_form=form, status=422)
    me = _me()
    texts = form.texts
    crisis = any(has_crisis_language(text) for text in texts.values())
    with db.atomic():
        Intention.insert(session=session, updated_at=utcnow(), **texts).on_conflict(
            conflict_target=[Intention.session],
            update={**{getattr(Intention, k): v for k, v in texts.items()}, Intention.updated_at: utcnow()},
        ).execute()
        if crisis:
            # CLIN-04, in the same transaction as the words that raised it (DUR-03).
            when = to_local(session.starts_at, me.timezone)
            detail = f"Crisis language in the intention for the session on {when:%-d %B %Y}"
            SafetyAlert.raise_unless_open(me, "crisis_language", detail)
        AuditEvent.record("intention_saved", actor=me, patient=me, detail=f"session {session.id}")
    if crisis:
        return redirect(url_for("patient.support"))
    flash("Your intention is saved. Your care team can read it too.", "success")
    return redirect(url_for("journey.patient_session", session_id=session.id) + "#intention")


@bp.route("/sessions/<int:session_id>/playlist", methods=["POST"])
@patients_only
def pick_playlist(session_id):
    session = _own_session(session_id)
    playlists = list(session_playlists())
    form = PlaylistForm(playlists)
    if not schedule.preparation_open(session):
        return _render_session(session, notice=CLOSED, status=409)
    if not form.validate_on_submit():
        return _render_session(session, playlist_form=form, status=422)
    me = _me()
    try:
        with db.atomic():
            TreatmentSession.update(playlist=form.playlist_id).where(TreatmentSession.id == session.id).execute()
            AuditEvent.record("playlist_picked", actor=me, patient=me, detail=f"session {session.id}")
    except IntegrityError:
        # The clinic removed that playlist while this page was open (the foreign key refused it).
        fresh = PlaylistForm(list(session_playlists()), formdata=None)
        fresh.playlist.errors = ["That playlist is no longer offered. Please choose again."]
        return _render_session(session, playlist_form=fresh, status=409)
    if form.playlist_id:
        title = next(p.title for p in playlists if p.id == form.playlist_id)
        flash(f"Saved: “{title}” will be ready in the room.", "success")
    else:
        flash("Saved: your care team will choose the music.", "success")
    return redirect(url_for("journey.patient_session", session_id=session.id) + "#playlist")


@bp.route("/sessions/<int:session_id>/ride", methods=["POST"])
@patients_only
def confirm_ride(session_id):
    session = _own_session(session_id)
    if not session.is_dosing:
        abort(404)  # only dosing sessions ask for a ride home
    form = RideForm()
    if not schedule.preparation_open(session):
        return _render_session(session, notice=CLOSED, status=409)
    valid = form.validate_on_submit()
    if valid and not form.confirmed.data and session.ride_confirmed_at is None:
        form.confirmed.errors = ["Tick the box once someone has agreed to take you home."]
        valid = False
    if not valid:
        return _render_session(session, ride_form=form, status=422)
    me = _me()
    confirmed_at = utcnow() if form.confirmed.data else None
    with db.atomic():
        TreatmentSession.update(ride_name=form.ride_name.data or "", ride_confirmed_at=confirmed_at).where(
            TreatmentSession.id == session.id
        ).execute()
        AuditEvent.record(
            "ride_confirmed" if confirmed_at else "ride_withdrawn", actor=me, patient=me, detail=f"session {session.id}"
        )
    if confirmed_at:
        flash("Thank you: your ride home is confirmed.", "success")
    else:
        flash("Your ride home is no longer confirmed. If you need help getting home, tell your care team.", "warning")
    return redirect(url_for("journey.patient_session", session_id=session.id) + "#ride")


# --------------------------------------------------------------------------- calendar subscription


def _calendar_home(user: User) -> str:
    return url_for("journey.roster") if user.role == CLINICIAN else url_for("journey.patient_sessions")


@bp.route("/calendar/link", methods=["POST"])
@roles(PATIENT, CLINICIAN)
def calendar_link():
    """Create (or replace) the user's calendar subscription link and show it, once."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    me = _me()
    with db.atomic():
        replaced = me.calendar_token_hash is not None
        token = calendar.new_token(me)
        AuditEvent.record("calendar_link_created", actor=me, patient=me if me.role == PATIENT else None)
    return render_template(
        "journey/calendar_ready.html",
        url=url_for("journey.calendar_feed", token=token, _external=True),
        webcal=url_for("journey.calendar_feed", token=token, _external=True).split("://", 1)[1],
        replaced=replaced,
        back_url=_calendar_home(me),
    )


@bp.route("/calendar/link/revoke", methods=["POST"])
@roles(PATIENT, CLINICIAN)
def revoke_calendar_link():
    if not EmptyForm().validate_on_submit():
        abort(400)
    me = _me()
    with db.atomic():
        calendar.revoke(me)
        AuditEvent.record("calendar_link_revoked", actor=me, patient=me if me.role == PATIENT else None)
    flash("Your calendar link no longer works. Calendars that used it stop updating.", "success")
    return redirect(_calendar_home(me))


@bp.route("/calendar/<token>.ics")
@public
def calendar_feed(token):
    """The subscription feed a calendar app polls: appointment times under a generic title."""
    user = calendar.owner(token)
    if user is None:
        abort(404)
    body, patient_ids = calendar.feed(user, request.host)
    if user.role == CLINICIAN:
        # The feed holds patients' appointment times (no names): each download is audited,
        # one row per patient in it, as the roster is (LOG-01).
        with db.atomic():
            for patient in User.select().where(User.id.in_(patient_ids)):
                AuditEvent.record("calendar_feed", actor=user, patient=patient, detail="clinician calendar feed")
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = 'inline; filename="aftercare.ics"'
    return response
