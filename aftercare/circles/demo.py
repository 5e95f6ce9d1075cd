"""The demo clinic's circles: one in person for every patient, one online by invitation.

Weekly meetings (three past, attendance marked; four to come), members under names they chose,
a few posts and replies, and one new member's first post waiting for the facilitator.
Made once: a later run of `flask demo` finds the circles and leaves them as they are.
"""

import datetime as dt

from ..localtime import to_local
from ..localtime import to_utc
from ..models import Circle
from ..models import CircleAttendance
from ..models import CircleInvite
from ..models import CircleMeeting
from ..models import CircleMember
from ..models import CirclePost
from ..models import EVERY_PATIENT
from ..models import IN_PERSON
from ..models import INVITED_ONLY
from ..models import ONLINE
from ..models import SHOWN
from ..models import User
from ..models import WAITING
from .membership import name_key

WEEK = dt.timedelta(days=7)

CIRCLES = [
    {
        "title": "Thursday evening integration circle",
        "description": (
            "A small group for the weeks of your treatment. We sit together, share what came up "
            "in sessions and how daily life is going, and try a practice: a drawing, a walk, a "
            "few minutes of quiet.\n\nYou do not have to speak. Tea is on from 17:45."
        ),
        "facilitator": "dana",
        "mode": IN_PERSON,
        "place": "Garden room, 2nd floor, 14 Harbor Street",
        "link": "",
        "capacity": 10,
        "audience": EVERY_PATIENT,
        "weekday": 3,  # Thursday
        "at": dt.time(18, 0),
        "minutes": 90,
        # login, display name, trusted (a post of theirs was approved), invited
        "members": [("maya", "Sky", True), ("jordan", "JB", True), ("marcus", "M.", True), ("priya", "River", False)],
        "came": {"maya": (1, 1, 1), "jordan": (1, 0, 1), "marcus": (0, 1, 1), "priya": (0, 0, 1)},
        "posts": [
            # (days ago, login or staff login, text, replies [(hours later, login, text)])
            (
                9,
                "maya",
                "The drawing exercise last week stayed with me. I drew the same hill three times and "
                "only the third one had a path on it. Not sure what that means yet, but I liked it.",
                [
                    (5, "jordan", "I like that there was a path by the third one. Mine were all scribbles, honestly."),
                    (20, "dana", "Thank you for sharing this, Sky. Bring the drawings on Thursday if you like."),
                ],
            ),
            (
                4,
                "jordan",
                "Small win: I went for a walk at lunch every day this week. The first one was hard. By "
                "Friday I noticed the birds.",
                [(3, "marcus", "Noticing the birds is not small. Good week.")],
            ),
            (2, "dana", "Reminder for Thursday: we will try ten minutes of music and drawing. No skill needed.", []),
        ],
        "waiting": ("priya", "Hello everyone. I am new here and a bit nervous. Is it okay to just listen at first?"),
    },
    {
        "title": "Online Sunday circle",
        "description": (
            "An online circle for patients who live further away or find evenings hard. Cameras "
            "optional. We start with a short check-in round and end with one thing to carry into the week."
        ),
        "facilitator": "sam",
        "mode": ONLINE,
        "place": "",
        "link": "https://meet.example-clinic.org/aftercare-sunday-circle",
        "capacity": 8,
        "audience": INVITED_ONLY,
        "weekday": 6,  # Sunday
        "at": dt.time(11, 0),
        "minutes": 60,
        "members": [("hannah", "Hanna", True), ("ola", "Ola", True), ("grace", "Morning tea", True)],
        "invited": ["hannah", "ola", "grace", "elena"],
        "came": {"hannah": (1, 1, 1), "ola": (1, 1, 0), "grace": (0, 1, 1)},
        "posts": [
            (
                6,
                "ola",
                "Sunday mornings used to be the worst part of my week. Now I look forward to this. Thank you all.",
                [(2, "hannah", "Same here. See you on Sunday.")],
            ),
            (1, "sam", "This week: bring one photo or drawing of something that helped you. Anything at all.", []),
        ],
    },
]


def _weekly(spec: dict, zone: str, now: dt.datetime) -> list[dt.datetime]:
    """Three meetings before now and four after, on the circle's weekday and wall-clock time (UTC)."""
    day = to_local(now, zone).date()
    day += dt.timedelta(days=(spec["weekday"] - day.weekday()) % 7)
    if to_utc(dt.datetime.combine(day, spec["at"]), zone) <= now:
        day += WEEK  # this week's has begun
    days = [day + k * WEEK for k in range(-3, 4)]
    return [to_utc(dt.datetime.combine(d, spec["at"]), zone) for d in days]


def seed_demo_circles(users: dict[str, User], zone: str, now: dt.datetime) -> list[User]:
    """Make the demo circles (once); return the patients in them, whose reminders want planning."""
    members = []
    for spec in CIRCLES:
        circle, created = Circle.get_or_create(
            title=spec["title"],
            defaults={key: spec[key] for key in ("description", "mode", "place", "link", "capacity", "audience")}
            | {"facilitator": users[spec["facilitator"]], "created_by": users[spec["facilitator"]]},
        )
        members.extend(users[login] for login, _, _ in spec["members"])
        if not created:
            continue
        starts = _weekly(spec, zone, now)
        meetings = [
            CircleMeeting.create(circle=circle, starts_at=start, zone=zone, minutes=spec["minutes"]) for start in starts
        ]
        joined = now - dt.timedelta(days=30)
        for login in spec.get("invited", []):
            CircleInvite.create(circle=circle, patient=users[login], invited_by=users[spec["facilitator"]])
        for login, name, trusted in spec["members"]:
            CircleMember.create(
                circle=circle,
                patient=users[login],
                display_name=name,
                name_key=name_key(name),
                joined_at=joined,
                changed_at=joined,
                trusted_at=joined if trusted else None,
            )
        for login, marks in spec["came"].items():
            for meeting, came in zip(meetings[:3], marks, strict=True):
                CircleAttendance.create(
                    meeting=meeting,
                    patient=users[login],
                    attended=bool(came),
                    marked_by=users[spec["facilitator"]],
                    marked_at=meeting.ends_at,
                )
        names = {login: name for login, name, _ in spec["members"]}
        for days_ago, login, text, replies in spec["posts"]:
            at = now - dt.timedelta(days=days_ago)
            top = _post(circle, spec, users[login], names.get(login), text, at)
            for hours, reply_login, reply_text in replies:
                later = at + dt.timedelta(hours=hours)
                _post(circle, spec, users[reply_login], names.get(reply_login), reply_text, later, parent=top)
        if "waiting" in spec:
            login, text = spec["waiting"]
            _post(circle, spec, users[login], names[login], text, now - dt.timedelta(hours=5), status=WAITING)
    return members


def _post(circle, spec, author: User, name, text, at, parent=None, status=SHOWN) -> CirclePost:
    staff = name is None  # the facilitator writes under their own name
    return CirclePost.create(
        circle=circle,
        author=author,
        name=author.name if staff else name,
        by_facilitator=staff,
        parent=parent,
        body=text,
        status=status,
        client_id=f"demo-{circle.id}-{at:%Y%m%d%H%M}-{author.id}",
        created_at=at,
    )
