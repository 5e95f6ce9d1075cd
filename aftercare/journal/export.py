"""The journal's part of the patient's export (PRIV-01): entries as JSON and journal.csv, voice notes as files."""

from ..models import JournalEntry
from ..models import User
from ..models import VoiceNote
from . import voice
from .entries import with_session

README = (
    "journal (journal.csv): every journal entry you wrote, with the question it answered, the session it\n"
    "belongs to, and whether (and since when) you shared it with your care team.\n"
    "journal.voice_notes (voice/): your voice notes, one audio file each; the JSON says when each was\n"
    "recorded, how long it is and whether you shared it."
)


def journal_section(patient: User):
    """Return the journal section of the export: entries, voice-note details, and the audio files."""
    # mydata.export lists this function in SECTIONS, so it is imported here, when an export runs,
    # rather than when this module loads (each module would otherwise import the other).
    from ..mydata.export import iso
    from ..mydata.export import local_iso
    from ..mydata.export import Section

    zone = patient.timezone
    entries, rows = [], []
    for entry in with_session(JournalEntry, patient).order_by(JournalEntry.created_at, JournalEntry.id):
        session_number = entry.session.number if entry.session_id else None
        item = {
            "written_at": iso(entry.created_at),
            "written_at_local": local_iso(entry.created_at, zone),
            "updated_at": iso(entry.updated_at),
            "prompt": entry.prompt,
            "body": entry.body,
            "session_id": entry.session_id,
            "session_number": session_number,
            "shared": entry.shared_at is not None,
            "shared_at": iso(entry.shared_at),
            "client_id": entry.client_id,
        }
        entries.append(item)
        rows.append(
            (
                item["written_at"],
                item["written_at_local"],
                "" if session_number is None else session_number,
                entry.prompt,
                entry.body,
                "yes" if item["shared"] else "no",
                item["shared_at"] or "",
                item["updated_at"],
                entry.client_id,
            )
        )

    notes, files = [], {}
    for note in with_session(VoiceNote, patient).order_by(VoiceNote.created_at, VoiceNote.id):
        stamp = local_iso(note.created_at, zone)[:19].replace(":", "-")
        name = f"voice/{stamp}-{note.id}.{voice.EXTENSIONS.get(note.mime, 'audio')}"
        path = voice.path_of(note)
        present = path.is_file()
        if present:
            files[name] = path
        notes.append(
            {
                "recorded_at": iso(note.created_at),
                "recorded_at_local": local_iso(note.created_at, zone),
                "file": name if present else None,
                "type": note.mime,
                "bytes": note.size,
                "duration_seconds": note.duration_seconds,
                "session_id": note.session_id,
                "session_number": note.session.number if note.session_id else None,
                "shared": note.shared_at is not None,
                "shared_at": iso(note.shared_at),
                "client_id": note.client_id,
            }
        )

    return Section(
        "journal",
        {"entries": entries, "voice_notes": notes},
        README,
        csv_name="journal.csv",
        columns=(
            "written_at_utc",
            "written_at_local",
            "session_number",
            "prompt",
            "entry",
            "shared",
            "shared_at_utc",
            "updated_at_utc",
            "id",
        ),
        rows=rows,
        files=files,
    )
