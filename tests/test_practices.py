"""The clinic's library of integration practices, and the Today screen that offers them after a session."""

import datetime as dt

import pytest

from aftercare.journey import scheduling
from aftercare.models import AuditEvent
from aftercare.models import Practice
from aftercare.models import TreatmentSession
from aftercare.models import utcnow
from tests.factories import afternoon_zone
from tests.factories import make_admin
from tests.factories import make_clinician
from tests.factories import make_patient

STARTING_LIBRARY = [
    "Rest and capture",
    "Journaling",
    "Breathwork",
    "A walk outdoors",
    "Creative expression",
    "Talk to someone you trust",
]


def practice_form(**fields) -> dict:
    return {
        "title": "Body scan",
        "kind": "breathwork",
        "description": "Lie down and notice each part of your body for ten minutes.",
        "days": ["1", "2"],
        "active": "y",
        **fields,
    }


def library() -> list[tuple[str, str, bool]]:
    return [(p.title, p.days, p.active) for p in Practice.library()]


def in_window(patient, hours_ago: float) -> TreatmentSession:
    """A completed infusion that started `hours_ago` (the patient is in UTC, so days are UTC days)."""
    starts_at = (utcnow() - dt.timedelta(hours=hours_ago)).replace(microsecond=0)
    return TreatmentSession.create(
        patient=patient,
        kind="infusion",
        starts_at=starts_at,
        wall_time=starts_at.strftime("%Y-%m-%dT%H:%M"),
        zone="UTC",
        duration_minutes=60,
        status="completed",
    )


def window_day(hours_ago: float) -> int:
    now = utcnow()
    return (now.date() - (now - dt.timedelta(hours=hours_ago)).date()).days


@pytest.fixture
def staff(client, auth, request):
    make_admin()
    user = make_admin() if getattr(request, "param", "clinician") == "admin" else make_clinician()
    assert auth.login(user).status_code == 302
    token = auth.csrf("/practices/")

    def post(path, data):
        return client.post(path, data={"csrf_token": token, **data})

    return post


def today_practices(client, auth, patient) -> str:
    assert auth.login(patient).status_code == 302
    page = client.get("/home").get_data(as_text=True)
    if "Today's practice" not in page:
        return ""
    return page.split("Today's practice", 1)[1].split("</ul>", 1)[0]


def test_the_clinic_starts_with_a_library_for_each_day_of_the_window(app):
    assert [title for title, _, _ in library()] == STARTING_LIBRARY
    # CLIN-08: only rest is offered on the session day; the walk outdoors waits for the day after.
    assert [title for title, days, _ in library() if "0" in days.split(",")] == ["Rest and capture"]


@pytest.mark.parametrize("staff", ["clinician", "admin"], indirect=True)
def test_staff_add_a_practice_and_patients_see_it_on_its_days(app, client, auth, staff):
    response = staff("/practices/new", practice_form())
    assert response.status_code == 302
    added = Practice.get(Practice.title == "Body scan")
    assert (added.days, added.kind, added.active) == ("1,2", "breathwork", True)
    assert library()[-1][0] == "Body scan"  # new practices go last
    assert AuditEvent.select().where(AuditEvent.action == "practice_added").count() == 1
    page = client.get("/practices/").get_data(as_text=True)
    assert "Body scan" in page and "The day after, two days after" in page

    auth.logout()
    patient = make_patient(make_clinician(), timezone="UTC")
    in_window(patient, hours_ago=26 if window_day(26) == 1 else 30)
    shown = today_practices(client, auth, patient)
    assert "Body scan" in shown and "Journaling" in shown
    assert "Rest and capture" not in shown


def test_editing_archives_and_restores_a_practice(app, client, auth, staff):
    walk = Practice.get(Practice.title == "A walk outdoors")
    response = staff(
        f"/practices/{walk.id}/edit", practice_form(title="A walk in the park", kind="walk", days=["2", "3"], active="")
    )
    assert response.status_code == 302
    walk = Practice.get_by_id(walk.id)
    assert (walk.title, walk.days, walk.active) == ("A walk in the park", "2,3", False)
    archived = client.get("/practices/").get_data(as_text=True).split('id="archived-heading"', 1)[1]
    assert "A walk in the park" in archived

    staff(f"/practices/{walk.id}/edit", practice_form(title="A walk in the park", kind="walk", days=["2", "3"]))
    assert Practice.get_by_id(walk.id).active
    assert [e.action for e in AuditEvent.select().order_by(AuditEvent.id)][-2:] == ["practice_changed"] * 2


