"""The Today screen as a patient opens it: today's entries newest first, the last one logged, and
the next session's to-do list, read in a handful of statements."""

import datetime as dt
import re

import pytest
from peewee import SqliteDatabase

from aftercare.db import db
from aftercare.models import SCHEDULED
from aftercare.models import utcnow
from aftercare.patient import today
from tests.factories import afternoon_zone
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_intention
from tests.factories import make_mood
from tests.factories import make_patient
from tests.factories import make_session

HOUR = dt.timedelta(hours=1)


def today_page(client, auth, patient) -> str:
    make_admin()  # a clinic with no administrator opens on first-run setup
    auth.login(patient)
    return client.get("/home").get_data(as_text=True)


def listed(page: str) -> list[tuple[str, int]]:
    """Today's entries as the page lists them: (time, score)."""
    found = re.findall(r'<span class="entry-time">(\d\d:\d\d)</span>\s*<span class="entry-body"><strong>(\d+) ·', page)
    return [(at, int(score)) for at, score in found]


def test_todays_entries_are_listed_newest_first_and_the_newest_is_the_last_logged(client, auth):
    now = utcnow()
    patient = make_patient(make_clinician(), timezone=afternoon_zone(now))  # two in the afternoon there
    for hours_ago, score in ((3, 4), (1, 8), (2, 2)):  # not logged in the order they happened
        make_mood(patient, score, recorded_at=now - hours_ago * HOUR)
    page = today_page(client, auth, patient)
    entries = listed(page)
    assert [score for _, score in entries] == [8, 2, 4]
    assert [at for at, _ in entries] == sorted((at for at, _ in entries), reverse=True)
    assert "Last logged 8 · good, 1 hour ago" in page


def test_with_nothing_logged_today_the_last_logged_is_from_an_earlier_day(client, auth):
    now = utcnow()
    patient = make_patient(make_clinician(), timezone=afternoon_zone(now))
    make_mood(patient, 6, recorded_at=now - 26 * HOUR)  # the latest, though logged first
    make_mood(patient, 3, recorded_at=now - 30 * HOUR)
    page = today_page(client, auth, patient)
    assert listed(page) == [] and "Today so far" not in page
    assert "Last logged 6 · okay, yesterday" in page


def test_a_new_patient_has_nothing_logged(client, auth):
    page = today_page(client, auth, make_patient(make_clinician()))
    assert "Nothing logged yet. One tap is enough." in page


@pytest.mark.parametrize(
    ("intention", "state"),
    [
        (None, "To do"),  # none written
        ({}, "To do"),  # the worksheet opened and saved empty
        ({"explore": "What I want to look at"}, "Done"),
        ({"carry": "Something to carry back"}, "Done"),
    ],
)
def test_the_next_sessions_to_do_list_says_whether_the_intention_is_written(client, auth, intention, state):
    patient = make_patient(make_clinician())
    coming = make_session(patient, starts_at=utcnow() + 50 * HOUR, status=SCHEDULED, number=2)
    make_session(patient, starts_at=utcnow() - 200 * HOUR, number=1)  # an earlier one, its intention written
    if intention is not None:
        make_intention(coming, **intention)
    page = today_page(client, auth, patient)
    assert "Your next session in 2 days" in page
    item = re.search(r'<li class="\w+"><a href="/sessions/\d+#intention">Set your intention</a> (.*?)</li>', page)
    assert item and f">{state}</span>" in item[1]


def test_todays_entries_are_found_by_patient_and_day(app):
    """Through the (patient, local_day) index: asked for in recorded order, SQLite walked the whole history."""
    if not isinstance(db.obj, SqliteDatabase):
        return  # PostgreSQL plans for itself
    with db.connection_context():
        plan = [row[3] for row in db.execute_sql(f"EXPLAIN QUERY PLAN {today.ENTRIES.sql()}", (1, "2026-01-01", 1))]
    assert "SEARCH mood_entry USING INDEX mood_entry_patient_id_local_day (patient_id=? AND local_day=?)" in plan
