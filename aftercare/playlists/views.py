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
from peewee import JOIN

from ..access import get_object_or_404
from ..access import signed_in
from ..access import staff_only
from ..forms import EmptyForm
from ..models import PATIENT
from ..models import Playlist
from ..models import PLAYLIST_PURPOSES
from ..models import Track
from ..pages import button
from ..pages import require_button
from . import curation
from .forms import format_duration
from .forms import format_total
from .forms import link_host
from .forms import PlaylistDetailsForm
from .forms import TrackForm

bp = Blueprint("playlists", __name__, url_prefix="/playlists")


@bp.context_processor
def helpers():
    return {"format_duration": format_duration, "format_total": format_total, "purposes": PLAYLIST_PURPOSES}


def _me():
    return current_user._get_current_object()


def _playlist(playlist_id: int) -> Playlist:
    return get_object_or_404(Playlist, Playlist.id == playlist_id)


def _track(playlist: Playlist, track_id: int) -> Track:
    return get_object_or_404(Track, Track.id == track_id, Track.playlist == playlist)


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
        playlist = curation.create(
            by=_me(), title=form.title.data, purpose=form.purpose.data, description=form.description.data or ""
        )
        flash("Playlist created. Now add its tracks.", "success")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id))
    return render_template("playlists/new.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/<int:playlist_id>")
@signed_in
def show(playlist_id):
    playlist = _playlist(playlist_id)
    if current_user.role == PATIENT and not playlist.active:
        abort(404)
    return render_template("playlists/show.html", **_listing(playlist))


def _listing(playlist: Playlist) -> dict:
    """The playlist with its tracks (each with its link's host) and their running time."""
    tracks = [(track, link_host(track.url)) for track in playlist.tracks]
    return {"playlist": playlist, "tracks": tracks, "total": sum(track.duration_seconds for track, _ in tracks)}


def render_edit(playlist, details=None, track_form=None, status=200):
    """Render the curation page: tracks, the add-track form, details, and remove or restore."""
    if details is None:
        details = PlaylistDetailsForm(prefix="details", obj=playlist)
    return render_template(
        "playlists/edit.html",
        **_listing(playlist),
        details=details,
        track_form=track_form or TrackForm(prefix="track", formdata=None),
        button=EmptyForm(),
        picked=curation.is_picked(playlist),
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
    curation.update(
        playlist, by=_me(), title=form.title.data, purpose=form.purpose.data, description=form.description.data or ""
    )
    flash("Details saved.", "success")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id))


@bp.route("/<int:playlist_id>/tracks", methods=["POST"])
@staff_only
def add_track(playlist_id):
    playlist = _playlist(playlist_id)
    form = TrackForm(prefix="track")
    if not form.validate_on_submit():
        return render_edit(playlist, track_form=form, status=422)
    try:
        track = curation.add_track(playlist, by=_me(), **form.track)
    except curation.Busy as error:
        flash(str(error), "error")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id))
    except curation.CurationError as error:
        form.title.errors.append(str(error))
        return render_edit(playlist, track_form=form, status=422)
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
        curation.update_track(track, by=_me(), **form.track)
        flash("Track saved.", "success")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor=f"track-{track.id}"))
    status = 422 if form.is_submitted() else 200
    return render_template("playlists/track.html", playlist=playlist, track=track, form=form), status


@bp.route("/<int:playlist_id>/tracks/<int:track_id>/remove", methods=["POST"])
@staff_only
def remove_track(playlist_id, track_id):
    playlist = _playlist(playlist_id)
    track = _track(playlist, track_id)
    require_button()
    curation.remove_track(track, by=_me())
    flash(f"Removed “{track.title}”.", "success")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor="tracks"))


@bp.route("/<int:playlist_id>/tracks/<int:track_id>/move", methods=["POST"])
@staff_only
def move_track(playlist_id, track_id):
    playlist = _playlist(playlist_id)
    track = _track(playlist, track_id)
    direction = request.form.get("direction")
    if not EmptyForm().validate_on_submit() or direction not in ("up", "down"):
        abort(400)
    try:
        neighbour = curation.move_track(playlist, track.id, direction, by=_me())
    except curation.CurationError as error:
        flash(str(error), "error")
        return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor="tracks"))
    if neighbour is None:
        flash(f"“{track.title}” is already {'first' if direction == 'up' else 'last'}.", "info")
    return redirect(url_for("playlists.edit", playlist_id=playlist.id, _anchor=f"track-{track.id}"))


@bp.route("/<int:playlist_id>/remove", methods=["POST"])
@staff_only
def remove(playlist_id):
    playlist = _playlist(playlist_id)
    require_button()
    if curation.remove(playlist, by=_me()):
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
    return button(
        lambda: curation.restore(playlist, by=_me()),
        f"“{playlist.title}” is offered to patients again.",
        url_for("playlists.edit", playlist_id=playlist.id),
    )
