"""Playlists: staff curate them; everyone signed in reads them (patients only the active ones)."""

from flask import abort
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from peewee import fn
from peewee import IntegrityError
from peewee import JOIN

from ..access import signed_in
from ..access import staff_only
from ..auth.forms import EmptyForm
from ..db import db
from ..models import AuditEvent
from ..models import PATIENT
from ..models import Playlist
from ..models import PLAYLIST_PURPOSES
from ..models import Track
from ..models import TreatmentSession
from .forms import format_duration
from .forms import format_total
from .forms import link_host
from .forms import PlaylistDetailsForm
from .forms import TrackForm

bp = Blueprint("playlists", __name__, url_prefix="/playlists")

MAX_TRACKS = 100
# Never a real position (they start at 1): one track parks here while two swap,
# because UNIQUE(playlist, position) is checked row by row, not at commit.
PARKED = -1
CONFLICT = "Someone else changed this playlist at the same moment. Nothing was saved; please try again."


@bp.context_processor
def helpers():
    return {"format_duration": format_duration, "format_total": format_total, "purposes": PLAYLIST_PURPOSES}


def _me():
    return current_user._get_current_object()


def _playlist(playlist_id: int) -> Playlist:
    playlist = Playlist.get_or_none(Playlist.id == playlist_id)
    if playlist is None:
        abort(404)
    return playlist


def _track(playlist: Playlist, track_id: int) -> Track:
    track = Track.get_or_none(Track.id == track_id, Track.playlist == playlist)
    if track is None:
        abort(404)
    return track


def _changed(playlist_id: int) -> None:
    AuditEvent.record("playlist_changed", actor=_me(), detail=f"playlist {playlist_id}")


def _is_picked(playlist: Playlist) -> bool:
    return TreatmentSession.select().where(TreatmentSession.playlist == playlist).exists()


def _with_totals(query):
    """Add each playlist's track count and running time to a playlist query."""
    return (
        query.select_extend(
            fn.COUNT(Track.id).alias("track_count"),
            fn.COALESCE(fn.SUM(Track.duration_seconds), 0).alias("total_seconds"),
        )
        .join(Track, JOIN.LEFT_OUTER)
        .group_by(Playlist.id)
    )


@bp.route("/")
@staff_only
def index():
    playlists = list(_with_totals(Playlist.select()).order_by(fn.LOWER(Playlist.title), Playlist.id))
    groups = [
        (purpose, label, [p for p in playlists if p.active and p.purpose == purpose])
        for purpose, label in PLAYLIST_PURPOSES.items()
    ]
    archived = [p for p in playlists if not p.active]
    return render_template("playlists/index.html", groups=groups, archived=archived)


@bp.route("/new", methods=["GET", "POST"])
@staff_only
def new():
    form = PlaylistDetailsForm(purpose=request.args.get("purpose", "session"))
    if form.validate_on_submit():
        with db.atomic():
            playlist = Playlist.create(
                title=form.title.data,
                purpose=form.purpose.data,
                description=form.description.data or "",
                created_by=_me(),
            )
            _changed(playlist.id)
        flash("Playlist created. Now add its tracks.", "success")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id))
    return render_template("playlists/new.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/<int:playlist_id>")
@signed_in
def show(playlist_id):
    playlist = _playlist(playlist_id)
    if current_user.role == PATIENT and not playlist.active:
        abort(404)
    tracks = [(track, link_host(track.url)) for track in playlist.tracks]
    return render_template(
        "playlists/show.html",
        playlist=playlist,
        tracks=tracks,
        total=sum(track.duration_seconds for track, _ in tracks),
    )


def render_edit(playlist, details=None, track_form=None, status=200):
    """Render the curation page: tracks, the add-track form, details, and remove or restore."""
    if details is None:
        details = PlaylistDetailsForm(prefix="details", obj=playlist)
    tracks = [(track, link_host(track.url)) for track in playlist.tracks]
    return render_template(
        "playlists/edit.html",
        playlist=playlist,
        tracks=tracks,
        total=sum(track.duration_seconds for track, _ in tracks),
        details=details,
        track_form=track_form or TrackForm(prefix="track", formdata=None),
        button=EmptyForm(),
        picked=_is_picked(playlist),
    ), status


@bp.route("/<int:playlist_id>/edit", methods=["GET", "POST"])
@staff_only
def edit(playlist_id):
    playlist = _playlist(playlist_id)
    if request.method == "GET":
        return render_edit(playlist)
    form = PlaylistDetailsForm(prefix="details")
    if not form.validate_on_submit():
        return render_edit(playlist, details=form, status=422)
    with db.atomic():
        Playlist.update(
            title=form.title.data, purpose=form.purpose.data, description=form.description.data or ""
        ).where(Playlist.id == playlist.id).execute()
        _changed(playlist.id)
    flash("Details saved.", "success")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id))


