"""The treatment journey: sessions, intentions, playlists, integration practices, journal, voice notes, pictures."""

import datetime as dt

from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import FloatField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import JOIN
from peewee import SmallIntegerField
from peewee import TextField

from .accounts import User
from .base import BaseModel
from .base import utcnow

SESSION_KINDS = {
    "infusion": "IV infusion",
    "im": "IM injection",
    "lozenge": "Lozenge",
    "nasal_spray": "Esketamine nasal spray",
    "booster": "Booster",
    "integration": "Integration session",
    "follow_up": "Follow-up",
}
# Sessions where the patient receives ketamine: numbered in the series, ride home needed.
DOSING_KINDS = ("infusion", "im", "lozenge", "nasal_spray", "booster")
SCHEDULED, COMPLETED, CANCELLED, NO_SHOW = "scheduled", "completed", "cancelled", "no_show"
SESSION_STATUSES = {SCHEDULED: "Scheduled", COMPLETED: "Completed", CANCELLED: "Cancelled", NO_SHOW: "No-show"}
PLAYLIST_PURPOSES = {"preparation": "Preparation", "session": "Session", "integration": "Integration"}
PRACTICE_KINDS = {
    "rest": "Rest",
    "journaling": "Journaling",
    "breathwork": "Breathwork",
    "walk": "Movement outdoors",
    "creative": "Creative expression",
    "connect": "Connection",
    "other": "Other",
}


class Playlist(BaseModel):
    """Music the clinic curates for preparing, for the session room, or for integrating."""

    title = CharField(max_length=120)
    purpose = CharField(max_length=16)
    description = TextField(default="")
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    @property
    def duration_seconds(self) -> int:
        return sum(track.duration_seconds for track in self.tracks)


class Track(BaseModel):
    playlist = ForeignKeyField(Playlist, backref="tracks", on_delete="CASCADE")
    position = SmallIntegerField()
    title = CharField(max_length=200)
    artist = CharField(max_length=200)
    duration_seconds = IntegerField()
    url = CharField(max_length=500, default="")  # https only, to a streaming service

    class Meta:
        indexes = ((("playlist", "position"), True),)
        order_by = ("position",)


class TreatmentSession(BaseModel):
    """One appointment in a patient's series: a dosing session, integration session or follow-up."""

    patient = ForeignKeyField(User, backref="treatment_sessions", on_delete="CASCADE")
    scheduled_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    kind = CharField(max_length=16)
    starts_at = DateTimeField()  # UTC
    # The intent as the clinician entered it, so the UTC time can be planned again
    # if the clinic's zone rules change (DST tables) or the session is moved.
    wall_time = CharField(max_length=16)  # YYYY-MM-DDTHH:MM in `zone`
    zone = CharField(max_length=64)
    duration_minutes = SmallIntegerField(default=60)
    status = CharField(max_length=16, default=SCHEDULED)
    number = SmallIntegerField(null=True)  # position among the patient's dosing sessions
    playlist = ForeignKeyField(Playlist, null=True, on_delete="SET NULL")
    ride_name = CharField(max_length=120, default="")
    ride_confirmed_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("patient", "starts_at"), False), (("starts_at",), False))

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def is_dosing(self) -> bool:
        return self.kind in DOSING_KINDS

    @property
    def kind_label(self) -> str:
        return SESSION_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return SESSION_STATUSES.get(self.status, self.status)

    @classmethod
    def for_patient(cls, patient):
        return cls.select().where(cls.patient == patient).order_by(cls.starts_at)

    @classmethod
    def live(cls):
        """Return the query for sessions that still count (not cancelled)."""
        return cls.select().where(cls.status != CANCELLED)

    @classmethod
    def with_playlist(cls, query=None):
        """Return the query (all sessions by default) with each session's music pick loaded alongside."""
        query = cls.select() if query is None else query
        return query.select_extend(Playlist).join(Playlist, JOIN.LEFT_OUTER).switch(cls)


class Intention(BaseModel):
    """The patient's intention worksheet for one session."""

    session = ForeignKeyField(TreatmentSession, backref="intentions", unique=True, on_delete="CASCADE")
    explore = TextField(default="")  # what do I hope to explore, uncover or resolve?
    let_go = TextField(default="")  # what would I like to let go of?
    carry = TextField(default="")  # one sentence to carry in
    updated_at = DateTimeField(default=utcnow)

    @property
    def is_empty(self) -> bool:
        return not (self.explore or self.let_go or self.carry)


class Practice(BaseModel):
    """An integration practice from the clinic's library, offered on given days after a session."""

    title = CharField(max_length=120)
    kind = CharField(max_length=32)
    description = TextField()
    days = CharField(max_length=32, default="0,1,2,3")  # days after the session
    position = SmallIntegerField(default=0)
    active = BooleanField(default=True)

    @property
    def day_list(self) -> list[int]:
        return [int(d) for d in self.days.split(",") if d.strip().isdigit()]

    @property
    def kind_label(self) -> str:
        return PRACTICE_KINDS.get(self.kind, self.kind.title())

    @classmethod
    def library(cls):
        """Return the query for the whole library in the order patients see it, offered ones first."""
        return cls.select().order_by(cls.active.desc(), cls.position, cls.id)


class JournalEntry(BaseModel):
    """A written reflection; private until the patient shares it (AC-03)."""

    patient = ForeignKeyField(User, backref="journal_entries", on_delete="CASCADE")
    session = ForeignKeyField(TreatmentSession, null=True, backref="journal_entries", on_delete="SET NULL")
    client_id = CharField(max_length=36)
    payload_hash = CharField(max_length=64)
    prompt = CharField(max_length=500, default="")
    body = TextField()
    shared_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("patient", "client_id"), True), (("patient", "created_at"), False))


IMAGE_KINDS = {"photo": "Picture", "drawing": "Drawing"}


class JournalImage(BaseModel):
    """A picture or drawing in a journal entry, re-encoded on arrival; the file lives outside the web root
    under a random name (UP-02). It is shared exactly when its entry is (AC-03)."""

    patient = ForeignKeyField(User, backref="journal_images", on_delete="CASCADE")
    entry = ForeignKeyField(JournalEntry, backref="images", on_delete="CASCADE")
    position = SmallIntegerField()
    kind = CharField(max_length=12)
    stored_name = CharField(max_length=64, unique=True)
    mime = CharField(max_length=32)
    width = IntegerField()
    height = IntegerField()
    size = IntegerField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("entry", "position"), True),)

    @property
    def kind_label(self) -> str:
        return IMAGE_KINDS.get(self.kind, "Picture")


class VoiceNote(BaseModel):
    """A recorded voice note; the audio lives outside the web root under a random name (UP-01)."""

    patient = ForeignKeyField(User, backref="voice_notes", on_delete="CASCADE")
    session = ForeignKeyField(TreatmentSession, null=True, backref="voice_notes", on_delete="SET NULL")
    client_id = CharField(max_length=36)
    stored_name = CharField(max_length=64, unique=True)
    mime = CharField(max_length=32)
    size = IntegerField()
    duration_seconds = FloatField()
    shared_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("patient", "client_id"), True),)
