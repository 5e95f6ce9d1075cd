"""One patient's record as their clinician sees it: alerts first, then sessions, shared journal, scores, moods."""

import datetime as dt

from ..circles import board
from ..circles import organise as circles
from ..intake import intakes
from ..journal.entries import shared_for_patient
from ..journey.record import patient_sessions
from ..localtime import local_day
from ..models import AuditEvent
from ..models import CheckIn
from ..models import MoodEntry
from ..models import Reminder
from ..models import SafetyAlert
from ..models import User
from ..models import utcnow
from ..reminders import status as reminder_status
from ..selfreports import history
from . import panel

MOOD_DAYS = 30
TIMELINE_RANGE = "30"
MESSAGES_SHOWN = 5


def open_record(clinician: User, patient: User, range_key=None) -> dict:
    """Return everything the record shows, and write the audit row for showing it (LOG-01).

    The caller has checked the care relationship (access.patient_for_staff).
    """
    on_call = not clinician.cares_for(patient)  # CLIN-03: opened for an escalated alert
    AuditEvent.record("view_patient", actor=clinician, patient=patient, detail="on call" if on_call else "")
    since = utcnow() - dt.timedelta(days=MOOD_DAYS)
    alerts = (
        SafetyAlert.select()
        .where(SafetyAlert.patient == patient)
        .order_by(SafetyAlert.acknowledged_at.is_null(False), SafetyAlert.created_at.desc())
    )
    moods = (
        MoodEntry.visible()
        .where(MoodEntry.patient == patient, MoodEntry.recorded_at >= since)
        .order_by(MoodEntry.recorded_at.desc())
    )
    checkins = CheckIn.select().where(CheckIn.patient == patient).order_by(CheckIn.submitted_at.desc())
    # The patient's story as one picture, the charts of their own History page (30 days unless asked).
    window, mood_chart, score_charts = history.charts_for(
        patient, range_key or TIMELINE_RANGE, local_day(utcnow(), patient.timezone), voice="they"
    )
    alert_list = list(alerts)
    return {
        "timeline": {"window": window, "mood": mood_chart, "scores": score_charts},
        "patient": patient,
        "row": panel.row_for(patient),
        "intake": intakes.latest(patient),
        "alerts": alert_list,
        # A post held for crisis words is shown here, with its alert, and nowhere else (CLIN-04).
        "held_posts": board.held_posts(alert_list),
        # Of the circles, only attendance: what a patient writes on a board is not part of the record.
        "circles": circles.attendance_for(patient),
        "moods": list(moods),
        "checkins": list(checkins),
        "care_team": list(patient.clinicians()),
        "shared_journal": shared_for_patient(patient),
        "journey": patient_sessions(patient),
        "on_call": on_call,
        "printed_at": utcnow(),  # the printed summary says when it was true
        "reach": reminder_status.reach(patient),
        "messages": list(
            Reminder.select()
            .where(Reminder.user == patient, Reminder.rule == "message")
            .order_by(Reminder.created_at.desc())
            .limit(MESSAGES_SHOWN)
        ),
    }
