"""Building a patient's export (PRIV-01): one JSON file, one CSV per table, and a README.

Each section is a function in SECTIONS that takes the patient and returns a Section.
A later feature (sessions, journal, voice notes) adds its data by appending a function.
"""

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from tempfile import SpooledTemporaryFile

from ..journal.export import journal_section
from ..journey.export import sessions_section
from ..localtime import to_local
from ..models import CareRelationship
from ..models import CheckIn
from ..models import MoodEntry
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow

JSON_NAME = "aftercare-export.json"
README_NAME = "README.txt"
FORMAT_VERSION = 1
# IN-04: a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Larger exports (voice notes) spill from memory to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


@dataclass
class Section:
    key: str  # the key in aftercare-export.json
    data: object  # anything json.dumps accepts
    readme: str  # what a person needs to know to read this part
    csv_name: str | None = None
    columns: tuple[str, ...] = ()
    rows: list[tuple] = field(default_factory=list)
    # Extra files for the zip (voice notes): name inside the zip -> bytes or a path on disk.
    files: dict[str, bytes | Path] = field(default_factory=dict)


def iso(when: dt.datetime | dt.date | None) -> str | None:
    """Format a UTC datetime from the database as ISO 8601 with a Z; dates as YYYY-MM-DD."""
    if when is None:
        return None
    if isinstance(when, dt.datetime):
        return when.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    return when.isoformat()


def local_iso(when: dt.datetime, zone: str) -> str:
    return to_local(when, zone).isoformat()


def spreadsheet_safe(value):
    """Neutralise a CSV cell a spreadsheet would run as a formula (IN-04)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def account_section(patient: User) -> Section:
    data = {
        "name": patient.name,
        "email": patient.email,
        "time_zone": patient.timezone,
        "quiet_hours": {"start": patient.quiet_start, "end": patient.quiet_end},
        "consented_at": iso(patient.consented_at),
        "created_at": iso(patient.created_at),
    }
    return Section("account", data, "account: your name, email, time zone, quiet hours, and when you joined.")


def care_team_section(patient: User) -> Section:
    links = (
        CareRelationship.select(CareRelationship, User)
        .join(User, on=CareRelationship.clinician)
        .where(CareRelationship.patient == patient)
        .order_by(CareRelationship.created_at, User.name)
    )
    data = [{"name": link.clinician.name, "since": iso(link.created_at), "until": iso(link.ended_at)} for link in links]
    return Section("care_team", data, "care_team: the clinicians who can see your records, and since when.")


def mood_section(patient: User) -> Section:
    entries = MoodEntry.select().where(MoodEntry.patient == patient).order_by(MoodEntry.recorded_at, MoodEntry.id)
    data, rows = [], []
    for entry in entries:
        item = {
            "recorded_at": iso(entry.recorded_at),
            "recorded_at_local": local_iso(entry.recorded_at, patient.timezone),
            "local_day": iso(entry.local_day),
            "score": entry.score,
            "note": entry.note,
            "tags": entry.tag_list,
            "deleted": entry.deleted_at is not None,
            "deleted_at": iso(entry.deleted_at),
            "updated_at": iso(entry.updated_at),
            "client_id": entry.client_id,
        }
        data.append(item)
        rows.append(
            (
                item["recorded_at"],
                item["recorded_at_local"],
                item["local_day"],
                entry.score,
                entry.note,
                " ".join(entry.tag_list),
                "yes" if item["deleted"] else "no",
                item["deleted_at"] or "",
                entry.client_id,
            )
        )
    return Section(
        "mood_entries",
        data,
        "mood_entries (mood.csv): every mood you logged, 0 (very low) to 10 (very good), with your note and\n"
        "tags. Entries you removed are included and marked deleted.",
        csv_name="mood.csv",
        columns=(
            "recorded_at_utc",
            "recorded_at_local",
            "day",
            "score",
            "note",
            "tags",
            "deleted",
            "deleted_at_utc",
            "id",
        ),
        rows=rows,
    )


ITEM_COLUMNS = 9  # PHQ-9 has nine items, GAD-7 seven; GAD-7 rows leave the last two empty


def checkins_section(patient: User) -> Section:
    checkins = CheckIn.select().where(CheckIn.patient == patient).order_by(CheckIn.submitted_at, CheckIn.id)
    data, rows = [], []
    for checkin in checkins:
        answers = checkin.answer_list
        item = {
            "submitted_at": iso(checkin.submitted_at),
            "instrument": checkin.instrument,
            "instrument_version": checkin.version,
            "answers": answers,
            "difficulty": checkin.difficulty,
            "total": checkin.total,
            "band": checkin.band,
            "client_id": checkin.client_id,
        }
        data.append(item)
        padded = answers + [""] * (ITEM_COLUMNS - len(answers))
        rows.append(
            (
                item["submitted_at"],
                local_iso(checkin.submitted_at, patient.timezone),
                checkin.instrument,
                checkin.version,
                *padded,
                "" if checkin.difficulty is None else checkin.difficulty,
                checkin.total,
                checkin.band,
                checkin.client_id,
            )
        )
    return Section(
        "checkins",
        data,
        "checkins (checkins.csv): every PHQ-9 (depression) and GAD-7 (anxiety) questionnaire you sent, with\n"
        "each answer (0 = not at all ... 3 = nearly every day), the total, its band and the questionnaire\n"
        "version. 'difficulty' is the last PHQ-9 question, which is not part of the total.",
        csv_name="checkins.csv",
        columns=(
            "submitted_at_utc",
            "submitted_at_local",
            "instrument",
            "instrument_version",
            *(f"q{n}" for n in range(1, ITEM_COLUMNS + 1)),
            "difficulty",
            "total",
            "band",
            "id",
        ),
        rows=rows,
    )


def alerts_section(patient: User) -> Section:
    alerts = SafetyAlert.select().where(SafetyAlert.patient == patient).order_by(SafetyAlert.created_at)
    data = [
        {
            "created_at": iso(alert.created_at),
            "reason": alert.reason,
            "detail": alert.detail,
            "status": "open" if alert.acknowledged_at is None else "acknowledged",
            "acknowledged_at": iso(alert.acknowledged_at),
        }
        for alert in alerts
    ]
    return Section(
        "safety_alerts",
        data,
        "safety_alerts: messages aftercare sent to your care team after an answer or a note that suggested\n"
        "you might be at risk, and whether a clinician has seen each one.",
    )


SECTIONS: list[Callable[[User], Section]] = [
    account_section,
    care_team_section,
    mood_section,
    checkins_section,
    alerts_section,
    sessions_section,
    journal_section,
]


def collect(patient: User) -> list[Section]:
    """Read every section of a patient's data (call inside one transaction for a consistent copy)."""
    return [section(patient) for section in SECTIONS]


