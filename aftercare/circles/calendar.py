"""A circle's meetings as an .ics file a member adds to their calendar.

Like the appointment feed (journey/calendar.py), the events say nothing clinical on a lock
screen: "aftercare group", the place for a circle that meets in person. An online circle's link
stays on its page in the app, where only members see it.
"""

import datetime as dt

from icalendar import Calendar
from icalendar import Event

from ..models import Circle
from ..models import CircleMeeting
from ..models import IN_PERSON
from ..models import MEETING_CANCELLED
from ..models import utcnow

TITLE = "aftercare group"
PRODID = "-//aftercare//circles//EN"


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC)


def ics(circle: Circle, host: str, page_url: str, now: dt.datetime | None = None) -> bytes:
    """Return the circle's coming meetings (cancelled ones marked, so calendars remove them) as iCalendar."""
    now = now or utcnow()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    meetings = CircleMeeting.select().where(
        CircleMeeting.circle == circle, CircleMeeting.starts_at > now - dt.timedelta(days=1)
    )
    for meeting in meetings.order_by(CircleMeeting.starts_at):
        event = Event()
        # Stable per meeting: importing the file again after a move replaces the old event.
        event.add("uid", f"circle-meeting-{meeting.id}@{host}")
        event.add("summary", TITLE)
        event.add("dtstart", _utc(meeting.starts_at))
        event.add("dtend", _utc(meeting.starts_at + dt.timedelta(minutes=meeting.minutes)))
        event.add("dtstamp", _utc(now))
        event.add("last-modified", _utc(meeting.updated_at))
        cancelled = meeting.status == MEETING_CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("class", "PRIVATE")
        if circle.mode == IN_PERSON and circle.place:
            event.add("location", circle.place)
        event.add("url", page_url)
        calendar.add_component(event)
    return calendar.to_ical()
