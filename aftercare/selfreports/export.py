"""The self-reports' part of a patient's export (PRIV-01): mood entries, check-ins and safety alerts."""

from ..exports import csv_columns
from ..exports import iso
from ..exports import local_iso
from ..exports import Section
from ..models import CheckIn
from ..models import MoodEntry
from ..models import SafetyAlert
from ..models import User
from .instruments import INSTRUMENTS

MOST_ITEMS = max(len(spec.items) for spec in INSTRUMENTS.values())
ITEM_COLUMNS = " ".join(f"q{n}" for n in range(1, MOST_ITEMS + 1))


def mood_section(patient: User) -> Section:
    entries = MoodEntry.select().where(MoodEntry.patient == patient).order_by(MoodEntry.recorded_at, MoodEntry.id)
    records = [
        {
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
        for entry in entries
    ]
    return Section(
        "mood_entries",
        records,
        "mood_entries (mood.csv): every mood you logged, 0 (very low) to 10 (very good), with your note and\n"
        "tags. Entries you removed are included and marked deleted.",
        csv_name="mood.csv",
        columns=csv_columns(
            "recorded_at_utc=recorded_at recorded_at_local day=local_day score note tags deleted "
            "deleted_at_utc=deleted_at id=client_id"
        ),
    )


def _answer(n: int):
    return lambda record: record["answers"][n - 1] if n <= len(record["answers"]) else None


def checkins_section(patient: User) -> Section:
    checkins = CheckIn.select().where(CheckIn.patient == patient).order_by(CheckIn.submitted_at, CheckIn.id)
    records = []
    for checkin in checkins:
        spec = INSTRUMENTS.get(checkin.instrument)
        records.append(
            {
                "submitted_at": iso(checkin.submitted_at),
                "submitted_at_local": local_iso(checkin.submitted_at, patient.timezone),
                "instrument": checkin.instrument,
                "instrument_version": checkin.version,
                "answers": checkin.answer_list,
                "difficulty": checkin.difficulty,
                "total": spec.number(checkin.total) if spec else checkin.total,
                "subscores": checkin.subscore_map,
                "band": checkin.band,
                "client_id": checkin.client_id,
            }
        )
    names = ", ".join(f"{spec.name} ({spec.condition})" for spec in INSTRUMENTS.values())
    return Section(
        "checkins",
        records,
        f"checkins (checkins.csv): every questionnaire you sent ({names}), with each answer\n"
        "as a number (0 = not at all, and up), the total, its band and the questionnaire version.\n"
        "'difficulty' is the last PHQ-9 and GAD-7 question, which is not part of the total; 'subscores' are a "
        "measure's parts (the PCL-5's four DSM-5 clusters, B=… C=… D=… E=…).",
        csv_name="checkins.csv",
        columns=csv_columns(
            f"submitted_at_utc=submitted_at submitted_at_local instrument instrument_version {ITEM_COLUMNS} "
            "difficulty total subscores band id=client_id",
            subscores=lambda r: " ".join(f"{key}={value:g}" for key, value in r["subscores"].items()),
            **{f"q{n}": _answer(n) for n in range(1, MOST_ITEMS + 1)},
        ),
    )


def alerts_section(patient: User) -> Section:
    alerts = SafetyAlert.select().where(SafetyAlert.patient == patient).order_by(SafetyAlert.created_at)
    records = [
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
        records,
        "safety_alerts: messages aftercare sent to your care team after an answer or a note that suggested\n"
        "you might be at risk, and whether a clinician has seen each one.",
    )
