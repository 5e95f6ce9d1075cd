"""Curating playlists: each change is one transaction with its audit row (DUR-03).

Tracks keep UNIQUE(playlist, position): a swap parks one track at a position no real track has,
because the index is checked row by row, not at commit; two curators editing at once meet the
index, and the loser is told to try again rather than corrupting the order.
"""

from peewee import fn
from peewee import IntegrityError

from ..db import db
from ..models import AuditEvent
from ..models import Playlist
from ..models import Track
from ..models import TreatmentSession
from ..models import User

MAX_TRACKS = 100
# Never a real position (they start at 1): one track parks here while two swap.
PARKED = -1
CONFLICT = "Someone else changed this playlist at the same moment. Nothing was saved; please try again."


class CurationError(ValueError):
    """A change that cannot be made; the message is for the curator."""


class Busy(CurationError):
    """Another curator changed the same playlist at the same moment; nothing was saved."""


def _changed(by: User, playlist_id: int) -> None:
    AuditEvent.record("playlist_changed", actor=by, detail=f"playlist {playlist_id}")


def is_picked(playlist: Playlist) -> bool:
    """Tell whether any session has chosen this playlist (then it is archived, never deleted)."""
    return TreatmentSession.select().where(TreatmentSession.playlist == playlist).exists()


def create(*, by: User, title: str, purpose: str, description: str) -> Playlist:
    with db.atomic():
        playlist = Playlist.create(title=title, purpose=purpose, description=description, created_by=by)
        _changed(by, playlist.id)
    return playlist


def update(playlist: Playlist, *, by: User, title: str, purpose: str, description: str) -> None:
    with db.atomic():
        Playlist.update(title=title, purpose=purpose, description=description).where(
            Playlist.id == playlist.id
        ).execute()
        _changed(by, playlist.id)


def add_track(playlist: Playlist, *, by: User, title: str, artist: str, seconds: int, url: str) -> Track:
    """Append a track; refuse a 101st, and a race with another curator."""
    if Track.select().where(Track.playlist == playlist).count() >= MAX_TRACKS:
        raise CurationError(f"A playlist holds at most {MAX_TRACKS} tracks. Start a second playlist instead.")
    try:
        with db.atomic():
            last = Track.select(fn.MAX(Track.position)).where(Track.playlist == playlist).scalar() or 0
            track = Track.create(
                playlist=playlist, position=last + 1, title=title, artist=artist, duration_seconds=seconds, url=url
            )
            _changed(by, playlist.id)
    except IntegrityError:
        raise Busy(CONFLICT) from None
    return track


def update_track(track: Track, *, by: User, title: str, artist: str, seconds: int, url: str) -> None:
    with db.atomic():
        Track.update(title=title, artist=artist, duration_seconds=seconds, url=url).where(
            Track.id == track.id
        ).execute()
        _changed(by, track.playlist_id)


def remove_track(track: Track, *, by: User) -> None:
    with db.atomic():
        # Positions keep their gaps: renumbering the rest would trip the unique index row by row.
        Track.delete().where(Track.id == track.id).execute()
        _changed(by, track.playlist_id)


def move_track(playlist: Playlist, track_id: int, direction: str, *, by: User) -> Track | None:
    """Swap a track with its neighbour above or below; return the neighbour, or None if it is already at the end."""
    try:
        with db.atomic():
            # Read the positions inside the transaction: another curator may have moved them.
            track = Track.get(Track.id == track_id, Track.playlist == playlist)
            siblings = Track.select().where(Track.playlist == playlist)
            if direction == "up":
                neighbour = siblings.where(Track.position < track.position).order_by(Track.position.desc()).first()
            else:
                neighbour = siblings.where(Track.position > track.position).order_by(Track.position).first()
            if neighbour is not None:
                Track.update(position=PARKED).where(Track.id == track.id).execute()
                Track.update(position=track.position).where(Track.id == neighbour.id).execute()
                Track.update(position=neighbour.position).where(Track.id == track.id).execute()
                _changed(by, playlist.id)
    except (IntegrityError, Track.DoesNotExist):
        raise Busy(CONFLICT) from None
    return neighbour


def remove(playlist: Playlist, *, by: User) -> bool:
    """Delete a playlist, or archive it if a session picked it (its record still names it); return archived."""
    with db.atomic():
        archived = is_picked(playlist)
        if archived:
            Playlist.update(active=False).where(Playlist.id == playlist.id).execute()
        else:
            Track.delete().where(Track.playlist == playlist).execute()
            Playlist.delete().where(Playlist.id == playlist.id).execute()
        _changed(by, playlist.id)
    return archived


def restore(playlist: Playlist, *, by: User) -> None:
    with db.atomic():
        Playlist.update(active=True).where(Playlist.id == playlist.id).execute()
        _changed(by, playlist.id)
