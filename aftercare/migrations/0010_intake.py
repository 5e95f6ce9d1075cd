"""Before treatment: the intake questionnaire's versions, each patient's intake, and the "what to expect" guides.

The guides start with the set shipped in aftercare/guides/starting.toml (the clinic edits them
from then on). The questionnaire's first version is made by the app when it is first asked for
(aftercare/intake/intakes.py), as is each new one the shipped questions call for.
"""

import datetime
import tomllib
from pathlib import Path

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

    with (Path(__file__).parent.parent / "guides" / "starting.toml").open("rb") as handle:
        starting = tomllib.load(handle)
    for position, guide in enumerate(starting["guides"], start=1):
        Guide.insert(
            slug=guide["slug"],
            stage=guide["stage"],
            title=guide["title"],
            summary=guide["summary"],
            body=guide["body"].strip(),
            reviewed_on=starting["reviewed_on"],
            position=position,
        ).execute()