def test_an_archived_practice_is_not_offered(app, client, auth):
    make_admin()  # without one, sign-in goes to first-run setup
    Practice.update(active=False).where(Practice.title == "Rest and capture").execute()
    patient = make_patient(make_clinician(), timezone=afternoon_zone())
    in_window(patient, hours_ago=1.5)  # ended 30 minutes ago, in the patient's afternoon: the session day
    assert auth.login(patient).status_code == 302
    page = client.get("/home").get_data(as_text=True)
    assert "Your session day" in page
    assert "Rest and capture" not in page
    assert "No driving or machinery for 24 hours" in page  # CLIN-08 stands with or without practices


def test_moving_changes_the_order_patients_see(app, client, auth, staff):
    breathwork = Practice.get(Practice.title == "Breathwork")
    assert staff(f"/practices/{breathwork.id}/move", {"direction": "up"}).status_code == 302
    titles = [title for title, _, _ in library()]
    assert titles[1:3] == ["Breathwork", "Journaling"]
    first = Practice.get(Practice.title == "Rest and capture")
    staff(f"/practices/{first.id}/move", {"direction": "up"})  # already first: nothing moves
    assert [title for title, _, _ in library()] == titles
    assert staff(f"/practices/{first.id}/move", {"direction": "sideways"}).status_code == 400
    assert [title for title, _, _ in library()] == titles
    assert AuditEvent.select().where(AuditEvent.action == "practice_moved").count() == 1


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"title": "  "}, "Give the practice a short title."),
        ({"title": "x" * 121}, "Field cannot be longer than 120 characters."),
        ({"description": ""}, "Say in a sentence or two what the patient is asked to do."),
        ({"description": "x" * 1_001}, "Keep it under 1,000 characters."),
        ({"days": []}, "Choose at least one day to offer it on."),
        ({"days": ["4"]}, "is not a valid choice"),
        ({"kind": "ritual"}, "Not a valid choice"),
        ({"days": ["0", "1"], "description": "Drive somewhere beautiful and watch the sunset."}, "must not drive"),
        ({"days": ["0"], "title": "Bike ride", "description": "A gentle ride."}, "must not drive"),
        # "The day after" an evening session begins within its 24 hours without driving.
        ({"days": ["1", "2"], "description": "Go cycling along the river."}, "must not drive"),
        ({"days": ["1"], "description": "Tidy the garden with power tools."}, "must not drive"),
    ],
)
def test_bad_practices_are_refused_and_nothing_changes(app, client, staff, fields, message):
    before = library()
    response = staff("/practices/new", practice_form(**fields))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    walk = Practice.get(Practice.title == "A walk outdoors")
    response = staff(f"/practices/{walk.id}/edit", practice_form(**fields))
    assert response.status_code == 422
    assert library() == before
    assert AuditEvent.select().where(AuditEvent.action.startswith("practice_")).count() == 0


def test_a_driving_practice_is_fine_from_two_days_after(app, staff):
    response = staff("/practices/new", practice_form(title="Drive to the coast", days=["2", "3"]))
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("day", "no_driving", "offered"),
    [(1, True, False), (1, False, True), (2, False, True)],
    ids=["day-1-within-24-hours", "day-1-after-24-hours", "day-2"],
)
def test_a_practice_that_suggests_driving_is_never_offered_within_24_hours(app, day, no_driving, offered):
    """CLIN-08 on the Today screen too: a row stored before the rule (or by hand) does not slip through."""
    Practice.create(title="Scenic drive", kind="other", description="Drive out to the lake.", days="1,2", position=99)
    titles = [p.title for p in scheduling.practices_for(day, no_driving)]
    assert ("Scenic drive" in titles) is offered
    assert "Journaling" in titles


def test_unknown_practices_are_404(app, client, staff):
    assert client.get("/practices/99999/edit").status_code == 404
    assert staff("/practices/99999/move", {"direction": "up"}).status_code == 404


def test_practice_text_is_escaped(app, client, auth, staff):
    staff("/practices/new", practice_form(title="<b>Bold</b>", description="<script>alert(1)</script>"))
    page = client.get("/practices/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
