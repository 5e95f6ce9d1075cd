"""Time: UTC in the database, each patient's IANA zone on screen."""

import datetime as dt
import zoneinfo


def to_local(when_utc: dt.datetime, zone: str) -> dt.datetime:
    """Return a naive UTC datetime from the database as an aware datetime in `zone`."""
    return when_utc.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone))


def local_day(when_utc: dt.datetime, zone: str) -> dt.date:
    """Return the calendar day in `zone` at a UTC moment."""
    return to_local(when_utc, zone).date()


def to_utc(wall: dt.datetime, zone: str) -> dt.datetime:
    """Return the naive UTC moment for a wall-clock time in `zone`.

    DST gaps shift forward (02:30 on a spring-forward night is 03:30); a repeated hour
    on a fall-back night means its first occurrence. zoneinfo with fold=0 does both.
    """
    aware = wall.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=0)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def valid_zone(zone: str) -> bool:
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def duration(minutes: int) -> str:
    """Say a span of minutes briefly: "45 min", "2 h 5 min", "3 days 4 h"."""
    minutes = max(0, int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"


def init_app(app) -> None:
    """Register the template filters: {{ entry.recorded_at|local(current_user.timezone) }}, {{ 125|minutes }}."""
    app.add_template_filter(to_local, "local")
    app.add_template_filter(duration, "minutes")
