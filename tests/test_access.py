"""AC-01/AC-02: every endpoint declares who may use it, and the declarations hold."""

import datetime as dt
import json

import pytest
from flask import url_for

from aftercare.intake import intakes
from aftercare.journey import scheduling
from aftercare.models import Intake
from aftercare.models import Invite
from aftercare.models import JournalImage
from aftercare.models import Practice
from aftercare.models import Reminder
from aftercare.models import SafetyAlert
from aftercare.models import utcnow
from aftercare.models import WebSession
from tests.conftest import Auth
from tests.factories import join_circle
from tests.factories import make_admin
from tests.factories import make_checkin
from tests.factories import make_circle
from tests.factories import make_clinician
from tests.factories import make_device
from tests.factories import make_entry
from tests.factories import make_meeting
from tests.factories import make_mood
from tests.factories import make_past_meeting
from tests.factories import make_patient
from tests.factories import make_picture_entry
from tests.factories import make_playlist
from tests.factories import make_post
from tests.factories import make_session
from tests.factories import make_track
from tests.factories import make_voice_note
from tests.test_images import picture
from tests.test_journal import ogg_opus

ROLES = ("anon", "patient_a", "patient_b", "clinician_b", "admin", "clinician_a")

# Expected outcome per role, in ROLES order. The POST cells that change something
# run with the allowed role last, so earlier roles meet the data intact.
#   ok    allowed: any status below 400, or a form's own 400/422
#   login redirected to sign in      403  wrong role      404  not found / not theirs
OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", 403, 404
EVERYONE = (OK,) * 6
PATIENTS = (LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
CLINICIANS = (LOGIN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, OK)
ADMINS = (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN)
STAFF = (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK)
SIGNED_IN = (LOGIN, OK, OK, OK, OK, OK)
OWNER_B = (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)  # patient_b's own rows

MATRIX = {
    # endpoint: (method, url arguments, expected per role)
    "static": ("GET", {"filename": "css/app.css"}, EVERYONE),
    "pwa.index": ("GET", {}, EVERYONE),
    "pwa.service_worker": ("GET", {}, EVERYONE),
    "pwa.manifest": ("GET", {}, EVERYONE),
    "pwa.offline": ("GET", {}, EVERYONE),
    "pwa.crisis_page": ("GET", {}, EVERYONE),
    "pwa.install": ("GET", {}, EVERYONE),
    "auth.login": ("GET", {}, EVERYONE),
    "auth.verify": ("GET", {}, EVERYONE),
    "auth.enrol": ("GET", {}, EVERYONE),
    "auth.setup": ("GET", {}, (NOT_FOUND,) * 6),  # an admin exists
    "auth.join": ("GET", {}, EVERYONE),
    "auth.join_link": ("GET", {"token": "no-such-token"}, (NOT_FOUND,) * 6),
    "auth.accept": ("GET", {}, EVERYONE),
    "auth.reset_link": ("GET", {"token": "no-such-token"}, (NOT_FOUND,) * 6),
    "auth.reset": ("GET", {}, (NOT_FOUND,) * 6),
    "auth.account": ("GET", {}, SIGNED_IN),
    "auth.notices": ("GET", {}, SIGNED_IN),  # nothing to read: on to the home page
    "auth.dismiss_notices": ("POST", {}, SIGNED_IN),
    "auth.change_password": ("POST", {}, SIGNED_IN),
    # Someone else's session id: nobody may end it.
    "auth.end_session": (
        "POST",
        {"sid": "{other_session}"},
        (LOGIN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ),
    "auth.end_other_sessions": ("POST", {}, SIGNED_IN),
    "auth.new_recovery_codes": ("POST", {}, STAFF),
    "patient.home": ("GET", {}, PATIENTS),
    "patient.settings": ("GET", {}, PATIENTS),
    "patient.more": ("GET", {}, PATIENTS),
    "selfreports.history": ("GET", {}, PATIENTS),
    "selfreports.log_mood": ("POST", {}, PATIENTS),
    "selfreports.edit_mood": (
        "GET",
        {"client_id": "{mood_b}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "selfreports.delete_mood": (
        "POST",
        {"client_id": "{mood_b_html_delete}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "patient.support": ("GET", {}, PATIENTS),
    "selfreports.checkin": ("GET", {"instrument": "phq9"}, PATIENTS),
    "selfreports.checkin_result": (
        "GET",
        {"client_id": "{checkin_b}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "mydata.index": ("GET", {}, PATIENTS),
    "mydata.export_zip": ("GET", {}, PATIENTS),
    "mydata.close": ("POST", {}, PATIENTS),  # no password given: refused with 422, nothing closed
    "mydata.closed": ("GET", {}, EVERYONE),
    "api.openapi": ("GET", {}, EVERYONE),
    "api.csrf_token": ("GET", {}, (401, OK, OK, OK, OK, OK)),
    "selfreports.api_create_mood": ("POST", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    "selfreports.api_list_mood": ("GET", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    "selfreports.api_edit_mood": (
        "PATCH",
        {"client_id": "{mood_b}"},
        (401, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "selfreports.api_delete_mood": (
        "DELETE",
        {"client_id": "{mood_b_api_delete}"},
        (401, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "selfreports.api_create_checkin": ("POST", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    "selfreports.api_list_checkins": ("GET", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    "clinician.index": ("GET", {}, CLINICIANS),
    "clinician.cohort_page": ("GET", {}, CLINICIANS),
    "clinician.cohort_export": ("GET", {}, CLINICIANS),
    "clinician.patient_export": (
        "GET",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "admin.cohort_page": ("GET", {}, ADMINS),
    "clinician.invite": ("GET", {}, CLINICIANS),
    "clinician.patient": (
        "GET",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "clinician.add_colleague": (
        "POST",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "clinician.acknowledge_alert": (
        "POST",
        {"alert_id": "{alert_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "clinician.revoke_invite": (
        "POST",
        {"invite_id": "{invite_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "playlists.index": ("GET", {}, STAFF),
    "playlists.new": ("GET", {}, STAFF),
    "playlists.show": ("GET", {"playlist_id": "{playlist}"}, SIGNED_IN),
    "playlists.edit": ("GET", {"playlist_id": "{playlist}"}, STAFF),
    "playlists.add_track": ("POST", {"playlist_id": "{playlist}"}, STAFF),  # empty form: 422, nothing added
    "playlists.edit_track": ("GET", {"playlist_id": "{playlist}", "track_id": "{track}"}, STAFF),
    "playlists.move_track": ("POST", {"playlist_id": "{playlist}", "track_id": "{track}"}, STAFF),  # no direction: 400
    # The first staff member removes the track; for the next ones it is gone.
    "playlists.remove_track": (
        "POST",
        {"playlist_id": "{playlist}", "track_id": "{track_removed}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, NOT_FOUND),
    ),
    "playlists.remove": ("POST", {"playlist_id": "{playlist_picked}"}, STAFF),  # picked: archived, never deleted
    "playlists.restore": ("POST", {"playlist_id": "{playlist_picked}"}, STAFF),
    "practices.index": ("GET", {}, STAFF),
    "practices.new": ("GET", {}, STAFF),
    "practices.edit": ("GET", {"practice_id": "{practice}"}, STAFF),
    "practices.move": ("POST", {"practice_id": "{practice}"}, STAFF),  # no direction: 400, nothing moves
    "journey.new_session": (
        "GET",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "journey.edit_session": (
        "GET",
        {"session_id": "{session_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "journey.cancel_session": (
        "POST",
        {"session_id": "{session_a_cancel}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "journey.session_status": (
        "POST",
        {"session_id": "{session_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "journey.roster": ("GET", {}, CLINICIANS),
    "journey.patient_sessions": ("GET", {}, PATIENTS),
    "journey.patient_session": (
        "GET",
        {"session_id": "{session_b}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "journey.save_intention": (
        "POST",
        {"session_id": "{session_b}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "journey.pick_playlist": (
        "POST",
        {"session_id": "{session_b}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "journey.confirm_ride": (
        "POST",
        {"session_id": "{session_b}"},
        (LOGIN, NOT_FOUND, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "journey.calendar_link": ("POST", {}, (LOGIN, OK, OK, OK, FORBIDDEN, OK)),
    "journey.revoke_calendar_link": ("POST", {}, (LOGIN, OK, OK, OK, FORBIDDEN, OK)),
    "journey.calendar_feed": ("GET", {"token": "no-such-token"}, (NOT_FOUND,) * 6),
    "journal.index": ("GET", {}, PATIENTS),
    "journal.new_entry": ("GET", {}, PATIENTS),
    # No body: refused, nothing stored.
    "journal.api_create": ("POST", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    "journal.edit_entry": ("GET", {"entry_id": "{entry_b}"}, OWNER_B),
    "journal.share_entry": ("POST", {"entry_id": "{entry_b}"}, OWNER_B),  # no choice: 400, nothing changed
    "journal.delete_entry": ("POST", {"entry_id": "{entry_b_delete}"}, OWNER_B),
    "journal.upload_voice": ("POST", {}, PATIENTS),  # no file: 422, nothing stored
    # Shared, so the owner and their care team hear it; nobody else learns it exists (AC-02, AC-03).
    "journal.voice_file": (
        "GET",
        {"note_id": "{note_b}"},
        (LOGIN, NOT_FOUND, OK, OK, FORBIDDEN, NOT_FOUND),
    ),
    # A picture in a shared entry: the owner and their care team see it, nobody else learns it exists.
    "journal.image_file": (
        "GET",
        {"image_id": "{image_b}"},
        (LOGIN, NOT_FOUND, OK, OK, FORBIDDEN, NOT_FOUND),
    ),
    "journal.share_voice": ("POST", {"note_id": "{note_b}"}, OWNER_B),
    "journal.delete_voice": ("POST", {"note_id": "{note_b_delete}"}, OWNER_B),
    "admin.index": ("GET", {}, ADMINS),
    "admin.invite": ("POST", {}, ADMINS),
    "admin.deactivate": ("POST", {"user_id": "{victim}"}, ADMINS),
    "admin.reactivate": ("POST", {"user_id": "{victim}"}, ADMINS),
    "admin.reset_link": ("POST", {"user_id": "{victim}"}, ADMINS),
    "admin.reset_two_step": ("POST", {"user_id": "{clinician_victim}"}, ADMINS),
    "admin.settings": ("GET", {}, ADMINS),
    "admin.audit": ("GET", {}, ADMINS),
    "reminders.index": ("GET", {}, ADMINS),
    "reminders.edit": ("GET", {"rule": "checkin"}, ADMINS),
    "reminders.restore": ("POST", {"rule": "checkin"}, ADMINS),  # no token: 400, nothing changed
    "reminders.send_notice": ("POST", {}, ADMINS),  # an empty form: 422, nothing sent
    "reminders.inbox": ("GET", {}, PATIENTS),
    "reminders.api_inbox": ("GET", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    "reminders.offline_inbox": ("GET", {}, EVERYONE),  # precached signed out: no one's data in it
    "reminders.upcoming": ("GET", {}, PATIENTS),
    "reminders.snooze": ("POST", {"reminder_id": "{reminder_b}"}, OWNER_B),  # no token: 400, nothing moved
    "clinician.choose_measures": (
        "POST",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),  # an empty form: 422, nothing changed
    ),
    "clinician.send_message": (
        "POST",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),  # an empty form: 422, nothing sent
    ),
    # Patients for reminders, clinicians for alerts (CLIN-03); administrators have no devices.
    "push.public_key": ("GET", {}, (401, OK, OK, OK, OK, OK)),
    "push.api_register": ("POST", {}, (401, OK, OK, OK, FORBIDDEN, OK)),  # no body: 400
    "push.api_forget": ("POST", {}, (401, OK, OK, OK, FORBIDDEN, OK)),
    # no token: 400, nothing removed
    "push.remove_device": (
        "POST",
        {"device_id": "{device_b}"},
        (LOGIN, NOT_FOUND, OK, NOT_FOUND, FORBIDDEN, NOT_FOUND),
    ),
    "push.send_test": ("POST", {}, (LOGIN, OK, OK, OK, FORBIDDEN, OK)),  # no token: 400, nothing sent
    "intake.answer": ("GET", {}, PATIENTS),
    "intake.save_draft": ("POST", {}, (401, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)),  # no body: 400
    "intake.patient_intake": (
        "GET",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "intake.mark_reviewed": (
        "POST",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "intake.ask_again": (
        "POST",
        {"patient_id": "{patient_a}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, OK),
    ),
    "intake.questionnaire": ("GET", {}, ADMINS),
    "intake.remove_question": ("POST", {"key": "{clinic_question}"}, ADMINS),
    "guides.index": ("GET", {}, EVERYONE),
    "guides.offline_bundle": ("GET", {}, EVERYONE),
    "guides.show": ("GET", {"slug": "the-first-24-hours"}, EVERYONE),
    "guides.manage": ("GET", {}, ADMINS),
    "guides.edit": ("GET", {"slug": "the-first-24-hours"}, ADMINS),
    # Circles: a circle for everyone led by clinician_a, patient_a in it (patient_b is not).
    "circles.index": ("GET", {}, PATIENTS),
    "circles.circle": ("GET", {"circle_id": "{circle}"}, PATIENTS),
    "circles.join": ("POST", {"circle_id": "{circle}"}, PATIENTS),  # no name: 422
    "circles.calendar_file": (
        "GET",
        {"circle_id": "{circle}"},
        (LOGIN, OK, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "circles.write": ("POST", {"circle_id": "{circle}"}, (LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK)),  # 422
    "circles.report": (
        "POST",
        {"post_id": "{post_facilitator}"},
        (LOGIN, OK, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "circles.withdraw": ("POST", {"post_id": "{post_a}"}, (LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    "circles.staff_index": ("GET", {}, STAFF),
    "circles.new": ("GET", {}, STAFF),
    "circles.manage": ("GET", {"circle_id": "{circle}"}, STAFF),
    # Its facilitator and administrators change a circle; another clinician finds nothing to change.
    "circles.edit": ("POST", {"circle_id": "{circle}"}, (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, OK, OK)),
    "circles.add_meeting": ("POST", {"circle_id": "{circle}"}, (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, OK, OK)),
    "circles.move_meeting": ("POST", {"meeting_id": "{meeting}"}, (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, OK, OK)),
    "circles.cancel_meeting": (
        "POST",
        {"meeting_id": "{meeting_cancel}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, OK, OK),
    ),
    "circles.close": ("POST", {"circle_id": "{circle_close}"}, (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, OK, OK)),
    "circles.invite": ("POST", {"circle_id": "{circle_invited}"}, STAFF),  # nobody chosen: 422
    # Only the facilitator marks attendance, removes members and moderates.
    "circles.attendance": (
        "POST",
        {"meeting_id": "{meeting_past}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK),
    ),
    "circles.approve": ("POST", {"post_id": "{post_waiting}"}, (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK)),
    "circles.hide": ("POST", {"post_id": "{post_hide}"}, (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK)),
    "circles.keep": (
        "POST",
        {"post_id": "{post_facilitator}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK),
    ),
    "circles.leave": (
        "POST",
        {"circle_id": "{circle_leave}"},
        (LOGIN, OK, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    "circles.remove_member": (
        "POST",
        {"circle_id": "{circle_second}", "member_id": "{member_b}"},
        (LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, NOT_FOUND, OK),
    ),
    # Last: signing out ends each client's session (and staff cannot reuse a TOTP code to return).
    "auth.logout": ("POST", {}, EVERYONE),
}


def test_every_endpoint_declares_access(app):
    undeclared = [e for e, view in app.view_functions.items() if not hasattr(view, "access")]
    assert undeclared == []


def test_every_endpoint_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(MATRIX) == set(), "add these endpoints to MATRIX"
    assert set(MATRIX) - endpoints == set(), "these MATRIX rows name no endpoint"


def test_an_undeclared_endpoint_is_denied(app, client):
    app.add_url_rule("/undeclared", "undeclared", lambda: "secret")
    response = client.get("/undeclared")
    assert response.status_code == 404
    assert b"secret" not in response.data


def test_an_exception_in_the_policy_never_yields_200(app, client, monkeypatch):
    from aftercare import access

    def broken(endpoint):
        raise RuntimeError("policy store unavailable")

    monkeypatch.setattr(access, "access_of", broken)
    response = client.get("/crisis")
    assert response.status_code == 403


def make_people() -> dict:
    """The matrix's cast: two care teams, an administrator, and accounts for others to try to act on."""
    clinician_a, clinician_b = make_clinician(), make_clinician()
    people = {
        "admin": make_admin(),
        "clinician_a": clinician_a,
        "clinician_b": clinician_b,
        "patient_a": make_patient(clinician_a),
        "patient_b": make_patient(clinician_b),
    }
    people["victim"] = make_patient(clinician_b)
    people["clinician_victim"] = make_clinician()
    return people


@pytest.fixture
def matrix_people(app):
    return make_people()


def _outcome(response):
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/login" in location and "next=" in location:
        return LOGIN
    if response.status_code in (401, FORBIDDEN, NOT_FOUND):
        return response.status_code
    if response.status_code < 400 or response.status_code in (400, 422):
        return OK
    return response.status_code


def build_world(app, people) -> dict:
    """Create one of everything the matrix's URLs name; return the values for their {placeholders}."""
    invite, _, _ = Invite.issue(
        role="patient", email="new@example.org", name="New", invited_by=people["clinician_a"], days=7
    )
    other_session = WebSession.select().where(
        WebSession.user == people["clinician_victim"]
    ).first() or WebSession.create(
        id="f" * 64, user=people["clinician_victim"], expires_at=invite.expires_at, idle_seconds=900
    )
    mood_b, gone_html, gone_api = (make_mood(people["patient_b"]) for _ in range(3))
    checkin_b = make_checkin(people["patient_b"], "gad7", [0] * 7)
    checkin_a = make_checkin(people["patient_a"], "phq9", [0] * 8 + [1])
    playlist = make_playlist(title="Matrix")
    track = make_track(playlist, title="A")
    track_removed = make_track(playlist, title="C")
    playlist_picked = make_playlist(title="Picked")
    make_session(
        people["patient_a"], starts_at=utcnow() + dt.timedelta(days=20), status="scheduled", playlist=playlist_picked
    )
    week = (utcnow() + dt.timedelta(days=7)).replace(second=0, microsecond=0)
    session_a, session_a_cancel = (
        scheduling.book(
            people["patient_a"],
            by=people["clinician_a"],
            kind="infusion",
            wall=week + dt.timedelta(days=d),
            duration_minutes=60,
        )
        for d in (0, 1)
    )
    session_b = scheduling.book(
        people["patient_b"], by=people["clinician_b"], kind="infusion", wall=week, duration_minutes=60
    )
    entry_b, entry_b_delete = (make_entry(people["patient_b"], f"Entry {n}") for n in (1, 2))
    intake_a = intakes.to_answer(people["patient_a"])
    Intake.update(status="submitted", submitted_at=utcnow()).where(Intake.id == intake_a.id).execute()
    question = intakes.add_question(by=people["admin"], text="Are you afraid of needles?", kind="yesno", flag="")
    circles = _circle_world(people)
    with app.app_context():  # voice.store finds the voice folder in the app's config
        note_b = make_voice_note(people["patient_b"], ogg_opus(1.0), shared=True)
        note_b_delete = make_voice_note(people["patient_b"], ogg_opus(2.0))
        image_b = JournalImage.get(
            JournalImage.entry == make_picture_entry(people["patient_b"], picture(fmt="PNG"), shared=True)
        )
    return {
        "practice": Practice.select().first().id,
        "entry_b": entry_b.id,
        "entry_b_delete": entry_b_delete.id,
        "note_b": note_b.id,
        "note_b_delete": note_b_delete.id,
        "image_b": image_b.id,
        "session_a": session_a.id,
        "session_a_cancel": session_a_cancel.id,
        "session_b": session_b.id,
        "playlist": playlist.id,
        "track": track.id,
        "track_removed": track_removed.id,
        "playlist_picked": playlist_picked.id,
        "alert_a": SafetyAlert.get(SafetyAlert.checkin == checkin_a).id,
        "mood_b": mood_b.client_id,
        "mood_b_html_delete": gone_html.client_id,
        "mood_b_api_delete": gone_api.client_id,
        "checkin_b": checkin_b.client_id,
        "patient_a": people["patient_a"].id,
        "invite_a": invite.id,
        "victim": people["victim"].id,
        "clinician_victim": people["clinician_victim"].id,
        "other_session": other_session.id,
        "device_b": make_device(people["patient_b"]).id,
        "clinic_question": json.loads(question.questions)[-1]["questions"][-1]["key"],
        "reminder_b": Reminder.get(Reminder.session == session_b, Reminder.rule == "session_24h").id,
        **circles,
    }


def _circle_world(people) -> dict:
    """Circles for the matrix: one for everyone (patient_a in it), one for leaving, one for removing patient_b."""
    lead = people["clinician_a"]
    circle, second, leaving, closing = (
        make_circle(lead, title=title) for title in ("Matrix", "Second", "Leaving", "Closing")
    )
    invited = make_circle(lead, title="Invited", audience="invited")
    join_circle(circle, people["patient_a"], "Sky", trusted=True)
    newcomer = make_patient(lead)
    join_circle(circle, newcomer, "Newcomer")
    join_circle(leaving, people["patient_a"], "Sky")
    member_b = join_circle(second, people["patient_b"], "JB")
    post_a, _ = make_post(circle, people["patient_a"], "Mine")
    post_hide, _ = make_post(circle, people["patient_a"], "To hide")
    post_facilitator, _ = make_post(circle, lead, "Welcome")
    post_waiting, _ = make_post(circle, newcomer, "Hello?")
    return {
        "circle": circle.id,
        "circle_second": second.id,
        "circle_leave": leaving.id,
        "circle_close": closing.id,
        "circle_invited": invited.id,
        "member_b": member_b.id,
        "meeting": make_meeting(circle, lead, days=5).id,
        "meeting_cancel": make_meeting(circle, lead, days=6).id,
        "meeting_past": make_past_meeting(circle).id,
        "post_a": post_a.id,
        "post_hide": post_hide.id,
        "post_facilitator": post_facilitator.id,
        "post_waiting": post_waiting.id,
    }


def url_of(app, endpoint: str, values: dict) -> tuple[str, str]:
    """Return (method, URL) of a matrix row, its {placeholders} filled from build_world's values."""
    method, args, _ = MATRIX[endpoint]
    kwargs = {k: (values[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v) for k, v in args.items()}
    with app.test_request_context():
        return method, url_for(endpoint, **kwargs)


def test_access_matrix(app, matrix_people, tmp_path):
    people = matrix_people
    app.config["WTF_CSRF_ENABLED"] = False  # this test is about who, not CSRF
    app.config["VOICE_DIR"] = str(tmp_path / "voice")
    clients = {"anon": app.test_client()}
    for role in ROLES[1:]:
        clients[role] = app.test_client()
        response = Auth(clients[role]).login(people[role])
        assert response.status_code == 302, role
    values = build_world(app, people)
    failures = []
    for endpoint, (_, _, expected) in MATRIX.items():
        method, url = url_of(app, endpoint, values)
        for role, want in zip(ROLES, expected, strict=True):
            with clients[role].open(url, method=method) as response:
                got = _outcome(response)
            if got != want:
                failures.append(f"{role:12} {method} {url}: expected {want}, got {got}")
            if endpoint == "auth.logout" and role != "anon":
                Auth(clients[role]).login(people[role])
    assert failures == [], "\n".join(failures)
