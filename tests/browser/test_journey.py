"""A session, end to end: the clinician schedules it, the patient prepares on their phone, the roster shows it."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from aftercare.journey import scheduling
from aftercare.models import ClinicSetting
from aftercare.models import Intention
from aftercare.models import Playlist
from aftercare.models import Track
from tests.browser.conftest import check_a11y
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser

NY = "America/New_York"


@pytest.fixture
def clinic(seed, live_server):
    """A clinic in New York with two session playlists, a clinician and their patient."""
    clinician = seed.clinician(name="Dana Reyes")
    patient = seed.patient(clinician, name="Mara Quinn", timezone=NY)
    with live_server.database.connection_context():
        ClinicSetting.set_value("clinic_timezone", NY)
        for title, description, minutes in (
            ("Quiet Waters", "Soft piano and strings, no words", (12, 15, 18)),
            ("Open Sky", "Ambient drones and field recordings", (20, 25)),
        ):
            if not Playlist.select().where(Playlist.title == title).exists():
                playlist = Playlist.create(title=title, purpose="session", description=description)
                for position, length in enumerate(minutes):
                    Track.create(
                        playlist=playlist,
                        position=position,
                        title=f"Part {position + 1}",
                        artist="Ensemble",
                        duration_seconds=length * 60,
                    )
    return clinician, patient


def test_patient_prepares_and_the_roster_shows_the_pick_and_the_ride(clinic, phone, desktop):
    clinician, patient = clinic
    day = scheduling.today_in(NY) + dt.timedelta(days=1)

    # The clinician schedules an infusion for tomorrow, on a desktop.
    sign_in(desktop, clinician)
    desktop.goto(f"/clinician/patients/{patient.id}/sessions/new")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Schedule a session for Mara Quinn")
    expect(desktop.get_by_role("group", name="When (clinic time)")).to_contain_text("America/New York")
    check_a11y(desktop, "journey-schedule")
    desktop.get_by_label("Kind of session").select_option("infusion")
    desktop.get_by_label("Date").fill((day - dt.timedelta(days=3)).isoformat())
    desktop.get_by_label("Start time").fill("10:00")
    desktop.get_by_label("Book it anyway").check()  # no intake reviewed yet
    desktop.get_by_role("button", name="Schedule session").click()
    expect(desktop.get_by_role("alert")).to_contain_text("That time has passed")
    check_a11y(desktop, "journey-schedule-error")
    desktop.get_by_label("Date").fill(day.isoformat())
    desktop.get_by_role("button", name="Schedule session").click()
    expect(desktop).to_have_url(re.compile(rf"/clinician/patients/{patient.id}#sessions$"))
    expect(desktop.locator(".flashes")).to_contain_text("Scheduled: IV infusion for Mara Quinn")

    # The patient prepares on their phone.
    sign_in(phone, patient)
    phone.goto("/sessions")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your sessions")
    tile = phone.get_by_role("link", name=re.compile(day.strftime("%A %-d %B") + ", 10:00"))
    expect(tile).to_contain_text("Still to do: intention, music, ride home")
    check_a11y(phone, "journey-sessions")
    tile.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("IV infusion, session 1")
    expect(phone.locator("main")).to_contain_text("No driving or machinery for 24 hours after your session.")
    check_a11y(phone, "journey-session")

    phone.get_by_label("What do I hope to explore, uncover or resolve?").fill("Why I brace myself when things go well.")
    phone.get_by_label("What would I like to let go of?").fill("Waiting for the other shoe to drop.")
    phone.get_by_label("One sentence to carry in").fill("I can let this be good.")
    phone.get_by_role("button", name="Save my intention").click()
    expect(phone.locator(".flashes")).to_contain_text("Your intention is saved.")

    phone.get_by_role("radio", name=re.compile("Quiet Waters")).check()
    phone.get_by_role("button", name="Save music choice").click()
    expect(phone.locator(".flashes")).to_contain_text("“Quiet Waters” will be ready in the room.")
    expect(phone.get_by_role("radio", name=re.compile("Quiet Waters"))).to_be_checked()

    phone.get_by_label("Who is taking you home? (optional)").fill("Sam")
    phone.get_by_label("Someone will drive me home").check()
    phone.get_by_role("button", name="Save ride home").click()
    expect(phone.locator(".flashes")).to_contain_text("your ride home is confirmed.")
    check_a11y(phone, "journey-session-ready")

    phone.goto("/sessions")
    expect(phone.get_by_role("link", name=re.compile(day.strftime("%A %-d %B")))).to_contain_text("Ready")

    # A calendar subscription for the phone.
    phone.get_by_role("button", name="Create a calendar link").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your calendar link")
    link = phone.locator("#calendar-link").inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/calendar/[\w-]{40,}\.ics", link), link
    check_a11y(phone, "journey-calendar-link")
    feed = phone.request.get(link)
    assert feed.status == 200 and "SUMMARY:aftercare appointment" in feed.text()
    assert "Mara" not in feed.text() and "Quiet Waters" not in feed.text()

    # The clinician's roster for that day shows the pick and the confirmed ride.
    desktop.goto("/clinician/roster")
    expect(desktop.get_by_role("heading", level=1)).to_have_text("Today’s sessions")
    desktop.get_by_role("link", name=re.compile(day.strftime("%a %-d %b") + " →")).click()
    expect(desktop).to_have_url(re.compile(rf"/clinician/roster\?day={day.isoformat()}$"))
    row = desktop.get_by_role("row", name=re.compile("Mara Quinn"))
    expect(row).to_contain_text("10:00–11:00")
    expect(row).to_contain_text("Quiet Waters")
    expect(row).to_contain_text("Written")
    expect(row).to_contain_text("Confirmed Sam")
    check_a11y(desktop, "journey-roster")


def test_an_intention_outlives_an_expired_token_and_waits_out_a_lost_connection(clinic, live_server, phone):
    """Writing can take longer than a CSRF token lives; a refusal, or posting offline, would lose the text."""
    clinician, patient = clinic
    with live_server.database.connection_context():
        session = scheduling.book(
            patient,
            by=clinician,
            kind="infusion",
            wall=dt.datetime.combine(scheduling.today_in(NY) + dt.timedelta(days=2), dt.time(10)),
            duration_minutes=60,
            zone=NY,
        )
    sign_in(phone, patient)
    phone.goto(f"/sessions/{session.id}")
    explore = phone.get_by_label("What do I hope to explore, uncover or resolve?")
    explore.fill("What I learned from my grandmother's garden.")
    phone.evaluate(
        """() => { for (const f of document.querySelectorAll('input[name="csrf_token"]')) f.value = "expired"; }"""
    )

    phone.context.set_offline(True)
    phone.get_by_role("button", name="Save my intention").click()
    expect(phone.locator("#intention [data-form-status]")).to_contain_text("You seem to be offline.")
    expect(explore).to_have_value("What I learned from my grandmother's garden.")

    phone.context.set_offline(False)
    phone.get_by_role("button", name="Save my intention").click()
    expect(phone.locator(".flashes")).to_contain_text("Your intention is saved.")
    expect(explore).to_have_value("What I learned from my grandmother's garden.")
    with live_server.database.connection_context():
        assert Intention.get(Intention.session == session.id).explore == "What I learned from my grandmother's garden."
