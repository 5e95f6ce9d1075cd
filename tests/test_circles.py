"""Integration circles: running them, joining under a chosen name, reminders, and the board's rules.

The board's visibility rule is checked as a table (member, non-member, facilitator, another
clinician, an administrator): AC-01/AC-02. A post with crisis words is held and raises one alert
to the author's own clinician (CLIN-04). Nothing written on a board reaches the clinical record,
the timeline or the care team's export (PRIV-01 covers the patient's own export).
"""

import datetime as dt
import io
import json
import uuid
import zipfile

import pytest
from icalendar import Calendar

from aftercare import settings
from aftercare.circles import board
from aftercare.circles import membership
from aftercare.circles import organise
from aftercare.inputs import Invalid
from aftercare.models import AuditEvent
from aftercare.models import Circle
from aftercare.models import CircleMember
from aftercare.models import CirclePost
from aftercare.models import Reminder
from aftercare.models import SafetyAlert
from aftercare.models import utcnow
from aftercare.reminders.dispatcher import Dispatcher
from tests.conftest import Auth
from tests.conftest import post_form
from tests.factories import join_circle
from tests.factories import make_admin
from tests.factories import make_checkin
from tests.factories import make_circle
from tests.factories import make_clinician
from tests.factories import make_device
from tests.factories import make_meeting
from tests.factories import make_past_meeting
from tests.factories import make_patient
from tests.factories import make_post

NY = "America/New_York"
SECRET = "lighthouse-kettle-17"  # a word only a board post holds


@pytest.fixture
def clinic(app):
    """A facilitator with a patient, another clinician with theirs, an administrator, and a circle with a meeting."""
    settings.update(timezone="America/New_York")  # staff enter meeting times on the clinic's clock
    admin = make_admin()
    facilitator = make_clinician(name="Dr. Dana Reyes")
    other = make_clinician(name="Sam Okafor")
    mine = make_patient(facilitator, name="Maya Chen", timezone=NY)
    theirs = make_patient(other, name="Jordan Blake", timezone=NY)
    outsider = make_patient(other, name="Priya Nair", timezone=NY)
    circle = make_circle(facilitator, title="Thursday circle", capacity=3)
    meeting = make_meeting(circle, facilitator, days=5)
    return dict(
        admin=admin,
        facilitator=facilitator,
        other=other,
        mine=mine,
        theirs=theirs,
        outsider=outsider,
        circle=circle,
        meeting=meeting,
    )


def page(client, path):
    with client.get(path) as response:
        return response.status_code, response.get_data(as_text=True)


# --------------------------------------------------------------------------- running a circle


