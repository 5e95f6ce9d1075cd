"""The scores that stand for each patient's series on each measure (score_point), filled from the check-ins.

Points: 0 the baseline (the last score before the first dosing session, else the first score);
1-6 the first score after the baseline answered on or after that session and before the next;
7 the score after the baseline nearest day 90 of the series (days 76-104, the earlier on a tie);
8 the score before the latest, 9 the latest (the newest after the baseline), 10 the newest.
The app keeps it from here on. Also an index on mood_day's day, for the panel's recent days.
"""

import bisect
import datetime

from peewee import CharField
from peewee import DateTimeField
from peewee import FloatField
from peewee import ForeignKeyField
from peewee import Model
from peewee import SmallIntegerField

DOSING = ("infusion", "im", "lozenge", "nasal_spray", "booster")
BASELINE, SERIES, MONTH3, PREVIOUS, LATEST, NEWEST = 0, 6, 7, 8, 9, 10


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class CheckIn(Base):
        class Meta:
            table_name = "check_in"

    class ScorePoint(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        instrument = CharField(max_length=16)
        point = SmallIntegerField()
        checkin = ForeignKeyField(CheckIn, on_delete="CASCADE")
        submitted_at = DateTimeField()
        total = FloatField()
        band = CharField(max_length=32)

        class Meta:
            indexes = ((("patient", "instrument", "point"), True),)

    db.create_tables([ScorePoint])
    db.execute_sql('CREATE INDEX IF NOT EXISTS "mood_day_day" ON "mood_day" ("day")')

    sessions = {}
    kinds = ", ".join(f"'{kind}'" for kind in DOSING)
    for patient_id, starts_at, session_id, number in db.execute_sql(
        "SELECT patient_id, starts_at, id, number FROM treatment_session "  # nosec B608: the kinds are constants
        f"WHERE kind IN ({kinds}) AND status NOT IN ('cancelled', 'no_show') ORDER BY starts_at, id"
    ):
        sessions.setdefault(patient_id, []).append((_time(starts_at), session_id, number))
    series = {}
    for patient_id, instrument, checkin_id, submitted_at, total, band in db.execute_sql(
        "SELECT patient_id, instrument, id, submitted_at, total, band FROM check_in ORDER BY submitted_at, id"
    ):
        series.setdefault((patient_id, instrument), []).append((_time(submitted_at), checkin_id, total, band))
    rows = []
    for (patient_id, instrument), scores in sorted(series.items()):
        for point, (at, checkin_id, total, band) in sorted(_points(scores, sessions.get(patient_id, [])).items()):
            rows.append((patient_id, instrument, point, checkin_id, at, total, band))
    fields = [ScorePoint.patient, ScorePoint.instrument, ScorePoint.point, ScorePoint.checkin]
    for start in range(0, len(rows), 2000):
        ScorePoint.insert_many(
            rows[start : start + 2000], fields=[*fields, ScorePoint.submitted_at, ScorePoint.total, ScorePoint.band]
        ).execute()


def _points(scores: list, sessions: list) -> dict:
    first = sessions[0][0] if sessions else None
    before = [s for s in scores if first is not None and s[0] < first]
    baseline = before[-1] if before else scores[0]
    points = {BASELINE: baseline, NEWEST: scores[-1]}
    if scores.index(baseline) < len(scores) - 1:
        points |= {LATEST: scores[-1], PREVIOUS: scores[-2]}
    for score in scores:
        at = bisect.bisect_right(sessions, (score[0], float("inf"))) - 1
        number = sessions[at][2] if at >= 0 else None
        if number and number <= SERIES and score[0] > baseline[0]:
            points.setdefault(number, score)
    if first is not None:
        near = [
            (abs(days - 90), score[0], score)
            for score in scores
            if score[0] > baseline[0] and 76 <= (days := (score[0] - first).days) <= 104
        ]
        if near:
            points[MONTH3] = min(near)[2]
    return points


def _time(value) -> datetime.datetime:
    # SQLite hands back text; PostgreSQL a datetime.
    return value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
