"""Mood by hours since the last dosing session (mood_window), filled from the entries already stored.

Each visible entry logged at or after a dosing session (not cancelled, not a no-show) is counted
under the last such session, its local day and its bucket of hours since that session began
(0-6, 6-24, 24-48, 48-72, 72-168, over 168). The app keeps it from here on.
"""

import bisect
import datetime
from collections import Counter

from peewee import DateField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import SmallIntegerField

EDGES = (6, 24, 48, 72, 168)
DOSING = ("infusion", "im", "lozenge", "nasal_spray", "booster")


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

    class MoodWindow(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        session = ForeignKeyField(TreatmentSession, on_delete="CASCADE")
        day = DateField()
        bucket = SmallIntegerField()
        count = IntegerField()
        total = IntegerField()

        class Meta:
            indexes = ((("patient", "day", "session", "bucket"), True), (("session",), False))

    db.create_tables([MoodWindow])

    starts = {}
    kinds = ", ".join(f"'{kind}'" for kind in DOSING)
    for patient_id, starts_at, session_id in db.execute_sql(
        "SELECT patient_id, starts_at, id FROM treatment_session "  # nosec B608: the kinds are constants
        f"WHERE kind IN ({kinds}) AND status NOT IN ('cancelled', 'no_show') ORDER BY starts_at, id"
    ):
        starts.setdefault(patient_id, []).append((_time(starts_at), session_id))
    counts, totals = Counter(), Counter()
    for patient_id, recorded_at, day, score in db.execute_sql(
        "SELECT patient_id, recorded_at, local_day, score FROM mood_entry WHERE deleted_at IS NULL"
    ):
        series = starts.get(patient_id)
        if not series:
            continue
        recorded_at = _time(recorded_at)
        at = bisect.bisect_right(series, (recorded_at, float("inf"))) - 1
        if at < 0:
            continue
        began, session_id = series[at]
        since = recorded_at - began
        bucket = next((n for n, edge in enumerate(EDGES) if since < datetime.timedelta(hours=edge)), len(EDGES))
        key = (patient_id, session_id, str(day), bucket)
        counts[key] += 1
        totals[key] += score
    rows = [(*key, counts[key], totals[key]) for key in sorted(counts)]
    fields = [MoodWindow.patient, MoodWindow.session, MoodWindow.day, MoodWindow.bucket, MoodWindow.count]
    for start in range(0, len(rows), 2000):
        MoodWindow.insert_many(rows[start : start + 2000], fields=[*fields, MoodWindow.total]).execute()


def _time(value) -> datetime.datetime:
    # SQLite hands back text; PostgreSQL a datetime.
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
