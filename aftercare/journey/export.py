"""The patient's sessions in their export (PRIV-01): times, intentions, music picks and rides home."""

from peewee import JOIN

from ..exports import csv_columns
from ..exports import iso
from ..exports import local_iso
from ..exports import Section
from ..models import Intention
from ..models import Playlist
from ..models import TreatmentSession
from ..models import User


def _intention(intention: Intention | None) -> dict | None:
    if intention is None:
        return None
    return {
        "explore": intention.explore,
        "let_go": intention.let_go,
        "carry": intention.carry,
        "updated_at": iso(intention.updated_at),
    }


def sessions_section(patient: User) -> Section:
    """Return the sessions section of the export: each session with its intention, music pick and ride."""
    sessions = (
        TreatmentSession.select(TreatmentSession, Playlist)
        .join(Playlist, JOIN.LEFT_OUTER)
        .where(TreatmentSession.patient == patient)
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)
    )
    intentions = {
        i.session_id: i for i in Intention.select().join(TreatmentSession).where(TreatmentSession.patient == patient)
    }
    records = []
    for session in sessions:
        playlist = session.playlist if session.playlist_id else None
        records.append(
            {
                "starts_at": iso(session.starts_at),
                "starts_at_local": local_iso(session.starts_at, patient.timezone),
                "ends_at": iso(session.ends_at),
                "clinic_time": {"wall_time": session.wall_time, "zone": session.zone},
                "duration_minutes": session.duration_minutes,
                "kind": session.kind,
                "kind_label": session.kind_label,
                "status": session.status,
                "number": session.number,
                "intention": _intention(intentions.get(session.id)),
                "playlist": None if playlist is None else {"title": playlist.title, "purpose": playlist.purpose},
                "ride_home": None
                if not session.is_dosing
                else {"name": session.ride_name, "confirmed_at": iso(session.ride_confirmed_at)},
                "created_at": iso(session.created_at),
                "id": session.id,
            }
        )

    def nested(key: str, field: str):
        return lambda record: (record[key] or {}).get(field)

    return Section(
        "sessions",
        records,
        "sessions (sessions.csv): every appointment your care team scheduled, with its time (UTC and your\n"
        "time zone), kind, status and number in your series; your intention worksheet for it (what you hoped\n"
        "to explore, what you wanted to let go of, the sentence you carried in), the music you picked for the\n"
        "room, and for dosing sessions who was taking you home and when you confirmed it.",
        csv_name="sessions.csv",
        columns=csv_columns(
            "starts_at_utc=starts_at starts_at_local duration_minutes kind status number intention_explore "
            "intention_let_go intention_carry playlist ride_name ride_confirmed_at_utc id",
            intention_explore=nested("intention", "explore"),
            intention_let_go=nested("intention", "let_go"),
            intention_carry=nested("intention", "carry"),
            playlist=nested("playlist", "title"),
            ride_name=nested("ride_home", "name"),
            ride_confirmed_at_utc=nested("ride_home", "confirmed_at"),
        ),
    )
