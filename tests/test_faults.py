"""DUR-05 and DUR-07 under a real lock: another connection holds the database, the API says 503 and
Retry-After, nothing is half-written, and the phone's retry lands the entry exactly once.

The lock is real: a second connection to the same SQLite file (BEGIN IMMEDIATE) or PostgreSQL
database (LOCK TABLE mood_entry), held while the app waits its busy or lock timeout (5 s).
"""

import contextlib
import fcntl
import sqlite3
import threading
import uuid
from urllib.parse import urlparse

import psycopg
import pytest

from aftercare.db import db
from aftercare.models import AuditEvent
from aftercare.models import MoodEntry
from tests.conftest import Auth
from tests.conftest import JsonApi
from tests.factories import make_admin
from tests.factories import make_patient


@contextlib.contextmanager
def write_lock(database_url: str):
    """Hold the database's write lock from a connection of its own for the length of the block."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(urlparse(database_url).path[1:], isolation_level=None)  # as db.open_database
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection = psycopg.connect(database_url, autocommit=False)
        connection.execute("LOCK TABLE mood_entry IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


def test_a_held_lock_is_a_503_and_the_retry_lands_once(app, client, auth, database_url):
    make_admin()  # without one, sign-in leads to first-run setup
    patient = make_patient()
    auth.login(patient)
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    entry = {"client_id": str(uuid.uuid4()), "score": 6, "note": "after the walk"}
    audited = AuditEvent.select().count()
    with write_lock(database_url):
        busy = client.post("/api/v1/mood", json=entry, headers={"X-CSRFToken": token})
    assert busy.status_code == 503, busy.get_data(as_text=True)
    assert busy.headers["Retry-After"] == "2"
    assert MoodEntry.select().count() == 0 and AuditEvent.select().count() == audited  # nothing half-written
    first = client.post("/api/v1/mood", json=entry, headers={"X-CSRFToken": token})
    again = client.post("/api/v1/mood", json=entry, headers={"X-CSRFToken": token})
    assert (first.status_code, again.status_code) == (201, 200)
    assert MoodEntry.select().where(MoodEntry.client_id == entry["client_id"]).count() == 1


def test_writers_take_turns_and_a_turn_not_had_in_time_is_a_503(app, database_url):
    """SQLite: the app's writers (every worker, every thread) take turns before BEGIN IMMEDIATE, so a
    waiting writer goes on the moment the last one commits instead of sleeping in SQLite's busy
    handler; one that cannot have its turn within busy_timeout answers 503 like a held lock."""
    if not database_url.startswith("sqlite"):
        pytest.skip("turns are how SQLite's writers queue; PostgreSQL's writers do not share one lock")
    make_admin()
    patients = [make_patient(name=f"Writer {n}") for n in range(4)]
    apis = []
    for patient in patients:
        client = app.test_client()
        Auth(client).login(patient)
        apis.append(JsonApi(client))

    # Four patients log eight moods each at once, from four threads: every one lands, none is a 503.
    statuses = []

    def log_moods(api):
        for score in range(8):
            entry = {"client_id": str(uuid.uuid4()), "score": score}
            statuses.append(api("POST", "/api/v1/mood", json=entry).status_code)

    threads = [threading.Thread(target=log_moods, args=(api,)) for api in apis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 32
    assert MoodEntry.select().count() == 32
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0

    # Another process holding the turn for longer than busy_timeout: 503, nothing written; then it lands.
    entry = {"client_id": str(uuid.uuid4()), "score": 7}
    with open(urlparse(database_url).path[1:] + "-writers", "a+") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        busy = apis[0]("POST", "/api/v1/mood", json=entry)
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "2"
    assert MoodEntry.select().count() == 32
    assert apis[0]("POST", "/api/v1/mood", json=entry).status_code == 201


def test_a_full_disk_is_a_clear_503_and_nothing_is_corrupted(app, client, auth, database_url, monkeypatch):
    """SQLite's page limit stands in for a full disk: no room for one more page."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite run fills aftercare's own file; PostgreSQL's disk belongs to its server")
    make_admin()
    patient = make_patient()
    auth.login(patient)
    token = client.get("/api/v1/csrf").get_json()["csrf_token"]
    db.execute_sql("VACUUM")  # pages packed: the next rows need a new one
    pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
    # On this connection and on any the pool opens next (the limit is a connection's setting).
    db.execute_sql(f"PRAGMA max_page_count = {pages}")
    monkeypatch.setattr(db.obj, "_pragmas", [*db.obj._pragmas, ("max_page_count", pages)])
    db.obj.close_idle()
    # Entries go in until the file has no room left; the one that does not fit is refused whole.
    for _ in range(200):
        entry = {"client_id": str(uuid.uuid4()), "score": 4, "note": "x" * 1000}
        stored, audited = MoodEntry.select().count(), AuditEvent.select().count()
        full = client.post("/api/v1/mood", json=entry, headers={"X-CSRFToken": token})
        if full.status_code != 201:
            break
    assert full.status_code == 503, full.get_data(as_text=True)
    assert int(full.headers["Retry-After"]) >= 60
    assert "run out of space" in full.get_json()["message"]
    assert MoodEntry.select().count() == stored and AuditEvent.select().count() == audited
    assert not MoodEntry.select().where(MoodEntry.client_id == entry["client_id"]).exists()
    assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    monkeypatch.undo()
    db.execute_sql("PRAGMA max_page_count = 1073741823")
    db.obj.close_idle()
    again = client.post("/api/v1/mood", json=entry, headers={"X-CSRFToken": token})
    assert again.status_code == 201
    assert MoodEntry.select().where(MoodEntry.client_id == entry["client_id"]).count() == 1
