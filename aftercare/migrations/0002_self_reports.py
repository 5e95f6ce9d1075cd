"""Mood entries with a per-day rollup, PHQ-9/GAD-7 check-ins, safety alerts, closed accounts."""

import datetime

from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
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

    class MoodEntry(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        client_id = CharField(max_length=36)
        payload_hash = CharField(max_length=64)
        score = SmallIntegerField()
        note = TextField(default="")
        tags = CharField(max_length=255, default="")
        recorded_at = DateTimeField()
        local_day = DateField()
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)
        deleted_at = DateTimeField(null=True)

        class Meta:
            indexes = (
                (("patient", "client_id"), True),
                (("patient", "recorded_at"), False),
            )

    class MoodDay(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        day = DateField()
        count = IntegerField()
        total = IntegerField()
        low = SmallIntegerField()
        high = SmallIntegerField()

        class Meta:
            indexes = ((("patient", "day"), True),)

    class CheckIn(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        client_id = CharField(max_length=36)
        payload_hash = CharField(max_length=64)
        instrument = CharField(max_length=16)
        version = CharField(max_length=64)
        answers = CharField(max_length=64)
        difficulty = SmallIntegerField(null=True)
        total = SmallIntegerField()
        band = CharField(max_length=32)
        submitted_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            indexes = (
                (("patient", "client_id"), True),
                (("patient", "instrument", "submitted_at"), False),
            )

    class SafetyAlert(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        reason = CharField(max_length=32)
        detail = CharField(max_length=255)
        checkin = ForeignKeyField(CheckIn, null=True, on_delete="SET NULL")
        mood = ForeignKeyField(MoodEntry, null=True, on_delete="SET NULL")
        created_at = DateTimeField(index=True)
        acknowledged_at = DateTimeField(null=True)
        acknowledged_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        note = TextField(default="")

    db.create_tables([MoodEntry, MoodDay, CheckIn, SafetyAlert])
    migrator.migrate(migrator.add_column("user", "closed_at", DateTimeField(null=True)))
