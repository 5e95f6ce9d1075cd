"""DUR-07 under SIGKILL: the server is killed at three points around a mood entry, 20 times each.

A real server process (tests/crash_server.py, production mode, on this run's SQLite file or
PostgreSQL database) stops a marked entry before its transaction commits, after it commits but
before the answer, or halfway through sending the answer, and is killed there with SIGKILL. The
phone, which got no complete answer, sends the same entry again to the restarted server. Every
entry must then be stored exactly once, with its day's rollup and its audit row, and the SQLite
file must pass `integrity_check`.
"""

import json
import threading
import time
import uuid

import pytest

from aftercare.db import db
from aftercare.models import AuditEvent
from aftercare.models import MoodDay
from aftercare.models import MoodEntry
from bench.client import request
from bench.client import sign_in
from tests import factories
from tests.crash_server import Server

TIMES = 20


def post(url: str, headers: dict, body: str, answers: list) -> None:
    try:
        answers.append(request(url, "POST", "/api/v1/mood", headers=headers, body=body)[0])
    except Exception as error:  # noqa: BLE001 - the server died under it: no answer, as a phone sees it
        answers.append(type(error).__name__)


@pytest.mark.parametrize("point", ["before-commit", "after-commit", "mid-response"])
def test_sigkill_around_a_mood_entry_loses_and_duplicates_nothing(app, database_url, tmp_path, point):
    factories.make_admin()
    patient = factories.make_patient()
    marker = tmp_path / "stopped"
    server = Server(database_url, point, marker)
    server.start()
    try:
        phone = sign_in(server.url, patient.email, factories.PASSWORD)
        headers = {"Cookie": phone.cookie_header, "X-CSRFToken": phone.csrf_token, "Content-Type": "application/json"}
        sent = []
        for n in range(TIMES):
            body = json.dumps({"client_id": str(uuid.uuid4()), "score": n % 11, "note": f"entry {n}"})
            marker.unlink(missing_ok=True)
            answers: list = []
            first = threading.Thread(target=post, args=(server.url, {**headers, "X-Crash": "1"}, body, answers))
            first.start()
            deadline = time.monotonic() + 20
            while not marker.exists():
                assert time.monotonic() < deadline, f"entry {n} never reached {point}"
                time.sleep(0.01)
            server.kill()
            first.join(10)
            assert answers and answers[0] not in (200, 201), answers  # the phone has no acknowledgement
            server.start()
            replay: list = []
            post(server.url, headers, body, replay)
            # Killed before the commit: nothing was kept, the replay stores it. After: the replay finds it.
            assert replay == [201 if point == "before-commit" else 200], (n, replay)
            sent.append(json.loads(body)["client_id"])
    finally:
        server.kill()

    stored = [
        client_id for (client_id,) in MoodEntry.select(MoodEntry.client_id).where(MoodEntry.patient == patient).tuples()
    ]
    assert sorted(stored) == sorted(sent)  # each once, nothing else
    days = MoodDay.select().where(MoodDay.patient == patient)
    assert sum(day.count for day in days) == TIMES  # the rollup moved with each entry, once
    logged = AuditEvent.select().where(AuditEvent.action == "mood_logged", AuditEvent.patient_id == patient.id).count()
    assert logged == TIMES
    if database_url.startswith("sqlite"):
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
