"""The treatment journey: sessions, intentions, playlists and tracks, practices, journal, voice notes."""

import datetime

from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import FloatField
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

    class Playlist(Base):
        title = CharField(max_length=120)
        purpose = CharField(max_length=16)
        description = TextField(default="")
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        active = BooleanField(default=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

    class Track(Base):
        playlist = ForeignKeyField(Playlist, on_delete="CASCADE")
        position = SmallIntegerField()
        title = CharField(max_length=200)
        artist = CharField(max_length=200)
        duration_seconds = IntegerField()
        url = CharField(max_length=500, default="")

        class Meta:
            indexes = ((("playlist", "position"), True),)

    class TreatmentSession(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        scheduled_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        kind = CharField(max_length=16)
        starts_at = DateTimeField()
        wall_time = CharField(max_length=16)
        zone = CharField(max_length=64)
        duration_minutes = SmallIntegerField(default=60)
        status = CharField(max_length=16, default="scheduled")
        number = SmallIntegerField(null=True)
        playlist = ForeignKeyField(Playlist, null=True, on_delete="SET NULL")
        ride_name = CharField(max_length=120, default="")
        ride_confirmed_at = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            indexes = ((("patient", "starts_at"), False), (("starts_at",), False))

    class Intention(Base):
        session = ForeignKeyField(TreatmentSession, unique=True, on_delete="CASCADE")
        explore = TextField(default="")
        let_go = TextField(default="")
        carry = TextField(default="")
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

    class Practice(Base):
        title = CharField(max_length=120)
        kind = CharField(max_length=32)
        description = TextField()
        days = CharField(max_length=32, default="0,1,2,3")
        position = SmallIntegerField(default=0)
        active = BooleanField(default=True)

    class JournalEntry(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        session = ForeignKeyField(TreatmentSession, null=True, on_delete="SET NULL")
        client_id = CharField(max_length=36)
        payload_hash = CharField(max_length=64)
        prompt = CharField(max_length=500, default="")
        body = TextField()
        shared_at = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)
        updated_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            indexes = ((("patient", "client_id"), True), (("patient", "created_at"), False))

    class VoiceNote(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        session = ForeignKeyField(TreatmentSession, null=True, on_delete="SET NULL")
        client_id = CharField(max_length=36)
        stored_name = CharField(max_length=64, unique=True)
        mime = CharField(max_length=32)
        size = IntegerField()
        duration_seconds = FloatField()
        shared_at = DateTimeField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            indexes = ((("patient", "client_id"), True),)

    db.create_tables([Playlist, Track, TreatmentSession, Intention, Practice, JournalEntry, VoiceNote])
    migrator.migrate(migrator.add_column("user", "calendar_token_hash", CharField(max_length=64, null=True)))
    migrator.migrate(migrator.add_index("user", ("calendar_token_hash",), unique=True))

    # The clinic's starting library of integration practices; admins edit it.
    practices = [
        (
            "Rest and capture",
            "rest",
            "Rest today. If something comes up, record a short voice note or a few words; "
            "no need to make sense of it yet.",
            "0",
        ),
        (
            "Journaling",
            "journaling",
            "Write for ten minutes about what you noticed during the session. "
            "Start with your intention and how it landed.",
            "1,2,3",
        ),
        (
            "Breathwork",
            "breathwork",
            "Five minutes of slow breathing: in for four, hold for four, out for six.",
            "1,2,3",
        ),
        (
            "A walk outdoors",
            "walk",
            "A gentle walk outside, without headphones if you can. Notice what you see and hear.",
            "1,2,3",
        ),
        (
            "Creative expression",
            "creative",
            "Draw, paint, play music or move: let the session come out without words.",
            "2,3",
        ),
        (
            "Talk to someone you trust",
            "connect",
            "Share one thing from your session with someone who is on your side.",
            "2,3",
        ),
    ]
    for position, (title, kind, description, days) in enumerate(practices):
        Practice.create(title=title, kind=kind, description=description, days=days, position=position)
