"""Integration circles: the clinic's groups, their meetings, who belongs, who came, and each circle's board.

Nothing here is part of a patient's clinical record: what a patient writes on a board is theirs
and the circle's. Only attendance reaches their clinicians, and a post held for crisis words
reaches the patient's own clinician with its safety alert (circles/board.py).
"""

import datetime as dt

from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import SmallIntegerField
from peewee import TextField

from .accounts import User
from .base import BaseModel
from .base import utcnow

IN_PERSON, ONLINE = "in_person", "online"
CIRCLE_MODES = {IN_PERSON: "In person", ONLINE: "Online"}
EVERY_PATIENT, INVITED_ONLY = "all", "invited"
CIRCLE_AUDIENCES = {EVERY_PATIENT: "Every patient of the clinic", INVITED_ONLY: "Only the patients invited"}
MEETING_SCHEDULED, MEETING_CANCELLED = "scheduled", "cancelled"
# A membership: in the circle, left it (may join again), or removed by the facilitator (may not).
MEMBER, LEFT, REMOVED = "member", "left", "removed"
# A post: on the board; waiting for the facilitator (a new member's first posts); held (crisis
# words: the author's clinician has it with the alert, nobody else); hidden by the facilitator;
# removed (its author closed their account, or took it down).
SHOWN, WAITING, HELD, HIDDEN, WITHDRAWN = "shown", "waiting", "held", "hidden", "removed"


class Circle(BaseModel):
    """An integration circle the clinic runs: what it is, who leads it, where it meets, who may see it."""

    title = CharField(max_length=120)
    description = TextField(default="")
    facilitator = ForeignKeyField(User, null=True, backref="facilitated_circles", on_delete="SET NULL")
    mode = CharField(max_length=16)  # IN_PERSON or ONLINE
    place = CharField(max_length=200, default="")  # in person: the room and address
    link = CharField(max_length=500, default="")  # online: the meeting link, shown to members only
    capacity = SmallIntegerField()
    audience = CharField(max_length=16, default=EVERY_PATIENT)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(null=True)  # no longer run: off every list, its board kept read-only

    @property
    def mode_label(self) -> str:
        return CIRCLE_MODES.get(self.mode, self.mode)


class CircleMeeting(BaseModel):
    """One meeting of a circle: a UTC start, entered as a wall-clock time in the clinic's zone."""

    circle = ForeignKeyField(Circle, backref="meetings", on_delete="CASCADE")
    starts_at = DateTimeField()  # UTC
    zone = CharField(max_length=64)  # the clinic's zone when it was entered
    minutes = SmallIntegerField(default=90)
    status = CharField(max_length=12, default=MEETING_SCHEDULED)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("circle", "starts_at"), False), (("starts_at",), False))

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.minutes)


class CircleInvite(BaseModel):
    """A patient invited to a circle only invited patients see."""

    circle = ForeignKeyField(Circle, backref="invites", on_delete="CASCADE")
    patient = ForeignKeyField(User, backref="circle_invites", on_delete="CASCADE")
    invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("circle", "patient"), True),)


class CircleMember(BaseModel):
    """A patient in a circle, under the name they chose for its board."""

    circle = ForeignKeyField(Circle, backref="members", on_delete="CASCADE")
    patient = ForeignKeyField(User, backref="circle_memberships", on_delete="CASCADE")
    display_name = CharField(max_length=40)
    name_key = CharField(max_length=40)  # the name folded, so two members cannot look alike
    status = CharField(max_length=12, default=MEMBER)
    joined_at = DateTimeField(default=utcnow)
    changed_at = DateTimeField(default=utcnow)
    trusted_at = DateTimeField(null=True)  # the facilitator approved a post: no more waiting
    removed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("circle", "patient"), True), (("circle", "name_key"), True))


class CircleAttendance(BaseModel):
    """Whether a member came to a meeting, as the facilitator marked it."""

    meeting = ForeignKeyField(CircleMeeting, backref="attendance", on_delete="CASCADE")
    patient = ForeignKeyField(User, backref="circle_attendance", on_delete="CASCADE")
    attended = BooleanField()
    marked_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    marked_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("meeting", "patient"), True),)


class CirclePost(BaseModel):
    """A post or a reply on a circle's board, under the name its author shows there."""

    circle = ForeignKeyField(Circle, backref="posts", on_delete="CASCADE")
    author = ForeignKeyField(User, null=True, backref="circle_posts", on_delete="SET NULL")
    name = CharField(max_length=40)  # the display name (a member's) or the facilitator's own name
    by_facilitator = BooleanField(default=False)
    parent = ForeignKeyField("self", null=True, backref="replies", on_delete="CASCADE")
    body = TextField()
    status = CharField(max_length=12, default=SHOWN)
    client_id = CharField(max_length=36)  # the form's UUID: a double tap posts once
    created_at = DateTimeField(default=utcnow)
    reviewed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")  # approved or hid it
    reviewed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("author", "client_id"), True), (("circle", "created_at"), False))


class PostReport(BaseModel):
    """Someone asked the facilitator to look at a post."""

    post = ForeignKeyField(CirclePost, backref="reports", on_delete="CASCADE")
    reporter = ForeignKeyField(User, backref="post_reports", on_delete="CASCADE")
    reason = CharField(max_length=300, default="")
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

    class Meta:
        indexes = ((("post", "reporter"), True),)
