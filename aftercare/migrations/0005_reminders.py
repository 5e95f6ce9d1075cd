"""Push reminders: devices, the reminder outbox (messages, inbox), deliveries, the clinic's wording; a daily
mood nudge, kinds turned off, escalated alerts."""

import datetime

from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import Model
from peewee import SmallIntegerField
from peewee import TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class TreatmentSession(Base):
        class Meta:
            table_name = "treatment_session"

    class Device(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        endpoint = TextField(unique=True)
        p256dh = CharField(max_length=100)
        auth = CharField(max_length=40)
        name = CharField(max_length=80)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        last_success_at = DateTimeField(null=True)
        last_failure_at = DateTimeField(null=True)
        last_status = SmallIntegerField(null=True)

    class SafetyAlert(Base):
        class Meta:
            table_name = "safety_alert"

    class Reminder(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        rule = CharField(max_length=32)
        slot = CharField(max_length=80)
        session = ForeignKeyField(TreatmentSession, null=True, on_delete="SET NULL")
        alert = ForeignKeyField(SafetyAlert, null=True, on_delete="CASCADE")
        author = ForeignKeyField(User, null=True, on_delete="SET NULL")
        title = CharField(max_length=60, null=True)
        due_at = DateTimeField()
        expires_at = DateTimeField()
        snoozed_until = DateTimeField(null=True)
        status = CharField(max_length=16, default="planned")
        path = CharField(max_length=200)
        text = TextField(default="")
        attempts = SmallIntegerField(default=0)
        lease_until = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        read_at = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            indexes = ((("user", "rule", "slot"), True), (("status", "due_at"), False), (("user", "sent_at"), False))

    class Delivery(Base):
        reminder = ForeignKeyField(Reminder, on_delete="CASCADE")
        device = ForeignKeyField(Device, null=True, on_delete="SET NULL")
        host = CharField(max_length=255)
        outcome = CharField(max_length=16)
        status = SmallIntegerField(null=True)
        at = DateTimeField(index=True, default=datetime.datetime.utcnow)

    class ReminderText(Base):
        rule = CharField(max_length=32, primary_key=True)
        title = CharField(max_length=60)
        body = CharField(max_length=140)
        lead = CharField(max_length=300)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

    db.create_tables([Device, Reminder, Delivery, ReminderText])
    migrator.migrate(
        migrator.add_column("user", "mood_nudge_at", CharField(max_length=5, null=True)),
        migrator.add_column("user", "reminders_off", CharField(max_length=200, default="")),
        migrator.add_column("safety_alert", "escalated_at", DateTimeField(null=True)),
    )
