"""Before treatment: the intake questionnaire's versions, each patient's intake, and the "what to expect" guides.

The guides' starting set is added by the app the first time it is asked for (aftercare/guides.py),
as is the questionnaire's first version (aftercare/intake/intakes.py).
"""

import datetime

from peewee import BooleanField
from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
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

    class IntakeForm(Base):
        questions = TextField()
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(default=_now)

    class Intake(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        form = ForeignKeyField(IntakeForm, on_delete="RESTRICT")
        status = CharField(max_length=12, default="draft")
        answers = TextField(default="{}")
        created_at = DateTimeField(default=_now)
        updated_at = DateTimeField(default=_now)
        submitted_at = DateTimeField(null=True)
        reviewed_at = DateTimeField(null=True)
        reviewed_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        review_note = TextField(default="")
        requested_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            indexes = ((("patient", "created_at"), False), (("status",), False))

    class Guide(Base):
        slug = CharField(max_length=60, unique=True)
        stage = CharField(max_length=16)
        title = CharField(max_length=120)
        summary = CharField(max_length=240, default="")
        body = TextField()
        version = IntegerField(default=1)
        reviewed_on = DateField()
        position = SmallIntegerField(default=0)
        active = BooleanField(default=True)
        updated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        updated_at = DateTimeField(default=_now)

    db.create_tables([IntakeForm, Intake, Guide])
