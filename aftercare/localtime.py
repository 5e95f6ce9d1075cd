"""Time: UTC in the database, each patient's IANA zone on screen."""

import datetime as dt
import zoneinfo


def to_local(when_utc: dt.datetime, zone: str) -> dt.datetime:
    """Return a naive UTC datetime from the database as an aware datetime in `zone`."""
    return when_utc.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone))


def local_day(when_utc: dt.datetime, zone: str) -> dt.date:
    """Return the calendar day in `zone` at a UTC moment."""
    return to_local(when_utc, zone).date()


def init_app(app) -> None:
    """Register the `local` template filter: {{ entry.recorded_at|local(current_user.timezone) }}."""
    app.add_template_filter(to_local, "local")
