"""What administrators see of reminders: whether push is set up, and push services refusing the clinic's keys.

No patient is named here and no reminder's words are shown: only hosts, counts and times.
"""

import datetime as dt
import statistics
from dataclasses import dataclass

from flask import current_app
from peewee import fn

from ..db import moment
from ..models import DELIVERED
from ..models import Delivery
from ..models import Device
from ..models import REFUSED
from ..models import Reminder
from ..models import REMINDER_PLANNED
from ..models import SafetyAlert
from ..models import User
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


# --------------------------------------------------------------------------- counts, never names

QUEUE_DAYS = 7
SERVICES = (
    ("fcm.googleapis.com", "Google (Chrome, Android)"),
    ("android.googleapis.com", "Google (Chrome, Android)"),
    ("push.services.mozilla.com", "Mozilla (Firefox)"),
    ("push.apple.com", "Apple (Safari, iPhone)"),
    ("notify.windows.com", "Microsoft (Edge)"),
)


@dataclass(frozen=True)
class Queue:
    due: int  # waiting for a worker now
    later: int  # planned for later
    sent: int  # in the last QUEUE_DAYS days
    failed: int
    expired: int
    devices: dict[str, int]  # per push service


def queue(now: dt.datetime | None = None) -> Queue:
    """Return the reminder queue as counts (no patient, no text)."""
    now = now or utcnow()
    since = now - dt.timedelta(days=QUEUE_DAYS)
    planned = Reminder.select().where(Reminder.status == REMINDER_PLANNED, Reminder.expires_at > now)
    recent = dict(
        Reminder.select(Reminder.status, fn.COUNT(Reminder.id))
        .where(Reminder.updated_at >= since, Reminder.status.in_(("sent", "failed", "expired")))
        .group_by(Reminder.status)
        .tuples()
    )
    services: dict[str, int] = {}
    for (endpoint,) in Device.select(Device.endpoint).tuples():
        host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":")[0]
        name = next((label for suffix, label in SERVICES if host == suffix or host.endswith("." + suffix)), "Other")
        services[name] = services.get(name, 0) + 1
    return Queue(
        due=planned.where(Reminder.due_at <= now).count(),
        later=planned.where(Reminder.due_at > now).count(),
        sent=recent.get("sent", 0),
        failed=recent.get("failed", 0),
        expired=recent.get("expired", 0),
        devices=dict(sorted(services.items())),
    )


SMALL = 5  # counts below this are shown as "fewer than 5"


@dataclass(frozen=True)
class Waits:
    week: dt.date  # its Monday
    alerts: int
    median_minutes: int
    longest_minutes: int
    still_open: int

    @property
    def count_label(self) -> str:
        return f"fewer than {SMALL}" if self.alerts < SMALL else str(self.alerts)


def alert_waits(now: dt.datetime | None = None, weeks: int = 8) -> list[Waits]:
    """How long safety alerts waited for a clinician, per week they opened: median and longest, no one named.

    An alert still open counts with its wait so far.
    """
    now = now or utcnow()
    since = now - dt.timedelta(weeks=weeks)
    by_week: dict[dt.date, list[tuple[float, bool]]] = {}
    rows = SafetyAlert.select(SafetyAlert.created_at, SafetyAlert.acknowledged_at).where(
        SafetyAlert.created_at >= since
    )
    for created, acknowledged in rows.tuples():
        monday = created.date() - dt.timedelta(days=created.weekday())
        waited = ((acknowledged or now) - created).total_seconds() / 60
        by_week.setdefault(monday, []).append((waited, acknowledged is None))
    result = []
    for monday in sorted(by_week, reverse=True):
        waits = by_week[monday]
        minutes = [w for w, _ in waits]
        result.append(
            Waits(
                monday,
                len(waits),
                round(statistics.median(minutes)),
                round(max(minutes)),
                sum(1 for _, still in waits if still),
            )
        )
    return result


# --------------------------------------------------------------------------- does a patient get them?

FAILING_DAYS = 3


@dataclass(frozen=True)
class Reach:
    """Whether reminders reach one patient, for their clinician (no reminder's words)."""

    devices: list[Device]
    last_delivered: dt.datetime | None
    sent: int  # reminders and messages that reached their time in the last QUEUE_DAYS days
    undelivered: int  # of those, how many reached no device
    failing: bool  # nothing reached any device for FAILING_DAYS days, though reminders went out


def failing(patient_ids: list[int], now: dt.datetime | None = None) -> set[int]:
    """Return the patients who use push but whose reminders have reached no device for FAILING_DAYS days.

    "Use push": they have a device, or one ever took a reminder. A patient who never turned
    reminders on is not flagged (their record says so instead). `patient_ids` may be a list or a
    query selecting ids.
    """
    if isinstance(patient_ids, list) and not patient_ids:
        return set()
    now = now or utcnow()
    since = now - dt.timedelta(days=FAILING_DAYS)
    last_delivered = {
        uid: moment(at)
        for uid, at in Delivery.select(Reminder.user, fn.MAX(Delivery.at))
        .join(Reminder)
        .where(Reminder.user.in_(patient_ids), Delivery.outcome == DELIVERED)
        .group_by(Reminder.user)
        .tuples()
    }
    with_devices = {uid for (uid,) in Device.select(Device.user).where(Device.user.in_(patient_ids)).tuples()}
    recently_sent = {
        uid
        for (uid,) in Reminder.select(Reminder.user)
        .where(Reminder.user.in_(patient_ids), Reminder.sent_at > since)
        .distinct()
        .tuples()
    }
    flagged = set()
    for uid in with_devices | set(last_delivered):  # everyone else does not use push
        uses_push = uid in with_devices or uid in last_delivered
        last = last_delivered.get(uid)
        if uses_push and uid in recently_sent and (last is None or last <= since):
            flagged.add(uid)
    return flagged


def reach(patient: User, now: dt.datetime | None = None) -> Reach:
    now = now or utcnow()
    since = now - dt.timedelta(days=QUEUE_DAYS)
    devices = list(Device.select().where(Device.user == patient).order_by(Device.created_at))
    last = moment(
        Delivery.select(fn.MAX(Delivery.at))
        .join(Reminder)
        .where(Reminder.user == patient, Delivery.outcome == DELIVERED)
        .scalar()
    )
    sent = list(Reminder.select(Reminder.id).where(Reminder.user == patient, Reminder.sent_at > since).tuples())
    ids = [i for (i,) in sent]
    reached = (
        {
            r
            for (r,) in Delivery.select(Delivery.reminder)
            .where(Delivery.reminder.in_(ids), Delivery.outcome == DELIVERED)
            .tuples()
        }
        if ids
        else set()
    )
    return Reach(devices, last, len(ids), len(ids) - len(reached), patient.id in failing([patient.id], now))