def test_staff_start_a_circle_and_add_a_meeting_in_the_clinics_zone(client, auth, clinic):
    auth.login(clinic["other"])
    response = post_form(
        client,
        "/staff/circles/new",
        {
            "title": "  Sunday   online circle ",
            "description": "Cameras optional.",
            "facilitator": str(clinic["other"].id),
            "mode": "online",
            "link": "https://meet.example.org/sunday",
            "capacity": "8",
            "audience": "invited",
        },
    )
    assert response.status_code == 302
    circle = Circle.get(Circle.title == "Sunday online circle")
    assert (circle.mode, circle.place, circle.link, circle.capacity) == (
        "online",
        "",
        "https://meet.example.org/sunday",
        8,
    )
    day = (utcnow() + dt.timedelta(days=10)).date()
    response = post_form(
        client,
        f"/staff/circles/{circle.id}/meetings",
        {"date": day.isoformat(), "time": "11:00", "minutes": "60"},
        page=f"/staff/circles/{circle.id}",
    )
    assert response.status_code == 302
    [meeting] = circle.meetings
    local = organise.wall_time(meeting)
    assert (local.date(), local.hour, local.minute, meeting.zone) == (day, 11, 0, "America/New_York")
    changes = AuditEvent.select().where(
        AuditEvent.action == "circle_changed", AuditEvent.actor_id == clinic["other"].id
    )
    assert [e.detail for e in changes] == [
        f"circle {circle.id} started",
        f"circle {circle.id} meeting {meeting.id} added",
    ]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "Give the circle a name."),
        ({"mode": "in_person", "place": ""}, "place", "Say where the circle meets"),
        ({"mode": "online", "link": "javascript:alert(1)"}, "link", "starting https://"),
        ({"mode": "online", "link": "http://meet.example.org/x"}, "link", "starting https://"),
        ({"capacity": "0"}, "capacity", "from 2 to 200"),
        ({"capacity": "lots"}, "capacity", "from 2 to 200"),
        ({"audience": "friends"}, "audience", "Choose who may see"),
        ({"facilitator": "999999"}, "facilitator", "Choose the clinician"),
        ({"mode": "boat"}, "mode", "in person or online"),
    ],
)
def test_a_circles_details_that_do_not_hold_are_named_and_nothing_is_stored(
    client, auth, clinic, change, field, message
):
    auth.login(clinic["facilitator"])
    data = {
        "title": "New circle",
        "facilitator": str(clinic["facilitator"].id),
        "mode": "in_person",
        "place": "Room 1",
        "capacity": "10",
        "audience": "all",
        **change,
    }
    before = Circle.select().count()
    response = post_form(client, "/staff/circles/new", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert Circle.select().count() == before


@pytest.mark.parametrize(
    ("date", "time", "minutes", "message"),
    [
        ("2020-01-01", "18:00", "90", "That time has passed"),
        ("not a date", "18:00", "90", "year-month-day"),
        ("2027-02-30", "18:00", "90", "year-month-day"),
        ("{tomorrow}", "25:00", "90", "24-hour clock"),
        ("{tomorrow}", "18:00", "5", "from 15 to 480"),
        ("{far}", "18:00", "90", "more than two years ahead"),
    ],
)
def test_a_meeting_that_cannot_be_is_refused_with_a_reason(client, auth, clinic, date, time, minutes, message):
    date = date.format(
        tomorrow=(utcnow() + dt.timedelta(days=1)).date().isoformat(),
        far=(utcnow() + dt.timedelta(days=800)).date().isoformat(),
    )
    auth.login(clinic["facilitator"])
    circle = clinic["circle"]
    response = post_form(
        client,
        f"/staff/circles/{circle.id}/meetings",
        {"date": date, "time": time, "minutes": minutes},
        page=f"/staff/circles/{circle.id}",
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert circle.meetings.count() == 1


def test_only_the_facilitator_or_an_administrator_changes_a_circle(client, auth, clinic):
    circle = clinic["circle"]
    auth.login(clinic["other"])
    response = post_form(
        client,
        f"/staff/circles/{circle.id}/meetings",
        {"date": "2030-01-01", "time": "18:00", "minutes": "60"},
        page="/staff/circles",
    )
    assert response.status_code == 404
    assert circle.meetings.count() == 1


# --------------------------------------------------------------------------- who sees which circle


def test_patients_see_open_circles_and_the_invited_ones_they_were_invited_to(client, auth, clinic):
    invited = make_circle(clinic["facilitator"], title="Invited circle", audience="invited")
    organise.invite(invited, [str(clinic["mine"].id), str(clinic["theirs"].id)], by=clinic["facilitator"])
    # A clinician invites only their own patients: Jordan is Sam's, so only Maya is invited.
    assert [i.patient_id for i in invited.invites] == [clinic["mine"].id]

    auth.login(clinic["mine"])
    status, html = page(client, "/circles")
    assert status == 200 and "Thursday circle" in html and "Invited circle" in html
    assert page(client, f"/circles/{invited.id}")[0] == 200

    auth.logout()
    auth.login(clinic["outsider"])
    status, html = page(client, "/circles")
    assert "Thursday circle" in html and "Invited circle" not in html
    assert page(client, f"/circles/{invited.id}")[0] == 404
    response = post_form(client, f"/circles/{invited.id}/join", {"display_name": "Pea"}, page="/more")
    assert response.status_code == 404
    assert not CircleMember.select().where(CircleMember.circle == invited).exists()


def test_an_online_circles_link_is_for_its_members_only(client, auth, clinic):
    online = make_circle(
        clinic["facilitator"], title="Online", mode="online", link="https://meet.example.org/secret-room"
    )
    auth.login(clinic["mine"])
    assert "secret-room" not in page(client, f"/circles/{online.id}")[1]
    join_circle(online, clinic["mine"], "Sky")
    assert "https://meet.example.org/secret-room" in page(client, f"/circles/{online.id}")[1]


# --------------------------------------------------------------------------- joining


@pytest.mark.parametrize(
    ("name", "real_ok", "message"),
    [
        ("", False, "Choose a name of 2 to 30"),
        ("A", False, "Choose a name of 2 to 30"),
        ("x" * 31, False, "Choose a name of 2 to 30"),
        ("<script>alert(1)</script>", False, "letters, numbers, spaces"),
        ("Maya", False, "This is your own name"),
        ("maya chen", False, "This is your own name"),
        ("CHEN", False, "This is your own name"),
    ],
)
def test_a_display_name_must_be_a_name_and_not_the_real_one_unless_chosen(client, auth, clinic, name, real_ok, message):
    auth.login(clinic["mine"])
    circle = clinic["circle"]
    data = {"display_name": name, **({"real_name_ok": "y"} if real_ok else {})}
    response = post_form(client, f"/circles/{circle.id}/join", data, page=f"/circles/{circle.id}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert not membership.is_member(circle, clinic["mine"])


def test_a_patient_joins_under_their_real_name_only_when_they_say_so(client, auth, clinic):
    auth.login(clinic["mine"])
    circle = clinic["circle"]
    response = post_form(
        client,
        f"/circles/{circle.id}/join",
        {"display_name": "Maya", "real_name_ok": "y"},
        page=f"/circles/{circle.id}",
    )
    assert response.status_code == 302
    assert membership.membership(circle, clinic["mine"]).display_name == "Maya"


def test_two_members_cannot_go_by_names_that_look_alike(clinic):
    join_circle(clinic["circle"], clinic["mine"], "Sky")
    with pytest.raises(Invalid, match="already goes by that name"):
        membership.join(clinic["circle"], clinic["theirs"], " s  K y")
    assert membership.count(clinic["circle"]) == 1


def test_a_full_circle_refuses_one_more_with_a_clear_message(client, auth, clinic):
    circle = clinic["circle"]  # capacity 3
    for n, patient in enumerate((clinic["theirs"], clinic["outsider"], make_patient(clinic["other"]))):
        join_circle(circle, patient, f"Member {n}")
    auth.login(clinic["mine"])
    status, html = page(client, f"/circles/{circle.id}")
    assert "This circle is full" in html and f'action="/circles/{circle.id}/join"' not in html
    response = post_form(client, f"/circles/{circle.id}/join", {"display_name": "Sky"}, page="/more")
    assert response.status_code == 422
    assert "This circle is full" in response.get_data(as_text=True)
    assert membership.count(circle) == 3


def test_joining_plans_reminders_a_day_and_an_hour_before_and_leaving_stops_them(client, auth, clinic):
    circle, meeting = clinic["circle"], clinic["meeting"]
    auth.login(clinic["mine"])
    post_form(client, f"/circles/{circle.id}/join", {"display_name": "Sky"}, page=f"/circles/{circle.id}")
    planned = {
        r.rule: r for r in Reminder.select().where(Reminder.user == clinic["mine"], Reminder.rule.startswith("circle"))
    }
    assert set(planned) == {"circle_24h", "circle_1h"}
    assert planned["circle_24h"].due_at == meeting.starts_at - dt.timedelta(hours=24)
    assert planned["circle_1h"].due_at == meeting.starts_at - dt.timedelta(hours=1)
    assert planned["circle_1h"].path == f"/circles/{circle.id}"

    post_form(client, f"/circles/{circle.id}/leave", page=f"/circles/{circle.id}")
    statuses = {
        r.status for r in Reminder.select().where(Reminder.user == clinic["mine"], Reminder.rule.startswith("circle"))
    }
    assert statuses == {"cancelled"}
    # Leaving is not being removed: they may join again.
    join_circle(circle, clinic["mine"], "Sky")


def test_a_reminder_says_where_and_when_inside_the_app_and_nothing_clinical_on_the_lock_screen(clinic):
    circle, meeting = clinic["circle"], clinic["meeting"]
    join_circle(circle, clinic["mine"], "Sky")
    reminder = Reminder.get(Reminder.user == clinic["mine"], Reminder.rule == "circle_1h")
    from aftercare.reminders import texts

    message = texts.message(
        reminder, clinic["mine"], texts.wordings()["circle_1h"], now=meeting.starts_at - dt.timedelta(hours=1)
    )
    assert message.title == "aftercare" and texts.lock_screen_problem(message.body) is None
    assert "Thursday circle meets at" in message.text and "Garden room" in message.text
    # Once they have left, the reminder has nothing to say, and nothing is sent.
    membership.leave(membership.membership(circle, clinic["mine"]))
    assert texts.message(reminder, clinic["mine"], texts.wordings()["circle_1h"]) is None


def test_moving_a_meeting_tells_each_member_and_moves_their_reminders(client, auth, clinic):
    circle, meeting = clinic["circle"], clinic["meeting"]
    join_circle(circle, clinic["mine"], "Sky")
    join_circle(circle, clinic["theirs"], "JB")
    old = meeting.starts_at
    auth.login(clinic["facilitator"])
    day = (utcnow() + dt.timedelta(days=9)).date()
    response = post_form(
        client,
        f"/staff/circles/meetings/{meeting.id}/move",
        {"date": day.isoformat(), "time": "19:30", "minutes": "60"},
        page=f"/staff/circles/{circle.id}",
    )
    assert response.status_code == 302
    for patient in (clinic["mine"], clinic["theirs"]):
        [note] = Reminder.select().where(Reminder.user == patient, Reminder.rule == "circle_moved")
        assert "Thursday circle now meets on" in note.text and "19:30" in note.text
        rows = Reminder.select().where(Reminder.user == patient, Reminder.rule == "circle_1h")
        by_status = {r.status: r for r in rows}
        assert by_status["cancelled"].due_at == old - dt.timedelta(hours=1)
        assert by_status["planned"].due_at > old

    response = post_form(client, f"/staff/circles/meetings/{meeting.id}/cancel", page=f"/staff/circles/{circle.id}")
    assert response.status_code == 302
    for patient in (clinic["mine"], clinic["theirs"]):
        [note] = Reminder.select().where(Reminder.user == patient, Reminder.rule == "circle_cancelled")
        assert "will not meet on" in note.text
        assert (
            not Reminder.select()
            .where(
                Reminder.user == patient,
                Reminder.rule.startswith("circle_"),
                Reminder.rule.endswith("h"),
                Reminder.status == "planned",
            )
            .exists()
        )


def test_a_member_adds_the_meetings_to_their_calendar(client, auth, clinic):
    circle = clinic["circle"]
    auth.login(clinic["mine"])
    assert page(client, f"/circles/{circle.id}/calendar.ics")[0] == 404  # not a member yet
    join_circle(circle, clinic["mine"], "Sky")
    with client.get(f"/circles/{circle.id}/calendar.ics") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/calendar"
        calendar = Calendar.from_ical(response.get_data())
    [event] = calendar.walk("VEVENT")
    assert str(event["summary"]) == "aftercare group"
    assert "Garden room" in str(event["location"])
    assert event.decoded("dtstart").replace(tzinfo=None) == clinic["meeting"].starts_at


# --------------------------------------------------------------------------- the board


def test_a_new_members_first_post_waits_until_the_facilitator_approves_it(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky")
    join_circle(circle, clinic["theirs"], "JB")
    auth.login(clinic["mine"])
    response = post_form(
        client,
        f"/circles/{circle.id}/posts",
        {"body": "Hello, is it okay to just listen?"},
        page=f"/circles/{circle.id}",
    )
    assert response.status_code == 302
    post = CirclePost.get(CirclePost.author == clinic["mine"])
    assert post.status == "waiting" and post.name == "Sky"
    assert "Waiting for the facilitator" in page(client, f"/circles/{circle.id}")[1]
    auth.logout()

    other = Auth(client.application.test_client())
    other.login(clinic["theirs"])
    assert "just listen" not in page(other.client, f"/circles/{circle.id}")[1]

    auth.login(clinic["facilitator"])
    status, html = page(client, f"/staff/circles/{circle.id}")
    assert "Waiting for you" in html and "just listen" in html
    response = post_form(client, f"/staff/circles/posts/{post.id}/approve", page=f"/staff/circles/{circle.id}")
    assert response.status_code == 302
    assert "just listen" in page(other.client, f"/circles/{circle.id}")[1]
    # Approved once: their next post goes straight up.
    second, held = make_post(circle, clinic["mine"], "A second thought.")
    assert (second.status, held) == ("shown", False)


def test_a_post_with_html_is_kept_as_text_and_shown_escaped(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    auth.login(clinic["mine"])
    body = '<script>alert("x")</script><img src=x onerror=alert(1)> & so on'
    post_form(client, f"/circles/{circle.id}/posts", {"body": body}, page=f"/circles/{circle.id}")
    assert CirclePost.get(CirclePost.author == clinic["mine"]).body == body
    html = page(client, f"/circles/{circle.id}")[1]
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "Write something first."), ("   \n ", "Write something first."), ("x" * 4001, "under 4,000 characters")],
)
def test_an_empty_or_overlong_post_is_refused_and_nothing_is_posted(client, auth, clinic, body, message):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    auth.login(clinic["mine"])
    response = post_form(client, f"/circles/{circle.id}/posts", {"body": body}, page=f"/circles/{circle.id}")
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert not CirclePost.select().exists()


def test_the_same_form_sent_twice_posts_once(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    auth.login(clinic["mine"])
    data = {"body": "Once only.", "client_id": str(uuid.uuid4())}
    for _ in range(2):
        assert post_form(client, f"/circles/{circle.id}/posts", data, page=f"/circles/{circle.id}").status_code == 302
    assert CirclePost.select().count() == 1


def test_a_reply_to_a_reply_joins_its_thread(clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    join_circle(circle, clinic["theirs"], "JB", trusted=True)
    top, _ = make_post(circle, clinic["mine"], "Top")
    reply, _ = make_post(circle, clinic["theirs"], "Reply", parent=top)
    deeper, _ = make_post(circle, clinic["mine"], "Reply to the reply", parent=reply)
    assert reply.parent_id == deeper.parent_id == top.id
    [thread] = board.threads(circle, clinic["mine"], "member")
    assert [p.body for p in thread.replies] == ["Reply", "Reply to the reply"]


def test_anyone_in_the_circle_reports_a_post_and_the_facilitator_hides_it(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    join_circle(circle, clinic["theirs"], "JB", trusted=True)
    post, _ = make_post(circle, clinic["theirs"], "Something unkind.")
    auth.login(clinic["mine"])
    response = post_form(
        client,
        f"/circles/posts/{post.id}/report",
        {"reason": "Unkind", "next": f"/circles/{circle.id}"},
        page=f"/circles/{circle.id}",
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/circles/{circle.id}")
    again = post_form(client, f"/circles/posts/{post.id}/report", {"reason": "Still"}, page=f"/circles/{circle.id}")
    assert again.status_code == 302
    assert post.reports.count() == 1
    auth.logout()

    auth.login(clinic["facilitator"])
    html = page(client, f"/staff/circles/{circle.id}")[1]
    assert "Reported 1 time" in html and "Unkind" in html
    post_form(client, f"/staff/circles/posts/{post.id}/hide", page=f"/staff/circles/{circle.id}")
    assert CirclePost.get_by_id(post.id).status == "hidden"
    assert "Reported 1 time" not in page(client, f"/staff/circles/{circle.id}")[1]
    auth.logout()
    auth.login(clinic["mine"])
    assert "Something unkind" not in page(client, f"/circles/{circle.id}")[1]


def test_a_member_cannot_report_their_own_post_or_one_they_cannot_see(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    post, _ = make_post(circle, clinic["mine"], "Mine")
    auth.login(clinic["mine"])
    assert post_form(client, f"/circles/posts/{post.id}/report", page=f"/circles/{circle.id}").status_code == 404
    auth.logout()
    auth.login(clinic["outsider"])
    assert post_form(client, f"/circles/posts/{post.id}/report", page="/more").status_code == 404
    assert not post.reports.exists()


def test_the_facilitator_removes_a_member_who_then_cannot_read_or_rejoin(client, auth, clinic):
    circle = clinic["circle"]
    member = join_circle(circle, clinic["mine"], "Sky", trusted=True)
    make_post(circle, clinic["facilitator"], f"Welcome {SECRET}")
    auth.login(clinic["facilitator"])
    response = post_form(
        client, f"/staff/circles/{circle.id}/members/{member.id}/remove", page=f"/staff/circles/{circle.id}"
    )
    assert response.status_code == 302
    auth.logout()
    auth.login(clinic["mine"])
    status, html = page(client, f"/circles/{circle.id}")
    assert SECRET not in html and "taken you out of this circle" in html
    response = post_form(client, f"/circles/{circle.id}/join", {"display_name": "Sky"}, page="/more")
    assert response.status_code == 422 and "taken you out" in response.get_data(as_text=True)
    assert post_form(client, f"/circles/{circle.id}/posts", {"body": "Let me in"}, page="/more").status_code == 404


# --------------------------------------------------------------------------- crisis words (CLIN-04)


def test_crisis_words_hold_the_post_show_help_and_alert_the_authors_clinician_once(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["theirs"], "JB", trusted=True)  # Sam's patient; Dana facilitates
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    auth.login(clinic["theirs"])
    words = "Some nights I want to kill myself and I do not know who to tell."
    response = post_form(client, f"/circles/{circle.id}/posts", {"body": words}, page=f"/circles/{circle.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/support")
    post = CirclePost.get(CirclePost.author == clinic["theirs"])
    assert post.status == "held"
    [alert] = SafetyAlert.select()
    assert (alert.patient_id, alert.subject, alert.reason) == (
        clinic["theirs"].id,
        f"post:{post.id}",
        "crisis_language",
    )
    # The same form again (a double tap) raises nothing more.
    data = {"body": words, "client_id": post.client_id}
    assert post_form(client, f"/circles/{circle.id}/posts", data, page=f"/circles/{circle.id}").status_code == 302
    assert SafetyAlert.select().count() == 1 and CirclePost.select().count() == 1
    # The author sees it, marked held.
    assert "only you and your clinician can see this" in page(client, f"/circles/{circle.id}")[1]
    auth.logout()

    # Their own clinician reads it with the alert, on the record.
    auth.login(clinic["other"])
    html = page(client, f"/clinician/patients/{clinic['theirs'].id}")[1]
    assert "who to tell" in html and "held, so nobody in the circle saw it" in html
    auth.logout()
    # The facilitator sees that one is held, not its words; another member sees nothing of it.
    auth.login(clinic["facilitator"])
    html = page(client, f"/staff/circles/{circle.id}")[1]
    assert "who to tell" not in html and "held for safety" in html
    auth.logout()
    auth.login(clinic["mine"])
    html = page(client, f"/circles/{circle.id}")[1]
    assert "who to tell" not in html


# --------------------------------------------------------------------------- who reads the board (AC-01/AC-02)

READERS = ["member", "non_member", "facilitator", "other_clinician", "admin"]
# (reader, patient page, staff page sees the board, may post)
BOARD_VISIBILITY = [
    ("member", 200, None, True),
    ("non_member", 200, None, False),
    ("facilitator", None, True, True),
    ("other_clinician", None, False, False),
    ("admin", None, False, False),
]


@pytest.mark.parametrize(("reader", "patient_page", "staff_board", "may_post"), BOARD_VISIBILITY)
def test_who_reads_and_writes_on_a_board(client, auth, clinic, reader, patient_page, staff_board, may_post):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    make_post(circle, clinic["mine"], f"Only for the circle: {SECRET}")
    waiting_author = make_patient(clinic["facilitator"])
    join_circle(circle, waiting_author, "Newcomer")
    make_post(circle, waiting_author, "A first post, waiting")
    people = {
        "member": clinic["mine"],
        "non_member": clinic["outsider"],
        "facilitator": clinic["facilitator"],
        "other_clinician": clinic["other"],
        "admin": clinic["admin"],
    }
    auth.login(people[reader])
    status, html = page(client, f"/circles/{circle.id}")
    if patient_page is None:
        assert status == 403  # staff use the staff page
    else:
        assert status == patient_page
        assert (SECRET in html) is (reader == "member")
        assert "A first post, waiting" not in html  # another's waiting post
    status, html = page(client, f"/staff/circles/{circle.id}")
    if staff_board is None:
        assert status == 403
    else:
        assert status == 200
        assert (SECRET in html) is staff_board
        assert ("A first post, waiting" in html) is staff_board
        assert ("Newcomer" in html) is staff_board  # who is in it: the facilitator's
    before = CirclePost.select().count()
    response = post_form(client, f"/circles/{circle.id}/posts", {"body": "Hello"}, page="/account")
    assert (response.status_code == 302) is may_post
    if not may_post:
        assert response.status_code == 404
    assert CirclePost.select().count() == before + (1 if may_post else 0)


def test_other_clinicians_see_attendance_and_their_own_patients_only(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky")
    join_circle(circle, clinic["theirs"], "JB")
    past = make_past_meeting(circle)
    auth.login(clinic["facilitator"])
    response = post_form(
        client,
        f"/staff/circles/meetings/{past.id}/attendance",
        {"came": [str(clinic["theirs"].id)]},
        page=f"/staff/circles/{circle.id}",
    )
    assert response.status_code == 302
    auth.logout()

    auth.login(clinic["other"])
    html = page(client, f"/staff/circles/{circle.id}")[1]
    assert "1 of 2 came" in html and "Jordan Blake: came" in html
    assert "Maya Chen" not in html and "Sky" not in html
    record = page(client, f"/clinician/patients/{clinic['theirs'].id}")[1]
    assert "Thursday circle" in record and "came to 1 of 1 meeting marked" in record
    # Only the facilitator marks attendance.
    response = post_form(client, f"/staff/circles/meetings/{past.id}/attendance", {"came": []}, page="/staff/circles")
    assert response.status_code == 404


def test_nothing_from_a_board_reaches_the_record_the_timeline_or_the_care_teams_export(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    make_post(circle, clinic["mine"], f"On the board: {SECRET}")
    auth.login(clinic["mine"])
    for path in ("/home", "/journal", "/history"):
        assert SECRET not in page(client, path)[1], path
    auth.logout()
    auth.login(clinic["facilitator"])  # Maya's own clinician as well as the facilitator
    assert SECRET not in page(client, f"/clinician/patients/{clinic['mine'].id}")[1]
    with client.get(f"/clinician/patients/{clinic['mine'].id}/self-reports.csv") as response:
        assert response.status_code == 200 and SECRET not in response.get_data(as_text=True)


# --------------------------------------------------------------------------- the patient's own data


def test_the_export_holds_the_patients_circles_posts_and_attendance_and_not_others_posts(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    join_circle(circle, clinic["theirs"], "JB", trusted=True)
    make_post(circle, clinic["mine"], "My own words")
    make_post(circle, clinic["theirs"], "Someone else's words")
    past = make_past_meeting(circle)
    organise.mark_attendance(past, [str(clinic["mine"].id)], by=clinic["facilitator"])
    auth.login(clinic["mine"])
    with client.get("/my-data/export.zip") as response:
        archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    data = json.loads(archive.read("aftercare-export.json"))["circles"]
    assert [(m["circle"], m["display_name"], m["status"]) for m in data["memberships"]] == [
        ("Thursday circle", "Sky", "member")
    ]
    assert [p["body"] for p in data["posts"]] == ["My own words"]
    assert [a["attended"] for a in data["attendance"]] == [True]
    assert "My own words" in archive.read("circle_posts.csv").decode("utf-8-sig")
    assert b"Someone else's words" not in b"".join(archive.read(n) for n in archive.namelist())


def test_closing_the_account_removes_posts_and_memberships(client, auth, clinic):
    circle = clinic["circle"]
    join_circle(circle, clinic["mine"], "Sky", trusted=True)
    join_circle(circle, clinic["theirs"], "JB", trusted=True)
    top, _ = make_post(circle, clinic["mine"], f"Words to go: {SECRET}")
    make_post(circle, clinic["theirs"], "A reply that stays", parent=top)
    auth.login(clinic["mine"])
    response = post_form(client, "/my-data/close", {"password": "gentle harbor lantern"}, page="/my-data")
    assert response.status_code == 302
    assert CirclePost.get_by_id(top.id).status == "removed" and CirclePost.get_by_id(top.id).body == ""
    assert not CircleMember.select().where(CircleMember.patient == clinic["mine"]).exists()
    assert not Reminder.select().where(Reminder.user == clinic["mine"], Reminder.status == "planned").exists()

    auth.login(clinic["theirs"])
    html = page(client, f"/circles/{circle.id}")[1]
    assert SECRET not in html and "Removed." in html and "A reply that stays" in html


def test_the_worker_sends_a_circle_reminder_generic_on_the_lock_screen_and_full_in_the_app(clinic, receiver, push_app):
    circle, meeting = clinic["circle"], clinic["meeting"]
    answered = clinic["mine"]  # questionnaires answered, so only the circle's reminder falls due
    make_checkin(answered, "phq9", [1] * 9)
    make_checkin(answered, "gad7", [1] * 7)
    join_circle(circle, answered, "Sky")
    make_device(answered, receiver=receiver)
    moment = meeting.starts_at - dt.timedelta(minutes=59)
    with push_app.app_context():
        dispatcher = Dispatcher(clock=lambda: moment, threads=1)
        try:
            dispatcher.run_once()
        finally:
            dispatcher.close()
    reminder = Reminder.get(Reminder.user == answered, Reminder.rule == "circle_1h")
    assert reminder.status == "sent" and "Thursday circle meets at" in reminder.text
    [message] = [
        m for m in receiver.wait_for(1) if m.json["notification"]["body"] == "A group you joined meets in an hour."
    ]
    assert message.json["notification"]["title"] == "aftercare"
    assert message.json["notification"]["navigate"].endswith(f"/circles/{circle.id}")
