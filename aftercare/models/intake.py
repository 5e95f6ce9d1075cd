"""Before treatment: the intake screening (versioned questionnaire, answers, review) and the guides."""

import json

from peewee import BooleanField
from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import SmallIntegerField
from peewee import TextField

from .accounts import User
from .base import BaseModel
from .base import utcnow

DRAFT, SUBMITTED, REVIEWED = "draft", "submitted", "reviewed"
INTAKE_STATUSES = {DRAFT: "Being filled in", SUBMITTED: "Not reviewed yet", REVIEWED: "Reviewed"}


class IntakeForm(BaseModel):
    """One version of the intake questionnaire: every question as it was worded then (JSON).

    A version is never changed once made: the clinic adding a question makes a new one, so the
    answers given to an older version keep the meaning they had.
    """

    questions = TextField()  # JSON: the sections and questions (aftercare/intake/questions.py)
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    @property
    def version(self) -> int:
        return self.id


class Intake(BaseModel):
    """A patient's answers to one version of the intake questionnaire: a draft, then submitted, then reviewed."""

    patient = ForeignKeyField(User, backref="intakes", on_delete="CASCADE")
    form = ForeignKeyField(IntakeForm, on_delete="RESTRICT")
    status = CharField(max_length=12, default=DRAFT)
    answers = TextField(default="{}")  # JSON: question key -> answer, as the form version defines it
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    submitted_at = DateTimeField(null=True)
    reviewed_at = DateTimeField(null=True)
    reviewed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    review_note = TextField(default="")
    requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")  # the clinician who asked again

    class Meta:
        indexes = ((("patient", "created_at"), False), (("status",), False))

    @property
    def answer_dict(self) -> dict:
        return json.loads(self.answers or "{}")


class Guide(BaseModel):
    """A "what to expect" page for one stage of treatment; holds no patient data, so it is public."""

    slug = CharField(max_length=60, unique=True)
    stage = CharField(max_length=16)
    title = CharField(max_length=120)
    summary = CharField(max_length=240, default="")
    body = TextField()  # paragraphs separated by blank lines; lines starting "- " are a list
    version = IntegerField(default=1)
    reviewed_on = DateField()
    position = SmallIntegerField(default=0)
    active = BooleanField(default=True)
    updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    updated_at = DateTimeField(default=utcnow)
