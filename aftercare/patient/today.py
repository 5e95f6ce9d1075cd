"""What the Today screen shows: a greeting, today's entries, and where the patient is in their series."""

import datetime as dt

from flask import url_for

from ..journey import preparation
from ..journey import scheduling
from ..localtime import to_local
from ..models import User
from ..models import utcnow
from ..selfreports import checkins
from ..selfreports import mood


def greeting(now_local: dt.datetime) -> str:
    if now_local.hour < 5:
        return "Hello"
    if now_local.hour < 12:
        return "Good morning"
    if now_local.hour < 18:
        return "Good afternoon"
    return "Good evening"


def ago(delta: dt.timedelta) -> str:
    """Say how long ago something was, briefly: "just now", "20 min ago", "3 hours ago", "2 days ago"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 2:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} hour{'s' if hours > 1 else ''} ago"
    days = hours // 24
    return "yesterday" if days == 1 else f"{days} days ago"


def countdown(delta: dt.timedelta) -> str:
    """Say how long until a session in words a tired person reads at a glance."""
    minutes = int(delta.total_seconds() // 60)
    days, hours = divmod(minutes // 60, 24)
    if days >= 2:
        return f"in {days} days"
    if days == 1:
        return f"in 1 day and {hours} hour{'s' if hours != 1 else ''}" if hours else "in 1 day"
    if hours >= 1:
        return f"in {hours} hour{'s' if hours > 1 else ''}"
    return f"in {max(1, minutes)} minute{'s' if minutes > 1 else ''}"


def journey(patient: User, now: dt.datetime) -> dict:
    """The next session and its to-dos, or where the patient is in the window of clarity and today's practices."""
    upcoming = scheduling.next_session(patient, now)
    ahead = upcoming is not None and upcoming.starts_at > now
    window = scheduling.window(patient, now)
    return {
        "session_url": url_for("journey.patient_session", session_id=upcoming.id) if upcoming else None,
        "journal_url": url_for("journal.new_entry", session=window.session.id) if window else None,
        "upcoming": upcoming,
        "countdown": countdown(upcoming.starts_at - now) if ahead else None,
        "todo": preparation.to_do(upcoming) if ahead else [],
        "window": window,
        "practices": scheduling.practices_for(window.day, window.no_driving) if window else [],
    }


def overview(patient: User, now: dt.datetime | None = None) -> dict:
    """Return everything the Today screen shows, for the template."""
    now = now or utcnow()
    now_local = to_local(now, patient.timezone)
    last = mood.latest(patient)
    return {
        "greeting": greeting(now_local),
        "today": now_local,
        "last_mood": last,
        "last_mood_ago": ago(now - last.recorded_at) if last else None,
        "due": checkins.due(patient, now),
        "entries": list(mood.todays_entries(patient, now_local.date())),
        "care_team": list(patient.clinicians()),
        "last_checkins": checkins.latest(patient),
        **journey(patient, now),
    }
