"""Patients' self-reports: mood entries with their daily rollup, check-ins, safety alerts."""

import datetime as dt
import json

from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import EXCLUDED
from peewee import FloatField
from peewee import fn
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import SmallIntegerField
from peewee import TextField

from .accounts import User
from .base import BaseModel
from .base import utcnow
from .journey import Playlist
from .journey import TreatmentSession


class MoodEntry(BaseModel):
    """One tap on the 0-10 mood scale, with an optional note and tags."""

    # No index of its own: the composite indexes below start with patient_id (migration 0014).
    patient = ForeignKeyField(User, backref="mood_entries", on_delete="CASCADE", index=False)
    client_id = CharField(max_length=36)
    payload_hash = CharField(max_length=64)
    score = SmallIntegerField()
    note = TextField(default="")
    tags = CharField(max_length=255, default="")
    recorded_at = DateTimeField()  # UTC, when the patient tapped (maybe offline)
    local_day = DateField()  # the patient's calendar day at recorded_at
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    deleted_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("patient", "client_id"), True),
            (("patient", "recorded_at"), False),
            (("patient", "local_day"), False),  # a day's entries: Today, its rollup, editing
        )

    @classmethod
    def visible(cls):
        return cls.select().where(cls.deleted_at.is_null())

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class MoodDay(BaseModel):
    """Per-patient, per-day mood rollup, kept in the same transaction as each entry."""

    patient = ForeignKeyField(User, backref="mood_days", on_delete="CASCADE", index=False)  # (patient, day) serves it
    day = DateField()
    count = IntegerField()
    total = IntegerField()
    low = SmallIntegerField()
    high = SmallIntegerField()

    class Meta:
        # (day): the panel's recent days across a clinician's patients, one range however many patients
        indexes = ((("patient", "day"), True), (("day",), False))

    @property
    def mean(self) -> float:
        return self.total / self.count

    @classmethod
    def refresh(cls, patient_id: int, day: dt.date) -> None:
        """Recompute one patient-day from its entries (after an insert, edit or delete)."""
        row = (
            MoodEntry.visible()
            .select(fn.COUNT(MoodEntry.id), fn.SUM(MoodEntry.score), fn.MIN(MoodEntry.score), fn.MAX(MoodEntry.score))
            .where(MoodEntry.patient == patient_id, MoodEntry.local_day == day)
            .tuples()
            .first()
        )
        count, total, low, high = row or (0, None, None, None)
        if not count:
            cls.delete().where(cls.patient == patient_id, cls.day == day).execute()
            return
        values = {"count": count, "total": total, "low": low, "high": high}
        cls.insert(patient=patient_id, day=day, **values).on_conflict(
            conflict_target=[cls.patient, cls.day], update=values
        ).execute()

    @classmethod
    def rebuild(cls, patient_ids: list[int]) -> None:
        """Recompute every day of these patients from their entries in one statement (bulk loads)."""
        totals = (
            MoodEntry.visible()
            .select(
                MoodEntry.patient,
                MoodEntry.local_day,
                fn.COUNT(MoodEntry.id),
                fn.SUM(MoodEntry.score),
                fn.MIN(MoodEntry.score),
                fn.MAX(MoodEntry.score),
            )
            .where(MoodEntry.patient.in_(patient_ids))
            .group_by(MoodEntry.patient, MoodEntry.local_day)
        )
        cls.insert_from(totals, [cls.patient, cls.day, cls.count, cls.total, cls.low, cls.high]).on_conflict(
            conflict_target=[cls.patient, cls.day],
            update={name: EXCLUDED[name] for name in ("count", "total", "low", "high")},
        ).execute()


# The window of clarity in hours since the last dosing session: 0-6, 6-24, 24-48, 48-72, 72-168, over 168.
WINDOW_EDGES = (6, 24, 48, 72, 168)
WINDOW_BUCKETS = ("0–6 hours", "6–24 hours", "24–48 hours", "48–72 hours", "3–7 days", "Over a week")
WINDOW_72H = 4  # buckets below this one are the 72 hours after a session


def window_bucket(since: dt.timedelta) -> int:
    """Return the bucket of an entry logged `since` after its last dosing session began."""
    for bucket, edge in enumerate(WINDOW_EDGES):
        if since < dt.timedelta(hours=edge):
            return bucket
    return len(WINDOW_EDGES)


class MoodWindow(BaseModel):
    """Mood by hours since the last dosing session: per patient, session, local day and bucket.

    Kept in the same transaction as each entry (one upsert), and recomputed for a patient when
    their series changes (a session booked, moved, cancelled or marked) or an entry is edited or
    removed. Entries before a patient's first dosing session have no row. `rollups rebuild`
    recomputes it all; the cohort page and the record's session cards read it.
    """

    patient = ForeignKeyField(User, on_delete="CASCADE", index=False)  # the unique index below starts with it
    session = ForeignKeyField(TreatmentSession, on_delete="CASCADE")
    day = DateField()
    bucket = SmallIntegerField()
    count = IntegerField()
    total = IntegerField()

    class Meta:
        # By day too: the clinic's figures read the month still open for every patient at once.
        indexes = ((("patient", "day", "session", "bucket"), True), (("session",), False), (("day",), False))


