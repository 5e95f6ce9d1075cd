"""Clinic settings: time zone, crisis resources, tags, retention; bad input changes nothing."""

import pytest

from aftercare import crisis
from aftercare.journey import scheduling
from aftercare.models import ClinicSetting
from tests.conftest import csrf_from
from tests.factories import make_admin

GOOD = {
    "clinic_timezone": "America/Denver",
    "clinic_phone": "+1 (303) 555-0100",
    "crisis_lines": "Samaritans | Call 116 123 | tel:116123",
    "mood_tags": "appetite, Focus, appetite",
    "retention_days": "45",
    "work_days": ["0", "1", "2", "3", "4"],
    "work_start": "08:30",
    "work_end": "17:30",
    "escalate_minutes": "45",
    "cutoff_pcl5": "31",
}


@pytest.fixture
def admin_client(client, auth):
    auth.login(make_admin())
    return client


def post_settings(client, **changes):
    token = csrf_from(client.get("/admin/settings").get_data(as_text=True))
    return client.post("/admin/settings", data={"csrf_token": token, **GOOD, **changes})


def test_settings_are_saved(admin_client):
    assert post_settings(admin_client).status_code == 302
    assert scheduling.clinic_zone() == "America/Denver"
    assert [line.label for line in crisis.current_lines()] == ["Samaritans"]
    assert ClinicSetting.get_value("mood_tags") == "appetite, focus"
    assert ClinicSetting.get_value("retention_days") == "45"
    assert ClinicSetting.get_value("escalate_minutes") == "45"
    assert ClinicSetting.get_value("work_start") == "08:30"
    assert ClinicSetting.get_value("measure_cutoffs") == "pcl5=31"
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'value="America/Denver" selected' in page or "selected" in page.split("America/Denver")[0][-40:]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"clinic_timezone": "Mars/Base"}, b"Choose a time zone"),
        ({"crisis_lines": "just a name"}, b"name | what to do | link"),
        ({"crisis_lines": "Line | Call | javascript:alert(1)"}, b"must start with tel:"),
        ({"clinic_phone": "call me"}, b"digits"),
        ({"retention_days": "-1"}, b"between"),
        ({"mood_tags": "<b>bold</b>"}, b"separated by commas"),
        ({"work_days": []}, b"at least one working day"),
        ({"work_days": ["7"]}, b"is not a valid choice"),
        ({"work_start": "17:00", "work_end": "09:00"}, b"must end after it starts"),
        ({"work_start": "9am"}, b"Use a time like 09:00"),
        ({"escalate_minutes": "0"}, b"between"),
        ({"escalate_minutes": "100000"}, b"between"),
        ({"on_call": ["999999"]}, b"is not a valid choice"),
        ({"cutoff_pcl5": "81"}, b"between"),
        ({"cutoff_pcl5": ""}, b"required"),
    ],
)
def test_bad_settings_change_nothing(admin_client, change, message):
    response = post_settings(admin_client, **change)
    assert response.status_code == 422
    assert message in response.data
    assert ClinicSetting.select().count() == 0


def test_clinicians_on_call_are_chosen_from_active_clinicians(admin_client):
    from aftercare import settings
    from tests.factories import make_clinician

    nurse = make_clinician(name="Nia On-Call")
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert "Nia On-Call" in page
    assert post_settings(admin_client, on_call=[str(nurse.id)]).status_code == 302
    assert settings.current().on_call == (nurse.id,)
