"""Baseline, response and remission, defined once and shown the same on every page (CLIN-01)."""

import datetime as dt
import uuid

import pytest

from aftercare.models import CheckIn
from aftercare.models import utcnow
from aftercare.selfreports import outcomes
from tests.conftest import Auth
from tests.factories import make_phq9 as phq9
from tests.factories import make_session

NOW = utcnow()


def first_session(patient, days_ago):
    return make_session(patient, starts_at=NOW - dt.timedelta(days=days_ago), number=1)


# (PHQ-9 totals with days ago, days ago of the first dosing session or None) -> (baseline, latest, response, remission)
CASES = [
    ([(4, 0)], None, (4, None, False, False)),  # one PHQ-9 below 5: a baseline, nothing later: no badge
    ([(20, 0)], None, (20, None, False, False)),
    ([(20, 30), (10, 0)], None, (20, 10, True, False)),  # 50% exactly counts
    ([(20, 30), (11, 0)], None, (20, 11, False, False)),
    ([(16, 30), (4, 0)], None, (16, 4, True, True)),
    ([(9, 30), (4, 0)], None, (9, 4, False, True)),  # response needs a baseline of 10 or more
    ([(4, 30), (2, 0)], None, (4, 2, False, False)),  # remission needs a baseline of 5 or more
    ([(5, 30), (4, 0)], None, (5, 4, False, True)),
    ([(10, 30), (5, 0)], None, (10, 5, True, False)),  # 5 is not below 5
    # The baseline is the last PHQ-9 before the first dosing session, not the first PHQ-9.
    ([(8, 40), (18, 25), (6, 0)], 20, (18, 6, True, False)),
    ([(8, 40), (18, 25), (4, 0)], 20, (18, 4, True, True)),
    # Nothing before the first session: the first PHQ-9 is the baseline.
    ([(18, 10), (3, 0)], 20, (18, 3, True, True)),
    # Only PHQ-9s before a first session still to come: a baseline, no later score.
    ([(18, 10), (3, 5)], -3, (3, None, False, False)),
    ([], None, (None, None, False, False)),
]


@pytest.mark.parametrize(("scores", "session_days_ago", "expected"), CASES)
def test_baseline_response_and_remission(people, scores, session_days_ago, expected):
    patient = people.patient
    if session_days_ago is not None:
        first_session(patient, session_days_ago)
    for total, days_ago in scores:
        phq9(patient, total, days_ago)
    result = outcomes.for_patient(patient, "phq9")
    baseline = result.baseline.total if result.baseline else None
    latest = result.latest.total if result.latest else None
    assert (baseline, latest, result.response, result.remission) == expected


def test_a_single_low_phq9_shows_no_remission_anywhere(client, people):
    phq9(people.patient, 3, 0)
    Auth(client).login(people.clinician)
    panel = client.get("/clinician/").get_data(as_text=True)
    record = client.get(f"/clinician/patients/{people.patient.id}").get_data(as_text=True)
    for page in (panel, record):
        assert ">Remission<" not in page and ">Response<" not in page


def test_outcomes_ignore_other_instruments(people):
    patient = people.patient
    CheckIn.create(
        patient=patient, client_id=str(uuid.uuid4()), payload_hash="x", instrument="gad7", version="v",
        answers="[3,3,3,3,3,3,3]", total=21, band="severe",
    )  # fmt: skip
    result = outcomes.for_patient(patient, "phq9")
    assert result.baseline is None and not result.response and not result.remission
