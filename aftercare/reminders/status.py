"""What administrators see of reminders: whether push is set up, and push services refusing the clinic's keys.

No patient is named here and no reminder's words are shown: only hosts, counts and times.
"""

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from peewee import fn

from ..models import Delivery
from ..models import REFUSED
from ..models import Reminder
from ..models import REMINDER_PLANNED
from ..models import utcnow
from ..push import vapid

ALARM_HOURS = 24
OVERDUE_MINUTES = 10  # a worker takes a due reminder within seconds; this long means none is running


@dataclass(frozen=True)
class Refusal:
    host: str
    count: int
    last_at: dt.datetime


def refusals(now: dt.datetime | None = None) -> list[Refusal]:
    """Return push services that answered 401/403 in the last day (PUSH-04): a configuration alarm."""
    since = (now or utcnow()) - dt.timedelta(hours=ALARM_HOURS)
    rows = (
        Delivery.select(Delivery.host, fn.COUNT(Delivery.id).alias("count"), fn.MAX(Delivery.at).alias("last_at"))
        .where(Delivery.outcome == REFUSED, Delivery.at >= since)
        .group_by(Delivery.host)
        .order_by(Delivery.host)
        .dicts()
    )
    return [Refusal(row["host"], row["count"], row["last_at"]) for row in rows]


def overdue_count(now: dt.datetime | None = None) -> int:
    """Return how many reminders wait well past their time with no worker holding them."""
    late = (now or utcnow()) - dt.timedelta(minutes=OVERDUE_MINUTES)
    return (
        Reminder.select()
        .where(
            Reminder.status == REMINDER_PLANNED,
            Reminder.due_at < late,
            Reminder.expires_at > (now or utcnow()),
            Reminder.lease_until.is_null() | (Reminder.lease_until < (now or utcnow())),
        )
        .count()
    )


def problems(now: dt.datetime | None = None) -> list[str]:
    """Return what an administrator must fix for reminders to reach phones, in plain words (empty when fine)."""
    found = []
    setup = vapid.problem(current_app.config)
    if setup:
        found.append(setup)
    overdue = overdue_count(now)
    if overdue:
        found.append(
            f"{overdue} reminder(s) are more than {OVERDUE_MINUTES} minutes overdue. Is the worker running "
            "(`flask --app aftercare reminders work`, or `reminders dispatch` from cron)?"
        )
    for refusal in refusals(now):
        found.append(
            f"{refusal.host} refused {refusal.count} reminder(s) in the last {ALARM_HOURS} hours (401/403): it does "
            "not accept this server's VAPID key. Check that AFTERCARE_VAPID_* match the key patients subscribed with; "
            "no device has been removed."
        )
    return found
