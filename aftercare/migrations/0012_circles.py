"""Integration circles: circles, their meetings, invites, members, attendance, and each circle's board."""

import datetime

from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import Model
from peewee import SmallIntegerField
from peewee import TextField


def _now():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class Circle(Base):
        title = CharField(max_length=120)
        description = TextField(default="")
        facilitator = ForeignKeyField(User, null=True, on_delete="SET NULL")
        mode = CharField(max_length=16)
        place = CharField(max_length=200, default="")
        link = CharField(max_length=500, default="")
        capacity = SmallIntegerField()
        audience = CharField(max_length=16, default="all")
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)
        closed_at = DateTimeField(null=True)

    class CircleMeeting(Base):
        circle = ForeignKeyField(Circle, on_delete="CASCADE")
        starts_at = DateTimeField()
        zone = CharField(max_length=64)
        minutes = SmallIntegerField(default=90)
        status = CharField(max_length=12, default="scheduled")
        updated_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("circle", "starts_at"), False), (("starts_at",), False))

    class CircleInvite(Base):
        circle = ForeignKeyField(Circle, on_delete="CASCADE")
        patient = ForeignKeyField(User, on_delete="CASCADE")
        invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("circle", "patient"), True),)

    class CircleMember(Base):
        circle = ForeignKeyField(Circle, on_delete="CASCADE")
        patient = ForeignKeyField(User, on_delete="CASCADE")
        display_name = CharField(max_length=40)
        name_key = CharField(max_length=40)
        status = CharField(max_length=12, default="member")
        joined_at = DateTimeField(default=_now)
        changed_at = DateTimeField(default=_now)
        trusted_at = DateTimeField(null=True)
        removed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            indexes = ((("circle", "patient"), True), (("circle", "name_key"), True))

    class CircleAttendance(Base):
        meeting = ForeignKeyField(CircleMeeting, on_delete="CASCADE")
        patient = ForeignKeyField(User, on_delete="CASCADE")
        attended = BooleanField()
        marked_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        marked_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("meeting", "patient"), True),)

    class CirclePost(Base):
        circle = ForeignKeyField(Circle, on_delete="CASCADE")
        author = ForeignKeyField(User, null=True, on_delete="SET NULL")
        name = CharField(max_length=40)
        by_facilitator = BooleanField(default=False)
        parent = ForeignKeyField("self", null=True, on_delete="CASCADE")
        body = TextField()
        status = CharField(max_length=12, default="shown")
        client_id = CharField(max_length=36)
        created_at = DateTimeField(default=_now)
        reviewed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        reviewed_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("author", "client_id"), True), (("circle", "created_at"), False))

    class PostReport(Base):
        post = ForeignKeyField(CirclePost, on_delete="CASCADE")
        reporter = ForeignKeyField(User, on_delete="CASCADE")
        reason = CharField(max_length=300, default="")
        created_at = DateTimeField(default=_now)
        resolved_at = DateTimeField(null=True)
        resolved_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            indexes = ((("post", "reporter"), True),)

    db.create_tables([Circle, CircleMeeting, CircleInvite, CircleMember, CircleAttendance, CirclePost, PostReport])
