"""The clinic's working hours, in its own time zone: when someone is there to act on a safety alert (CLIN-03)."""

import datetime as dt

from . import settings
from .localtime import to_local
from .localtime import to_utc


def _clock(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def working_minutes(start: dt.datetime, end: dt.datetime, clinic: settings.ClinicSettings | None = None) -> int:
    """Return the clinic's working minutes between two UTC moments (0 if end is not after start).

    Each working day's hours are turned into UTC on that day, so a change of clocks shortens or
    lengthens nothing but the night.
    """
    if end <= start:
        return 0
    clinic = clinic or settings.current()
    open_at, close_at = _clock(clinic.work_start), _clock(clinic.work_end)
    day = to_local(start, clinic.timezone).date()
    last = to_local(end, clinic.timezone).date()
    total = dt.timedelta()
    while day <= last:
        if day.weekday() in clinic.work_days:
            begins = to_utc(dt.datetime.combine(day, open_at), clinic.timezone)
            ends = to_utc(dt.datetime.combine(day, close_at), clinic.timezone)
            overlap = min(end, ends) - max(start, begins)
            if overlap > dt.timedelta():
                total += overlap
        day += dt.timedelta(days=1)
    return int(total.total_seconds() // 60)
