"""Check-ins: scoring and storing a questionnaire exactly once; a safety answer raises an alert with it."""

import datetime as dt
import json

from peewee import fn

from .. import alerts
from ..db import db
from ..exports import fields
from ..exports import iso
from ..idempotency import same_payload
from ..idempotency import store_once
from ..inputs import client_id as parse_client_id
from ..inputs import Invalid
from ..inputs import parse_int
from ..models import AuditEvent
from ..models import CheckIn
from ..models import DOSING_KINDS
from ..models import payload_hash
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..reminders import planner
from . import points
from .instruments import chosen
from .instruments import IncompleteAnswers
from .instruments import Instrument
from .instruments import INSTRUMENTS


def instrument_of(key, patient: User | None = None) -> Instrument:
    """Return the instrument for an API or URL key, or raise Invalid; with a patient, only one they are asked for."""
    instrument = INSTRUMENTS.get(key) if isinstance(key, str) else None
    if instrument is None:
        names = " or ".join(spec.name for spec in INSTRUMENTS.values())
        raise Invalid({"instrument": f"Choose {names}."})
    if patient is not None and instrument not in chosen(patient):
        raise Invalid({"instrument": not_asked(instrument)})
    return instrument


def not_asked(instrument: Instrument) -> str:
    return (
        f"Your care team has not asked you to fill in the {instrument.name}, so nothing was saved. "
        "Your questionnaires are listed on Today."
    )


def choose(clinician: User, patient: User, keys) -> list[Instrument]:
    """Set the measures a patient answers, plan their reminders, and record who chose, in one transaction."""
    keys = [key for key in keys if isinstance(key, str)]
    unknown = [key for key in keys if key not in INSTRUMENTS]
    if unknown or not keys:
        raise Invalid({"measures": "Choose at least one questionnaire from the list."})
    measures = [spec for key, spec in INSTRUMENTS.items() if key in keys]
    value = ",".join(spec.key for spec in measures)
    with db.atomic():
        User.update(measures=value).where(User.id == patient.id).execute()
        patient.measures = value
        AuditEvent.record("measures_chosen", actor=clinician, patient=patient, detail=value)
        planner.plan(patient)
    return measures


def form_answers(instrument: Instrument, form) -> tuple[list, object]:
    """Read a check-in form's radio buttons (q1, q2, ... and the extra question) as integers.

    An odd value is kept as it came, so scoring refuses it with its question's number.
    """
    answers = [_number(form.get(f"q{n}")) for n in range(1, len(instrument.items) + 1)]
    extra = form.get("difficulty")
    return answers, None if extra in (None, "") else _number(extra)


def _number(value):
    number = parse_int(value, -(2**31), 2**31)
    return value if number is None else number


def submit(patient: User, data: dict) -> tuple[CheckIn, bool]:
    """Score and store a questionnaire once; a safety answer above 0 raises an alert in the same transaction."""
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object."})
    key = parse_client_id(data.get("client_id"))
    instrument = instrument_of(data.get("instrument"), patient)
    answers, extra = data.get("answers"), data.get("difficulty")
    try:
        result = instrument.score(answers, extra)
    except IncompleteAnswers as error:
        raise Invalid({"answers": str(error)}) from None
    row = stored_fields(instrument, answers, extra, result) | {"submitted_at": utcnow()}
    fingerprint = row["payload_hash"]

    def scored(checkin: CheckIn) -> None:
        if result.safety_answer:
            # CLIN-02: any answer above 0; 0 is never read as "safe", only as no alert.
            label = instrument.answer_label(instrument.safety_item, result.safety_answer).lower()
            alerts.raise_alert(
                patient,
                about=alerts.subject("checkin", checkin.id),
                reason=f"{instrument.key}_item{instrument.safety_item}",
                detail=f"{instrument.safety_label}: {label}",
                checkin=checkin,
            )
        points.refresh([patient.id], instrument.key)  # the panel's and the cohort's view of the series
        planner.plan(patient)  # the next occasion this measure falls due
        AuditEvent.record(f"{instrument.key}_submitted", actor=patient, patient=patient)

    return store_once(CheckIn, patient, key, same_payload(fingerprint), row, scored)


def stored_fields(instrument: Instrument, answers, difficulty, result=None) -> dict:
    """Return the columns a check-in stores for a complete answer set (the demo and clinic-scale data too)."""
    result = result or instrument.score(answers, difficulty)
    return {
        "payload_hash": payload_hash({"kind": instrument.key, "answers": answers, "difficulty": difficulty}),
        "instrument": instrument.key,
        "version": instrument.version,
        "answers": json.dumps(list(answers)),
        "difficulty": difficulty,
        "total": result.total,
        "band": result.band,
        "subscores": json.dumps(result.subscores),
    }


def due(patient: User, now: dt.datetime | None = None) -> list[Instrument]:
    """Return the measures the patient is asked for now, by each measure's rhythm."""
    now = now or utcnow()
    answered = {key: checkin.submitted_at for key, checkin in latest(patient).items()}
    sessions = TreatmentSession.select().where(
        TreatmentSession.patient == patient,
        TreatmentSession.number.is_null(False),
        TreatmentSession.kind.in_(DOSING_KINDS),
        TreatmentSession.starts_at <= now,
    )
    return due_from(answered, sessions, now, chosen(patient))


def due_from(
    answered: dict[str, dt.datetime], sessions, now: dt.datetime, measures: list[Instrument]
) -> list[Instrument]:
    """Return which of the patient's measures are due, from when each was last answered and their sessions.

    A measure is due when it was never answered, when a milestone dosing session (say, the 2nd) has
    ended since it was last answered, or when its rhythm's days have passed since then.
    """
    ended = {
        s.number: s.ends_at for s in sessions if s.number is not None and s.kind in DOSING_KINDS and s.ends_at <= now
    }
    wanted = []
    for spec in measures:
        last = answered.get(spec.key)
        milestones = [ended[n] for n in spec.rhythm.after_sessions if n in ended]
        every = spec.rhythm.every_days
        if last is None or any(end > last for end in milestones) or (every and now - last >= dt.timedelta(days=every)):
            wanted.append(spec)
    return wanted


def safety_answer(checkin: CheckIn) -> int | None:
    """Return the answer to the instrument's safety item (PHQ-9 item 9), or None if it has none."""
    instrument = INSTRUMENTS.get(checkin.instrument)
    if instrument is None or not instrument.safety_item:
        return None
    return checkin.answer_list[instrument.safety_item - 1]


def latest(patient: User) -> dict[str, CheckIn]:
    """Return each instrument's latest check-in for a patient, by key (ids follow submission order)."""
    newest = CheckIn.select(fn.MAX(CheckIn.id)).where(CheckIn.patient == patient).group_by(CheckIn.instrument)
    return {checkin.instrument: checkin for checkin in CheckIn.select().where(CheckIn.id.in_(newest))}


def as_json(checkin: CheckIn) -> dict:
    return {
        **fields(checkin, "client_id", "instrument", "version", "difficulty", "total", "band"),
        "answers": checkin.answer_list,
        "subscores": checkin.subscore_map,
        "submitted_at": iso(checkin.submitted_at),
        "crisis": bool(safety_answer(checkin)),
    }
