"""The clinic's figures by whole month: mood_window summed per patient and month (mood_month, one
row each with the six buckets' counts and totals; mood_month_session, the 72 hours after each
session), for the months sealed so far (mood_month_seal.through); and mood_window by day, for the
month still open. Nothing is sealed yet: the first
time the clinic's figures are opened, or `rollups rebuild` runs, the closed months are summed.
"""

import datetime

from peewee import DateField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class TreatmentSession(Base):
        class Meta:
            table_name = "treatment_session"

    class Playlist(Base):
        class Meta:
            table_name = "playlist"

    buckets = {f"{kind}_{n}": IntegerField(default=0) for n in range(6) for kind in ("count", "total")}
    MoodMonth = type(
        "MoodMonth",
        (Base,),
        {
            "patient": ForeignKeyField(User, on_delete="CASCADE", index=False),
            "month": DateField(),
            **buckets,
            "Meta": type("Meta", (), {"indexes": ((("patient", "month"), True),)}),
            "__module__": __name__,
        },
    )

    class MoodMonthSession(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE", index=False)
        month = DateField()
        session = ForeignKeyField(TreatmentSession, on_delete="CASCADE")
        playlist = ForeignKeyField(Playlist, null=True, on_delete="SET NULL", index=False)
        count = IntegerField()
        total = IntegerField()

        class Meta:
            indexes = ((("patient", "month", "session"), True),)

    class MoodMonthSeal(Base):
        id = IntegerField(primary_key=True)
        through = DateField()

    db.create_tables([MoodMonth, MoodMonthSession, MoodMonthSeal])
    db.execute_sql('CREATE INDEX IF NOT EXISTS "mood_window_day" ON "mood_window" ("day")')
    MoodMonthSeal.create(id=1, through=datetime.date(2000, 1, 1))
