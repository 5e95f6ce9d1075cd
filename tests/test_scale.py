"""Clinic-scale data (`demo --scale N`): built through the bulk paths, rollups equal to the one-entry path's."""

import datetime as dt
import uuid

from aftercare import scale
from aftercare.models import CareRelationship
from aftercare.models import CheckIn
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from aftercare.models import TreatmentSession
from aftercare.models import User
from aftercare.selfreports import mood
from tests.factories import make_patient

NOW = dt.datetime(2027, 6, 1, 12, 0)


def test_the_generator_builds_a_clinic_through_the_bulk_paths(app):
    made = scale.generate(30, "a long demo password here", NOW, days=60)
    assert (made.patients, made.clinicians, made.skipped) == (30, scale.CLINICIANS, False)
    assert MoodEntry.select().count() == made.mood_entries > 30 * 59  # one or two a day
    assert CheckIn.select().count() == made.checkins and TreatmentSession.select().count() == made.sessions
    busiest = User.get(User.email == scale.email("clinician", 0))
    assert busiest.patients().count() == 3  # a tenth of the patients
    assert CareRelationship.select().count() == 30
    # Every generated patient's next session is booked, the rest of the series done.
    assert TreatmentSession.select().where(TreatmentSession.status == "scheduled").count() == 30


def test_bulk_rollups_equal_what_the_one_entry_path_keeps(app):
    scale.generate(8, "a long demo password here", NOW, days=30)
    stored = {(d.patient_id, d.day): (d.count, d.total, d.low, d.high) for d in MoodDay.select()}
    # Recompute each day the way an edit or a deletion does, one by one.
    for patient_id, day in list(stored):
        MoodDay.refresh(patient_id, day)
    again = {(d.patient_id, d.day): (d.count, d.total, d.low, d.high) for d in MoodDay.select()}
    assert (
        again == stored and len(stored) == MoodEntry.select(MoodEntry.patient, MoodEntry.local_day).distinct().count()
    )


def test_entries_logged_one_at_a_time_keep_the_same_rollup(people):
    patient = people.patient
    for score in (3, 9, 1, 6):
        mood.submit(patient, {"client_id": str(uuid.uuid4()), "score": score})
    [day] = MoodDay.select().where(MoodDay.patient == patient)
    assert (day.count, day.total, day.low, day.high) == (4, 19, 1, 9)
    MoodDay.refresh(patient.id, day.day)
    assert MoodDay.get_by_id(day.id).total == 19


def test_running_it_again_adds_nothing(app):
    scale.generate(5, "a long demo password here", NOW, days=20)
    before = MoodEntry.select().count()
    assert scale.generate(5, "a long demo password here", NOW, days=20).skipped
    assert MoodEntry.select().count() == before


def test_the_demo_command_takes_a_scale(app, runner):
    make_patient()  # a real account: the demo refuses to mix with one
    result = runner.invoke(args=["demo", "--scale", "3"])
    assert result.exit_code != 0 and "real account" in result.output
