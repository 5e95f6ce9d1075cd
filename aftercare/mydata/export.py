"""Building a patient's export (PRIV-01): one JSON file, one CSV per table, and a README.

Each feature describes its part as a function in SECTIONS that takes the patient and returns an
exports.Section. A new feature adds its data by adding its function here.
"""

import datetime as dt
import json
import zipfile
from pathlib import Path
from tempfile import SpooledTemporaryFile

from peewee import fn

from ..circles.export import circles_section
from ..db import db
from ..exports import iso
from ..exports import Section
from ..intake.export import intake_section
from ..journal.export import journal_section
from ..journey.export import sessions_section
from ..models import AuditEvent
from ..models import CareRelationship
from ..models import CheckIn
from ..models import MoodEntry
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow
from ..models import WebSession
from ..reminders.export import reminders_section
from ..selfreports.export import alerts_section
from ..selfreports.export import checkins_section
from ..selfreports.export import mood_section
from ..selfreports.instruments import shown
from . import retention

JSON_NAME = "aftercare-export.json"
README_NAME = "README.txt"
FORMAT_VERSION = 1
# Larger exports (voice notes) spill from memory to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024


def account_section(patient: User) -> Section:
    record = {
        "name": patient.name,
        "email": patient.email,
        "time_zone": patient.timezone,
        "quiet_hours": {"start": patient.quiet_start, "end": patient.quiet_end},
        "consented_at": iso(patient.consented_at),
        "created_at": iso(patient.created_at),
    }
    return Section("account", record, "account: your name, email, time zone, quiet hours, and when you joined.")


def care_team_section(patient: User) -> Section:
    links = (
        CareRelationship.select(CareRelationship, User)
        .join(User, on=CareRelationship.clinician)
        .where(CareRelationship.patient == patient)
        .order_by(CareRelationship.created_at, User.name)
    )
    records = [
        {"name": link.clinician.name, "since": iso(link.created_at), "until": iso(link.ended_at)} for link in links
    ]
    return Section("care_team", records, "care_team: the clinicians who can see your records, and since when.")


SECTIONS = [
    account_section,
    care_team_section,
    mood_section,
    checkins_section,
    alerts_section,
    intake_section,
    sessions_section,
    journal_section,
    reminders_section,
    circles_section,
]


def overview(patient: User) -> dict:
    """What the data page says is stored, how long it is kept after closing, and who can see it."""
    checkins = dict(
        CheckIn.select(CheckIn.instrument, fn.COUNT(CheckIn.id))
        .where(CheckIn.patient == patient)
        .group_by(CheckIn.instrument)
        .tuples()
    )
    first_mood = (
        MoodEntry.select(MoodEntry.recorded_at).where(MoodEntry.patient == patient).order_by(MoodEntry.recorded_at)
    )
    counts = {
        "mood": MoodEntry.select().where(MoodEntry.patient == patient).count(),
        "first_mood": first_mood.scalar(),
        "checkins": [(spec, checkins.get(spec.key, 0)) for spec in shown(patient, checkins)],
        "alerts": SafetyAlert.select().where(SafetyAlert.patient == patient).count(),
        "devices": WebSession.select().where(WebSession.user == patient, WebSession.expires_at > utcnow()).count(),
    }
    return {"counts": counts, "care_team": list(patient.clinicians()), "retention_days": retention.retention_days()}


def collect(patient: User) -> list[Section]:
    """Read every section of a patient's data in one transaction, and audit the export with it."""
    with db.atomic():  # one consistent copy, and the audit row with it
        sections = [section(patient) for section in SECTIONS]
        AuditEvent.record("export_downloaded", actor=patient, patient=patient, subject=patient)
    return sections


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
        **{section.key: section.records for section in sections},
    }
    out = SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(README_NAME, readme(patient, sections, exported_at, clinic))
        archive.writestr(JSON_NAME, json.dumps(document, ensure_ascii=False, indent=2))
        for section in sections:
            if section.csv_name:
                archive.writestr(section.csv_name, section.csv())
            for name, content in section.files.items():
                if isinstance(content, Path):
                    archive.write(content, name)
                else:
                    archive.writestr(name, content)
    size = out.tell()
    out.seek(0)
    return out, size
