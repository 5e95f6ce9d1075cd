"""A patient's history as charts: the days and scores a time range covers, with session days marked."""

import datetime as dt

from peewee import fn

from .. import settings
from ..localtime import local_day
from ..models import CheckIn
from ..models import DOSING_KINDS
from ..models import MoodDay
from ..models import TreatmentSession
from ..models import User
from . import charts
from .instruments import shown


def charts_for(
    patient: User, range_key, today: dt.date, voice: str = "you"
) -> tuple[charts.Window, charts.Chart, dict[str, charts.Chart]]:
    """Return the window for a range ("7", "30", "all"), the mood chart and one chart per measure the patient has.

    A patient has the measures they are asked for and any they answered before (a measure their
    clinician no longer asks for keeps its history).
    """
    zone = patient.timezone
    first_mood = MoodDay.select(fn.MIN(MoodDay.day)).where(MoodDay.patient == patient).scalar()
    first_checkin = CheckIn.select(fn.MIN(CheckIn.submitted_at)).where(CheckIn.patient == patient).scalar()
    firsts = [first_mood, first_checkin and local_day(first_checkin, zone)]
    window = charts.window(range_key, today, min(filter(None, firsts), default=None))
    since, until = window.utc_bounds(zone)
    sessions = [
        local_day(s.starts_at, zone)
        for s in TreatmentSession.live().where(
            TreatmentSession.patient == patient,
            TreatmentSession.kind.in_(DOSING_KINDS),
            TreatmentSession.starts_at >= since,
            TreatmentSession.starts_at < until,
        )
    ]
    days = MoodDay.select().where(MoodDay.patient == patient, MoodDay.day.between(window.start, window.end))
    answered = [
        key for (key,) in CheckIn.select(CheckIn.instrument).where(CheckIn.patient == patient).distinct().tuples()
    ]
    scores = {
        spec.key: charts.score_chart(
            spec,
            charts.local_scores(
                CheckIn.series(patient, spec.key).where(CheckIn.submitted_at >= since, CheckIn.submitted_at < until),
                zone,
            ),
            window,
            markers=sessions,
            cutoff=settings.cutoff(spec),
            voice=voice,
        )
        for spec in shown(patient, answered)
    }
    return window, charts.mood_chart(days, window, markers=sessions, voice=voice), scores