@bp.route("/<int:playlist_id>/tracks", methods=["POST"])
@staff_only
def add_track(playlist_id):
    playlist = _playlist(playlist_id)
    form = TrackForm(prefix="track")
    if not form.validate_on_submit():
        return render_edit(playlist, track_form=form, status=422)
    if Track.select().where(Track.playlist == playlist).count() >= MAX_TRACKS:
        form.title.errors.append(f"A playlist holds at most {MAX_TRACKS} tracks. Start a second playlist instead.")
        return render_edit(playlist, track_form=form, status=422)
    try:
        with db.atomic():
            last = Track.select(fn.MAX(Track.position)).where(Track.playlist == playlist).scalar() or 0
            track = Track.create(
                playlist=playlist,
                position=last + 1,
                title=form.title.data,
                artist=form.artist.data,
                duration_seconds=form.seconds,
                url=form.url.data or "",
            )
            _changed(playlist.id)
    except IntegrityError:
        flash(CONFLICT, "error")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id))
    flash(f"Added “{track.title}”.", "success")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor="add-track"))


@bp.route("/<int:playlist_id>/tracks/<int:track_id>/edit", methods=["GET", "POST"])
@staff_only
def edit_track(playlist_id, track_id):
    playlist = _playlist(playlist_id)
    track = _track(playlist, track_id)
    form = TrackForm()
    if request.method == "GET":
        form = TrackForm(obj=track, duration=format_duration(track.duration_seconds))
    elif form.validate_on_submit():
        with db.atomic():
            Track.update(
                title=form.title.data,
                artist=form.artist.data,
                duration_seconds=form.seconds,
                url=form.url.data or "",
            ).where(Track.id == track.id).execute()
            _changed(playlist.id)
        flash("Track saved.", "success")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor=f"track-{track.id}"))
    status = 422 if form.is_submitted() else 200
    return render_template("playlists/track.html", playlist=playlist, track=track, form=form), status


@bp.route("/<int:playlist_id>/tracks/<int:track_id>/remove", methods=["POST"])
@staff_only
def remove_track(playlist_id, track_id):
    playlist = _playlist(playlist_id)
    track = _track(playlist, track_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with db.atomic():
        # Positions keep their gaps: renumbering the rest would trip the unique index row by row.
        Track.delete().where(Track.id == track.id).execute()
        _changed(playlist.id)
    flash(f"Removed “{track.title}”.", "success")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor="tracks"))


@bp.route("/<int:playlist_id>/tracks/<int:track_id>/move", methods=["POST"])
@staff_only
def move_track(playlist_id, track_id):
    playlist = _playlist(playlist_id)
    _track(playlist, track_id)
    direction = request.form.get("direction")
    if not EmptyForm().validate_on_submit() or direction not in ("up", "down"):
        abort(400)
    try:
        with db.atomic():
            # Read the positions inside the transaction: another curator may have moved them.
            track = _track(playlist, track_id)
            siblings = Track.select().where(Track.playlist == playlist)
            if direction == "up":
                neighbour = siblings.where(Track.position < track.position).order_by(Track.position.desc()).first()
            else:
                neighbour = siblings.where(Track.position > track.position).order_by(Track.position).first()
            if neighbour is not None:
                Track.update(position=PARKED).where(Track.id == track.id).execute()
                Track.update(position=track.position).where(Track.id == neighbour.id).execute()
                Track.update(position=neighbour.position).where(Track.id == track.id).execute()
                _changed(playlist.id)
    except IntegrityError:
        flash(CONFLICT, "error")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor="tracks"))
    if neighbour is None:
        flash(f"“{track.title}” is already {'first' if direction == 'up' else 'last'}.", "info")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor=f"track-{track.id}"))


@bp.route("/<int:playlist_id>/remove", methods=["POST"])
@staff_only
def remove(playlist_id):
    playlist = _playlist(playlist_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with db.atomic():
        # A playlist a session has picked stays, archived: the session's record still names it.
        if _is_picked(playlist):
            Playlist.update(active=False).where(Playlist.id == playlist.id).execute()
            _changed(playlist.id)
            archived = True
        else:
            Track.delete().where(Track.playlist == playlist).execute()
            Playlist.delete().where(Playlist.id == playlist.id).execute()
            _changed(playlist.id)
            archived = False
    if archived:
        flash(
            f"“{playlist.title}” is archived: sessions that picked it keep it, and patients no longer see it.",
            "success",
        )
    else:
        flash(f"“{playlist.title}” is deleted.", "success")
    return redirect(url_for("playlists.index"))


@bp.route("/<int:playlist_id>/restore", methods=["POST"])
@staff_only
def restore(playlist_id):
    playlist = _playlist(playlist_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    with db.atomic():
        Playlist.update(active=True).where(Playlist.id == playlist.id).execute()
        _changed(playlist.id)
    flash(f"“{playlist.title}” is offered to patients again.", "success")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id))
