"""The patient's preparation before a session: the intention, the music for the room, the ride home.

Each change is one transaction with its audit row; crisis words in an intention raise the alert
in the same transaction (CLIN-04, DUR-03).
"""

from peewee import IntegrityError

from .. import alerts
from ..db import db
from ..db import Prepared
from ..localtime import to_local
from ..models import AuditEvent
from ..models import Intention
from ..models import Playlist
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..selfreports import windows


class PlaylistGone(ValueError):
    """The clinic retired the playlist while the patient's page was open."""


def session_playlists():
    """Return the query for the playlists a patient may pick for the session room."""
    return (
        Playlist.select()
        .where(Playlist.active == True, Playlist.purpose == "session")  # noqa: E712
        .order_by(Playlist.title, Playlist.id)
    )


# On Today whenever a session is coming (db.Prepared).
HAS_INTENTION = Prepared(
    """SELECT COUNT(*) FROM intention WHERE session_id = ? AND (explore <> '' OR let_go <> '' OR carry <> '')"""
)


def to_do(session: TreatmentSession, intention_set: bool | None = None) -> list[tuple[str, str, bool]]:
    """Return (anchor, what, done) for what is still to prepare before a session.

    Whether the intention is written is looked up unless the caller read it with the session (Today).
    """
    if intention_set is None:
        intention_set = HAS_INTENTION.one(session.id)[0] > 0
    items = [
        ("intention", "Set your intention", intention_set),
        ("playlist", "Choose the music for the room", session.playlist_id is not None),
    ]
    if session.is_dosing:
        items.append(("ride", "Confirm who drives you home", session.ride_confirmed_at is not None))
    return items


def intentions_for(sessions) -> dict[int, Intention]:
    """Return each session's intention (if any), by session id, in one query."""
    ids = [s.id for s in sessions]
    if not ids:
        return {}
    return {i.session_id: i for i in Intention.select().where(Intention.session.in_(ids))}


def save_intention(patient: User, session: TreatmentSession, texts: dict[str, str]) -> bool:
    """Store the intention worksheet for a session; return whether it holds crisis words."""
    with db.atomic():
        Intention.insert(session=session, updated_at=utcnow(), **texts).on_conflict(
            conflict_target=[Intention.session],
            update={**{getattr(Intention, k): v for k, v in texts.items()}, Intention.updated_at: utcnow()},
        ).execute()
        when = to_local(session.starts_at, patient.timezone)
        crisis = alerts.flag_writing(
            patient,
            "\n".join(texts.values()),
            about=alerts.subject("intention", session.id),
            detail=f"Crisis language in the intention for the session on {when:%-d %B %Y}",
        )
        AuditEvent.record("intention_saved", actor=patient, patient=patient, detail=f"session {session.id}")
    return crisis


def pick_playlist(patient: User, session: TreatmentSession, playlist_id: int | None) -> None:
    """Choose the music for the session room (None: the care team chooses)."""
    try:
        with db.atomic():
            TreatmentSession.update(playlist=playlist_id).where(TreatmentSession.id == session.id).execute()
            windows.reseal([patient.id])  # the clinic's figures keep each session's music with its sums
            AuditEvent.record("playlist_picked", actor=patient, patient=patient, detail=f"session {session.id}")
    except IntegrityError:
        # The clinic removed that playlist while this page was open (the foreign key refused it).
        raise PlaylistGone("That playlist is no longer offered. Please choose again.") from None


def confirm_ride(patient: User, session: TreatmentSession, *, name: str, confirmed: bool) -> None:
    """Record who takes the patient home after a dosing session, or withdraw the confirmation."""
    with db.atomic():
        TreatmentSession.update(ride_name=name, ride_confirmed_at=utcnow() if confirmed else None).where(
            TreatmentSession.id == session.id
        ).execute()
        action = "ride_confirmed" if confirmed else "ride_withdrawn"
        AuditEvent.record(action, actor=patient, patient=patient, detail=f"session {session.id}")
