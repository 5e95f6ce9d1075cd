"""Pictures and drawings in journal entries (journal_image): the file is re-encoded on arrival and kept
outside the web root under a random name, like a voice note's audio; the row says which entry it belongs
to and where in it. It is shared when its entry is, so it has no sharing of its own.
"""

import datetime

from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import SmallIntegerField


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

    class JournalEntry(Base):
        class Meta:
            table_name = "journal_entry"

    class JournalImage(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        entry = ForeignKeyField(JournalEntry, on_delete="CASCADE")
        position = SmallIntegerField()
        kind = CharField(max_length=12)
        stored_name = CharField(max_length=64, unique=True)
        mime = CharField(max_length=32)
        width = IntegerField()
        height = IntegerField()
        size = IntegerField()
        created_at = DateTimeField(default=_now)

        class Meta:
            indexes = ((("entry", "position"), True),)

    db.create_tables([JournalImage])
