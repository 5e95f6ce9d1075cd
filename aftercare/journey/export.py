"""The patient's sessions in their export (PRIV-01): times, intentions, music picks and rides home."""

from peewee import JOIN

from ..models import Intention
from ..models import Playlist
from ..models import TreatmentSession
from ..models import User


def sessions_section(patient: User):
    """Return the sessions section of the export: each session with its intention, music pick and ride."""
    # mydata.export lists this function in SECTIONS, so it is imported here, when an export runs,
    # rather than when this module loads (each module would otherwise import the other).
    from ..mydata.export import iso
    from ..mydata.export import local_iso
    from ..mydata.export import Section

    sessions = list(
        TreatmentSession.select(TreatmentSession, Playlist)
        .join(Playlist, JOIN.LEFT_OUTER)
        .where(TreatmentSession.patient == patient)
        .order_by(TreatmentSession.starts_at, TreatmentSession.id)
    )
    intentions = {
        i.session_id: i for i in Intention.select().join(TreatmentSession).where(TreatmentSession.patient == patient)
    }
    data, rows = [], []
    for session in sessions:
        intention = intentions.get(session.id)
        playlist = session.playlist if session.playlist_id else None
        item = {
            "starts_at": iso(session.starts_at),
            "starts_at_local": local_iso(session.starts_at, patient.timezone),
            "ends_at": iso(session.ends_at),
            "clinic_time": {"wall_time": session.wall_time, "zone": session.zone},
            "duration_minutes": session.duration_minutes,
            "kind": session.kind,
            "kind_label": session.kind_label,
            "status": session.status,
            "number": session.number,
            "intention": None
            if intention is None
            else {
                "explore": intention.explore,
                "let_go": intention.let_go,
                "carry": intention.carry,
                "updated_at": iso(intention.updated_at),
            },
            "playlist": None if playlist is None else {"title": playlist.title, "purpose": playlist.purpose},
            "ride_home": None
            if not session.is_dosing
            else {"name": session.ride_name, "confirmed_at": iso(session.ride_confirmed_at)},
            "created_at": iso(session.created_at),
            "id": session.id,
        }
        data.append(item)
        rows.append(
            (
                item["starts_at"],
                item["starts_at_local"],
                session.duration_minutes,
                session.kind,
                session.status,
                "" if session.number is None else session.number,
                intention.explore if intention else "",
                intention.let_go if intention else "",
                intention.carry if intention else "",
                playlist.title if playlist else "",
                session.ride_name if session.is_dosing else "",
                (iso(session.ride_confirmed_at) or "") if session.is_dosing else "",
                session.id,
            )
        )
    return Section(
        "sessions",
        data,
        "sessions (sessions.csv): every appointment your care team scheduled, with its time (UTC and your\n"
        "time zone), kind, status and number in your series; your intention worksheet for it (what you hoped\n"
        "to explore, what you wanted to let go of, the sentence you carried in), the music you picked for the\n"
        "room, and for dosing sessions who was taking you home and when you confirmed it.",
        csv_name="sessions.csv",
        columns=(
            "starts_at_utc",
            "starts_at_local",
            "duration_minutes",
            "kind",
            "status",
            "number",
            "intention_explore",
            "intention_let_go",
            "intention_carry",
            "playlist",
            "ride_name",
            "ride_confirmed_at_utc",
            "id",
        ),
        rows=rows,
    )
