"""The journal's part of the patient's export (PRIV-01): entries as JSON and journal.csv, their pictures
and the voice notes as files."""

from ..exports import csv_columns
from ..exports import iso
from ..exports import local_iso
from ..exports import Section
from ..models import JournalEntry
from ..models import User
from ..models import VoiceNote
from . import images
from . import voice
from .entries import with_session

README = (
    "journal (journal.csv): every journal entry you wrote, with the question it answered, the session it\n"
    "belongs to, and whether (and since when) you shared it with your care team.\n"
    "journal.entries[].pictures (pictures/): the drawings and pictures in your entries, as aftercare kept\n"
    "them (made smaller, without the camera's details or where a photo was taken); journal.csv names them.\n"
    "journal.voice_notes (voice/): your voice notes, one audio file each; the JSON says when each was\n"
    "recorded, how long it is and whether you shared it."
)


def _about(row: JournalEntry | VoiceNote) -> dict:
    """What an entry and a voice note both record: their session, whether they are shared, their id."""
    return {
        "session_id": row.session_id,
        "session_number": row.session.number if row.session_id else None,
        "shared": row.shared_at is not None,
        "shared_at": iso(row.shared_at),
        "client_id": row.client_id,
    }


def journal_section(patient: User) -> Section:
    """Return the journal section of the export: entries, voice-note details, and the audio files."""
    zone = patient.timezone
    files = {}
    rows = list(with_session(JournalEntry, patient).order_by(JournalEntry.created_at, JournalEntry.id))
    pictures = images.for_entries(entry.id for entry in rows)
    entries = []
    for entry in rows:
        stamp = local_iso(entry.created_at, zone)[:19].replace(":", "-")
        kept = []
        for picture in pictures.get(entry.id, []):
            name = (
                f"pictures/{stamp}-{entry.id}-{picture.position + 1}-{picture.kind}.{images.EXTENSIONS[picture.mime]}"
            )
            path = images.path_of(picture)
            present = path.is_file()
            if present:
                files[name] = path
            kept.append({"file": name if present else None, "kind": picture.kind, "type": picture.mime})
        entries.append(
            {
                "written_at": iso(entry.created_at),
                "written_at_local": local_iso(entry.created_at, zone),
                "updated_at": iso(entry.updated_at),
                "prompt": entry.prompt,
                "body": entry.body,
                "pictures": kept,
                **_about(entry),
            }
        )

    notes = []
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
                **_about(note),
            }
        )

    return Section(
        "journal",
        {"entries": entries, "voice_notes": notes},
        README,
        csv_name="journal.csv",
        columns=csv_columns(
            "written_at_utc=written_at written_at_local session_number prompt entry=body shared "
            "shared_at_utc=shared_at updated_at_utc=updated_at id=client_id pictures",
            pictures=lambda entry: " ".join(picture["file"] for picture in entry["pictures"] if picture["file"]),
        ),
        csv_records=entries,
        files=files,
    )
