"""Self-reports as a spreadsheet for the care team: one patient's, or a cohort's without names (audited).

One row per mood entry and per questionnaire, with where it fell in the series: the number of
the last dosing session before it and the time since that session began (the cohort page's
buckets). A cohort's file names patients by a pseudonym, the same in every file this clinic
writes, unless the clinician asks for names; notes (free text) are only in one patient's file.
Every cell passes through the patient export's `spreadsheet_safe` (IN-04).
"""

import datetime as dt
import hashlib
import hmac

from flask import current_app

from ..exports import iso
from ..exports import local_iso
from ..exports import to_csv
from ..models import AuditEvent
from ..models import CheckIn
from ..models import MoodEntry
from ..models import User
from ..models import window_bucket
from ..models import WINDOW_BUCKETS
from ..selfreports import windows
from ..selfreports.instruments import INSTRUMENTS

HEADER = [
    "patient",
    "kind",
    "at_utc",
    "at_local",
    "local_day",
    "measure",
    "score",
    "band",
    "after_session",
    "time_since_session",
    "note",
]


def pseudonym(patient_id: int) -> str:
    """A stable id for a patient in cohort files: not their account number, not reversible without the key."""
    key = current_app.config["SECRET_KEY"].encode()
    return "P-" + hmac.new(key, f"cohort:{patient_id}".encode(), hashlib.sha256).hexdigest()[:10]


def patient_csv(clinician: User, patient: User) -> bytes:
    """One patient's self-reports, named, with notes; the caller has checked the care relationship."""
    AuditEvent.record("export_selfreports", actor=clinician, patient=patient)
    return to_csv(HEADER, _rows([patient], {patient.id: patient.name}, notes=True))


def cohort_csv(clinician: User, start: dt.date, end: dt.date, *, names: bool = False) -> bytes:
    """The clinician's patients' self-reports dated start..end; pseudonymous unless `names`."""
    patients = list(clinician.patients())
    AuditEvent.record_many(
        "export_cohort",
        actor=clinician,
        patients=patients,
        detail=f"{start.isoformat()} to {end.isoformat()}" + (", with names" if names else ""),
    )
    labels = {p.id: p.name if names else pseudonym(p.id) for p in patients}
    return to_csv(HEADER, _rows(patients, labels, start=start, end=end))


def _rows(patients: list[User], labels: dict[int, str], *, notes=False, start=None, end=None) -> list[list]:
    ids = [p.id for p in patients]
    zones = {p.id: p.timezone for p in patients}
    series = windows.dosing_series(ids)
    moods = MoodEntry.visible().where(MoodEntry.patient.in_(ids))
    checkins = CheckIn.select().where(CheckIn.patient.in_(ids))
    if start is not None:
        moods = moods.where(MoodEntry.local_day.between(start, end))
        checkins = checkins.where(CheckIn.submitted_at.between(_day(start), _day(end + dt.timedelta(days=1))))
    found = []
    for entry in moods:
        found.append((entry.patient_id, entry.recorded_at, "mood", "Mood (0-10)", entry.score, "", entry.note))
    for checkin in checkins:
        spec = INSTRUMENTS.get(checkin.instrument)
        total = spec.number(checkin.total) if spec else checkin.total
        name = spec.name if spec else checkin.instrument
        found.append((checkin.patient_id, checkin.submitted_at, "questionnaire", name, total, checkin.band, ""))
    rows = []
    for patient_id, at, kind, measure, score, band, note in sorted(found, key=lambda r: (labels[r[0]], r[1])):
        session = windows.last_before(series.get(patient_id, []), at)
        local = local_iso(at, zones[patient_id])
        rows.append(
            [
                labels[patient_id],
                kind,
                iso(at),
                local,
                local[:10],
                measure,
                score,
                band,
                session[2] if session else "",
                WINDOW_BUCKETS[window_bucket(at - session[0])] if session else "before the first session",
                note if notes else "",
            ]
        )
    return rows


def _day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())