def to_csv(section: Section) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(section.columns)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in section.rows)
    # The byte-order mark makes Excel read the file as UTF-8 (names, notes with accents).
    return buffer.getvalue().encode("utf-8-sig")


def readme(patient: User, sections: list[Section], exported_at: dt.datetime, clinic: str) -> str:
    parts = [
        f"Your data from {clinic}, exported {iso(exported_at)} for {patient.name}.",
        "",
        f"{JSON_NAME} holds everything, for programs. The CSV files open in a spreadsheet.",
        f"Times ending in Z are UTC; the *_local columns are in your time zone ({patient.timezone}).",
        "",
        "What is in it:",
        "",
    ]
    for section in sections:
        parts += [section.readme, ""]
    parts += [
        "In the CSV files, a cell that starts with = + - or @ begins with an apostrophe ('),",
        "so that a spreadsheet shows it as text instead of running it as a formula.",
        "",
        "This file contains private health information. Keep it somewhere safe.",
    ]
    return "\n".join(parts) + "\n"


def build_zip(patient: User, sections: list[Section], clinic: str):
    """Write the export to a temporary file; return it (at its start) and its size in bytes."""
    exported_at = utcnow()
    document = {
        "format": "aftercare-export",
        "format_version": FORMAT_VERSION,
        "exported_at": iso(exported_at),
        **{section.key: section.data for section in sections},
    }
    out = SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(README_NAME, readme(patient, sections, exported_at, clinic))
        archive.writestr(JSON_NAME, json.dumps(document, ensure_ascii=False, indent=2))
        for section in sections:
            if section.csv_name:
                archive.writestr(section.csv_name, to_csv(section))
            for name, content in section.files.items():
                if isinstance(content, Path):
                    archive.write(content, name)
                else:
                    archive.writestr(name, content)
    size = out.tell()
    out.seek(0)
    return out, size