class MoodMonth(BaseModel):
    """MoodWindow summed by patient and calendar month, one row per patient and month, for sealed months.

    The clinic's figures (an administrator's whole months, every patient) read these few rows
    instead of every day's; months from MoodMonthSeal.through on are read from MoodWindow itself.
    count_n and total_n are bucket n's (WINDOW_BUCKETS). Kept by selfreports/windows.py: sealed a
    month at a time, recomputed for a patient whenever their MoodWindow rows are, and moved on by
    an entry that arrives for a sealed month.
    """

    patient = ForeignKeyField(User, on_delete="CASCADE", index=False)
    month = DateField()  # its first day
    count_0 = IntegerField(default=0)
    total_0 = IntegerField(default=0)
    count_1 = IntegerField(default=0)
    total_1 = IntegerField(default=0)
    count_2 = IntegerField(default=0)
    total_2 = IntegerField(default=0)
    count_3 = IntegerField(default=0)
    total_3 = IntegerField(default=0)
    count_4 = IntegerField(default=0)
    total_4 = IntegerField(default=0)
    count_5 = IntegerField(default=0)
    total_5 = IntegerField(default=0)

    class Meta:
        indexes = ((("patient", "month"), True),)


class MoodMonthSession(BaseModel):
    """Mood in the 72 hours after each session, by patient and sealed month: the clinic's music figure."""

    patient = ForeignKeyField(User, on_delete="CASCADE", index=False)
    month = DateField()
    session = ForeignKeyField(TreatmentSession, on_delete="CASCADE")
    # The session's music, kept here so the figure needs no join; it is fixed before the session
    # starts (preparation closes then), and picking it again recomputes the patient's months anyway.
    playlist = ForeignKeyField(Playlist, null=True, on_delete="SET NULL", index=False)
    count = IntegerField()
    total = IntegerField()

    class Meta:
        indexes = ((("patient", "month", "session"), True),)


class MoodMonthSeal(BaseModel):
    """One row: the months before `through` (a first day) are summed in MoodMonth and MoodMonthSession."""

    id = IntegerField(primary_key=True)
    through = DateField()


class CheckIn(BaseModel):
    """A completed questionnaire, stored with its answers, score and the instrument's version."""

    patient = ForeignKeyField(User, backref="checkins", on_delete="CASCADE")
    client_id = CharField(max_length=36)
    payload_hash = CharField(max_length=64)
    instrument = CharField(max_length=16)
    version = CharField(max_length=64)
    answers = TextField()  # JSON list of item answers, in order
    difficulty = SmallIntegerField(null=True)  # the unscored extra question (PHQ-9 item 10), if asked
    total = FloatField()  # a whole number for summed measures, a mean to one decimal for others
    subscores = TextField(default="{}")  # JSON: subscale key -> score
    band = CharField(max_length=32)
    submitted_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("patient", "client_id"), True),
            (("patient", "instrument", "submitted_at"), False),
        )

    @property
    def answer_list(self) -> list[int]:
        return json.loads(self.answers)

    @property
    def subscore_map(self) -> dict[str, float]:
        return json.loads(self.subscores or "{}")

    @classmethod
    def series(cls, patient, instrument: str):
        """Return the query for a patient's scores on one instrument, oldest first."""
        return (
            cls.select().where(cls.patient == patient, cls.instrument == instrument).order_by(cls.submitted_at, cls.id)
        )


# The points of a patient's series on one measure that the panel and the cohort read (ScorePoint.point).
BASELINE = 0  # then 1-6: the first score on or after that session of the series and before the next
SERIES_POINTS = 6
MONTH3 = 7  # the score nearest day 90 of the series, within days 76-104
PREVIOUS, LATEST, NEWEST = 8, 9, 10  # the score before the latest; the newest after the baseline; the newest


class ScorePoint(BaseModel):
    """The scores that stand for a patient's series on one measure: baseline, after each session, latest...

    Worked out by selfreports/outcomes.py (the rules are written there once) and kept by
    selfreports/points.py in the same transaction as each check-in and each change to the series,
    so the panel reads a few rows per patient instead of every score. `rollups rebuild` recomputes it.
    """

    patient = ForeignKeyField(User, on_delete="CASCADE")
    instrument = CharField(max_length=16)
    point = SmallIntegerField()
    checkin = ForeignKeyField(CheckIn, on_delete="CASCADE")
    submitted_at = DateTimeField()
    total = FloatField()
    band = CharField(max_length=32)

    class Meta:
        indexes = ((("patient", "instrument", "point"), True),)


class SafetyAlert(BaseModel):
    """A safety signal that stays open until a clinician acknowledges it (CLIN-02).

    `subject` names the piece of writing or the answer that raised it ("mood:12", "journal:7",
    "intention:31", "checkin:88"): a partial unique index allows one open alert per subject, so
    saving the same words again cannot stack alerts, however the saves race (CLIN-04).
    """

    patient = ForeignKeyField(User, backref="safety_alerts", on_delete="CASCADE")
    reason = CharField(max_length=32)  # phq9_item9 | crisis_language
    subject = CharField(max_length=64)
    detail = CharField(max_length=255)
    checkin = ForeignKeyField(CheckIn, null=True, on_delete="SET NULL")
    mood = ForeignKeyField(MoodEntry, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    note = TextField(default="")
    # Still open after the clinic's set working minutes (CLIN-03): shown first to the care team and
    # the clinicians on call, and pushed to them. Set once.
    escalated_at = DateTimeField(null=True)

    @classmethod
    def open(cls):
        return cls.select().where(cls.acknowledged_at.is_null())


# One open alert per subject: the database is the guard (peewee cannot declare a partial index in Meta).
SafetyAlert.add_index(
    SafetyAlert.index(
        SafetyAlert.subject, unique=True, where=SafetyAlert.acknowledged_at.is_null(), name="safety_alert_one_open"
    )
)
