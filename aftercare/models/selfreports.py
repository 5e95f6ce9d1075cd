"""Patients' self-reports: mood entries with their daily rollup, check-ins, safety alerts."""

import datetime as dt
import json

from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import fn
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import SmallIntegerField
from peewee import TextField

from .accounts import User
from .base import BaseModel
from .base import utcnow


class MoodEntry(BaseModel):
    """One tap on the 0-10 mood scale, with an optional note and tags."""

    patient = ForeignKeyField(User, backref="mood_entries", on_delete="CASCADE")
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
        )

    @classmethod
    def visible(cls):
        return cls.select().where(cls.deleted_at.is_null())

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class MoodDay(BaseModel):
    """Per-patient, per-day mood rollup, kept in the same transaction as each entry."""

    patient = ForeignKeyField(User, backref="mood_days", on_delete="CASCADE")
    day = DateField()
    count = IntegerField()
    total = IntegerField()
    low = SmallIntegerField()
    high = SmallIntegerField()

    class Meta:
        indexes = ((("patient", "day"), True),)

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


class CheckIn(BaseModel):
    """A completed PHQ-9 or GAD-7, stored with its answers, score and instrument version."""

    patient = ForeignKeyField(User, backref="checkins", on_delete="CASCADE")
    client_id = CharField(max_length=36)
    payload_hash = CharField(max_length=64)
    instrument = CharField(max_length=16)
    version = CharField(max_length=64)
    answers = CharField(max_length=64)  # JSON list of item answers, 0-3
    difficulty = SmallIntegerField(null=True)  # PHQ-9 item 10, never summed
    total = SmallIntegerField()
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
    def item9(self) -> int | None:
        return self.answer_list[8] if self.instrument == "phq9" else None

    @classmethod
    def series(cls, patient, instrument: str):
        """Return the query for a patient's scores on one instrument, oldest first."""
        return (
            cls.select().where(cls.patient == patient, cls.instrument == instrument).order_by(cls.submitted_at, cls.id)
        )


class SafetyAlert(BaseModel):
    """A safety signal that stays open until a clinician acknowledges it (CLIN-02)."""

    patient = ForeignKeyField(User, backref="safety_alerts", on_delete="CASCADE")
    reason = CharField(max_length=32)  # phq9_item9 | crisis_language
    detail = CharField(max_length=255)
    checkin = ForeignKeyField(CheckIn, null=True, on_delete="SET NULL")
    mood = ForeignKeyField(MoodEntry, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow, index=True)
    acknowledged_at = DateTimeField(null=True)
    acknowledged_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    note = TextField(default="")

    @classmethod
    def open(cls):
        return cls.select().where(cls.acknowledged_at.is_null())

    @classmethod
    def raise_unless_open(cls, patient: User, reason: str, detail: str) -> "SafetyAlert":
        """Open an alert about one piece of writing, unless the same one is still open.

        Saving the same words again (fixing a typo in an entry that holds crisis language) is no
        news to a clinician who has not yet acted on the first alert; once acknowledged, it is.
        """
        existing = cls.open().where(cls.patient == patient, cls.reason == reason, cls.detail == detail).first()
        return existing or cls.create(patient=patient, reason=reason, detail=detail)
