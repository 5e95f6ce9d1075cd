"""Web push: the devices that receive reminders, the reminder outbox, and what happened to each send."""

from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import SmallIntegerField
from peewee import TextField

from .accounts import User
from .base import BaseModel
from .base import utcnow
from .journey import TreatmentSession
from .selfreports import SafetyAlert

# A reminder's life: planned -> sent (its time came and it went to every device there was),
# or expired (too late to be of use), cancelled (no longer wanted), failed (no device could take it).
PLANNED, SENT, EXPIRED, CANCELLED, FAILED = "planned", "sent", "expired", "cancelled", "failed"
# What one device's push service made of one send (PUSH-04).
DELIVERED, GONE, RETRY, REFUSED, UNDELIVERABLE = "delivered", "gone", "retry", "refused", "failed"


class Device(BaseModel):
    """A browser's push subscription (PUSH-03): where to send, and the keys to encrypt for it."""

    user = ForeignKeyField(User, backref="devices", on_delete="CASCADE")
    endpoint = TextField(unique=True)
    p256dh = CharField(max_length=100)  # the browser's P-256 public key, base64url
    auth = CharField(max_length=40)  # its 16-byte auth secret, base64url
    name = CharField(max_length=80)  # "Chrome on Android", as the person sees it in their list
    created_at = DateTimeField(default=utcnow)
    last_success_at = DateTimeField(null=True)
    last_failure_at = DateTimeField(null=True)
    last_status = SmallIntegerField(null=True)  # the push service's last answer

    @property
    def host(self) -> str:
        return self.endpoint.split("://", 1)[-1].split("/", 1)[0]

    def subscription(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class Reminder(BaseModel):
    """One push to one person: a planned reminder, a clinic message, a session change, an alert for staff.

    The outbox is the truth (unique per person, rule and slot). Planned reminders come from the
    patient's data in the same transaction as the change (reminders/planner.py); messages from
    whoever wrote them (reminders/messages.py). A worker claims a row with a lease when it is
    due, writes its in-app text, sends it to every device and records each outcome as a Delivery.
    Once sent, the row is what the patient's inbox shows.
    """

    user = ForeignKeyField(User, backref="reminders", on_delete="CASCADE")  # who receives it
    rule = CharField(max_length=32)  # session_24h, after_day1, checkin, mood_daily, message, notice, alert_new...
    slot = CharField(max_length=80)  # which occurrence: "s12@20270610T1400", "baseline", a date, a uuid
    session = ForeignKeyField(TreatmentSession, null=True, backref="reminders", on_delete="SET NULL")
    alert = ForeignKeyField(SafetyAlert, null=True, backref="pushes", on_delete="CASCADE")
    author = ForeignKeyField(User, null=True, on_delete="SET NULL")  # who wrote a message or notice
    title = CharField(max_length=60, null=True)  # a message's own lock-screen title; else the kind's
    due_at = DateTimeField()  # UTC, quiet hours already applied
    expires_at = DateTimeField()  # UTC: past this, it is marked expired, never sent late
    snoozed_until = DateTimeField(null=True)  # the patient asked for it later; planning keeps that
    status = CharField(max_length=16, default=PLANNED)
    path = CharField(max_length=200)  # where a tap on the notification opens, within the app
    text = TextField(default="")  # the in-app text: a message's words, or written when a reminder is sent
    attempts = SmallIntegerField(default=0)
    lease_until = DateTimeField(null=True)  # a worker holds it until then
    sent_at = DateTimeField(null=True)
    read_at = DateTimeField(null=True)  # opened in the inbox
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("user", "rule", "slot"), True),
            (("status", "due_at"), False),
            (("user", "sent_at"), False),  # the inbox, newest first
            (("user", "read_at", "sent_at"), False),  # the unread count on every patient page (migration 0015)
        )


class Delivery(BaseModel):
    """What one device's push service answered for one reminder (PUSH-04). Not an audit event."""

    reminder = ForeignKeyField(Reminder, backref="deliveries", on_delete="CASCADE")
    device = ForeignKeyField(Device, null=True, backref="deliveries", on_delete="SET NULL")
    host = CharField(max_length=255)  # the push service, kept when a device is removed
    outcome = CharField(max_length=16)  # delivered, gone, retry, refused, failed
    status = SmallIntegerField(null=True)  # the HTTP status, or None for a timeout or a refused address
    at = DateTimeField(default=utcnow, index=True)


class ReminderText(BaseModel):
    """An administrator's wording for one kind of reminder (PUSH-01: the lock screen says nothing clinical)."""

    rule = CharField(max_length=32, primary_key=True)
    title = CharField(max_length=60)
    body = CharField(max_length=140)
    lead = CharField(max_length=300)  # the first line of the in-app text
    updated_at = DateTimeField(default=utcnow)
