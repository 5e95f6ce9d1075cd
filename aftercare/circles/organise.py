"""Running a circle (staff): its details, its meetings, who is invited, who came, and removing a member.

Any clinician or administrator may start a circle and names its facilitator (a clinician). From
then on the facilitator and administrators change its details and meetings; the facilitator alone
marks attendance, removes members and moderates the board (board.py). Every change is one
transaction with its audit row, the members' reminders planned again and, for a meeting moved or
cancelled, a message to each member.
"""

import datetime as dt
import re

from ..db import db
from ..inputs import clean_text
from ..inputs import Invalid
from ..inputs import parse_int
from ..journey.scheduling import clinic_zone
from ..localtime import to_local
from ..localtime import to_utc
from ..models import ADMIN
from ..models import AuditEvent
from ..models import Circle
from ..models import CIRCLE_AUDIENCES
from ..models import CIRCLE_MODES
from ..models import CircleAttendance
from ..models import CircleInvite
from ..models import CircleMeeting
from ..models import CircleMember
from ..models import CLINICIAN
from ..models import IN_PERSON
from ..models import MEETING_CANCELLED
from ..models import MEETING_SCHEDULED
from ..models import MEMBER
from ..models import ONLINE
from ..models import PATIENT
from ..models import REMOVED
from ..models import User
from ..models import utcnow
from ..reminders import messages
from ..reminders import planner

TITLE_MAX, DESCRIPTION_MAX, PLACE_MAX, LINK_MAX = 120, 4000, 200, 500
CAPACITY_MIN, CAPACITY_MAX = 2, 200
MINUTES_MIN, MINUTES_MAX = 15, 480
MAX_DAYS_AHEAD = 730
LINK_RE = re.compile(r"^https://[^\s/?#]+\.[^\s/?#]+(?:[/?#]\S*)?$")


# --------------------------------------------------------------------------- who may do what


def may_run(user: User, circle: Circle) -> bool:
    """Tell whether a staff member may change a circle's details and meetings: its facilitator or an administrator."""
    return user.role == ADMIN or (user.role == CLINICIAN and circle.facilitator_id == user.id)


def is_facilitator(user: User, circle: Circle) -> bool:
    return user.role == CLINICIAN and circle.facilitator_id == user.id


def facilitators():
    """Return the query for the clinicians who may lead a circle."""
    return User.select().where(User.role == CLINICIAN, User.active == True).order_by(User.name)  # noqa: E712


# --------------------------------------------------------------------------- a circle's details


def _details(data) -> dict:
    """Read a circle's details from a form; raise Invalid naming every problem."""
    problems = {}
    title = " ".join(str(data.get("title") or "").split())
    description = clean_text(str(data.get("description") or ""))
    mode = data.get("mode")
    place = " ".join(str(data.get("place") or "").split())
    link = str(data.get("link") or "").strip()
    audience = data.get("audience") or ""
    if not title:
        problems["title"] = "Give the circle a name."
    elif len(title) > TITLE_MAX:
        problems["title"] = f"Keep the name under {TITLE_MAX} characters."
    if len(description) > DESCRIPTION_MAX:
        problems["description"] = (
            f"Keep the description under {DESCRIPTION_MAX:,} characters; it has {len(description):,}."
        )
    if mode not in CIRCLE_MODES:
        problems["mode"] = "Choose in person or online."
    elif mode == IN_PERSON and not place:
        problems["place"] = "Say where the circle meets: the room and the address."
    elif mode == ONLINE and not LINK_RE.match(link):
        problems["link"] = "Paste the meeting link, starting https:// (members see it, nobody else)."
    if len(place) > PLACE_MAX:
        problems["place"] = f"Keep the place under {PLACE_MAX} characters."
    if len(link) > LINK_MAX:
        problems["link"] = f"Keep the link under {LINK_MAX} characters."
    capacity = parse_int(data.get("capacity"), CAPACITY_MIN, CAPACITY_MAX)
    if capacity is None:
        problems["capacity"] = f"Enter how many people may join: a whole number from {CAPACITY_MIN} to {CAPACITY_MAX}."
    if audience not in CIRCLE_AUDIENCES:
        problems["audience"] = "Choose who may see the circle."
    facilitator_id = parse_int(data.get("facilitator"), 1, 2**31 - 1)
    facilitator = facilitators().where(User.id == facilitator_id).first() if facilitator_id else None
    if facilitator is None:
        problems["facilitator"] = "Choose the clinician who leads the circle."
    if problems:
        raise Invalid(problems)
    return {
        "title": title,
        "description": description,
        "mode": mode,
        "place": place if mode == IN_PERSON else "",
        "link": link if mode == ONLINE else "",
        "capacity": capacity,
        "audience": audience,
        "facilitator": facilitator,
    }


def create(data, *, by: User) -> Circle:
    """Start a circle from a form's details; raise Invalid with nothing stored if they do not hold."""
    fields = _details(data)
    with db.atomic():
        circle = Circle.create(created_by=by, **fields)
        AuditEvent.record("circle_changed", actor=by, detail=f"circle {circle.id} started")
    return circle


def change(circle: Circle, data, *, by: User) -> Circle:
    """Change a circle's details; a smaller capacity never removes anyone already in it."""
    fields = _details(data)
    with db.atomic():
        Circle.update(updated_at=utcnow(), **fields).where(Circle.id == circle.id).execute()
        AuditEvent.record("circle_changed", actor=by, detail=f"circle {circle.id} changed")
    return Circle.get_by_id(circle.id)


def close(circle: Circle, *, by: User) -> None:
    """Stop running a circle: its coming meetings are cancelled (members told) and it leaves every list."""
    now = utcnow()
    with db.atomic():
        for meeting in upcoming(circle, now):
            _cancel(meeting, now)
        Circle.update(closed_at=now, updated_at=now).where(Circle.id == circle.id).execute()
        _plan_members(circle, now)
        AuditEvent.record("circle_changed", actor=by, detail=f"circle {circle.id} closed")


# --------------------------------------------------------------------------- meetings


def _when(data, now: dt.datetime) -> tuple[dt.datetime, str, int]:
    """Read a meeting's date, time (the clinic's wall clock) and length; return (UTC start, zone, minutes)."""
    problems = {}
    zone = clinic_zone()
    wall = None
    try:
        day = dt.date.fromisoformat(str(data.get("date") or "").strip())
        if not 2000 <= day.year <= 2999:
            raise ValueError
    except ValueError:
        problems["date"] = "Enter the date as year-month-day, for example 2026-12-03."
        day = None
    try:
        time = dt.time.fromisoformat(str(data.get("time") or "").strip())
    except ValueError:
        problems["time"] = "Enter the start time on a 24-hour clock, for example 18:30."
        time = None
    minutes = parse_int(data.get("minutes"), MINUTES_MIN, MINUTES_MAX)
    if minutes is None:
        problems["minutes"] = f"Enter the length in minutes, from {MINUTES_MIN} to {MINUTES_MAX}."
    if day and time:
        wall = dt.datetime.combine(day, time.replace(second=0, microsecond=0, tzinfo=None))
        starts_at = to_utc(wall, zone)
        if starts_at <= now:
            problems["date"] = "That time has passed. Choose a time from now on."
        elif starts_at > now + dt.timedelta(days=MAX_DAYS_AHEAD):
            problems["date"] = "That is more than two years ahead. Check the year."
    if problems:
        raise Invalid(problems)
    return starts_at, zone, minutes


def add_meeting(circle: Circle, data, *, by: User, now: dt.datetime | None = None) -> CircleMeeting:
    """Add a meeting; the members' reminders are planned for it in the same transaction."""
    now = now or utcnow()
    starts_at, zone, minutes = _when(data, now)
    with db.atomic():
        meeting = CircleMeeting.create(circle=circle, starts_at=starts_at, zone=zone, minutes=minutes)
        _plan_members(circle, now)
        AuditEvent.record("circle_changed", actor=by, detail=f"circle {circle.id} meeting {meeting.id} added")
    return meeting


def move_meeting(meeting: CircleMeeting, data, *, by: User, now: dt.datetime | None = None) -> CircleMeeting:
    """Move a coming meeting; each member is told and their reminders follow it."""
    now = now or utcnow()
    if meeting.status != MEETING_SCHEDULED or meeting.starts_at <= now:
        raise Invalid({"date": "This meeting is past or cancelled; it can no longer be moved."})
    starts_at, zone, minutes = _when(data, now)
    moved = starts_at != meeting.starts_at
    with db.atomic():
        CircleMeeting.update(starts_at=starts_at, zone=zone, minutes=minutes, updated_at=now).where(
            CircleMeeting.id == meeting.id
        ).execute()
        meeting = CircleMeeting.get_by_id(meeting.id)
        if moved:
            _tell_members(meeting, "moved", now)
        _plan_members(meeting.circle, now)
        AuditEvent.record("circle_changed", actor=by, detail=f"circle {meeting.circle_id} meeting {meeting.id} moved")
    return meeting


def cancel_meeting(meeting: CircleMeeting, *, by: User, now: dt.datetime | None = None) -> None:
    """Cancel a coming meeting; each member is told and its reminders are withdrawn."""
    now = now or utcnow()
    if meeting.status != MEETING_SCHEDULED or meeting.starts_at <= now:
        raise Invalid({"meeting": "This meeting is past or cancelled already."})
    with db.atomic():
        _cancel(meeting, now)
        _plan_members(meeting.circle, now)
        AuditEvent.record(
            "circle_changed", actor=by, detail=f"circle {meeting.circle_id} meeting {meeting.id} cancelled"
        )


def _cancel(meeting: CircleMeeting, now: dt.datetime) -> None:
    CircleMeeting.update(status=MEETING_CANCELLED, updated_at=now).where(CircleMeeting.id == meeting.id).execute()
    _tell_members(CircleMeeting.get_by_id(meeting.id), "cancelled", now)


def _tell_members(meeting: CircleMeeting, change: str, now: dt.datetime) -> None:
    for member in members(meeting.circle):
        messages.circle_changed(meeting, member.patient, change, now)


def _plan_members(circle: Circle, now: dt.datetime) -> None:
    for member in members(circle):
        planner.plan(member.patient, now)


def upcoming(circle: Circle, now: dt.datetime | None = None):
    """Return the query for a circle's meetings still to come (cancelled ones included, to say so)."""
    now = now or utcnow()
    return (
        CircleMeeting.select()
        .where(CircleMeeting.circle == circle, CircleMeeting.starts_at > now - dt.timedelta(hours=3))
        .order_by(CircleMeeting.starts_at)
    )


def past(circle: Circle, now: dt.datetime | None = None):
    """Return the query for a circle's meetings that have begun, newest first (attendance is marked on these)."""
    now = now or utcnow()
    return (
        CircleMeeting.select()
        .where(
            CircleMeeting.circle == circle,
            CircleMeeting.starts_at <= now,
            CircleMeeting.status == MEETING_SCHEDULED,
        )
        .order_by(CircleMeeting.starts_at.desc())
    )


def next_meeting(circle: Circle, now: dt.datetime | None = None) -> CircleMeeting | None:
    now = now or utcnow()
    return (
        CircleMeeting.select()
        .where(
            CircleMeeting.circle == circle,
            CircleMeeting.status == MEETING_SCHEDULED,
            CircleMeeting.starts_at > now,
        )
        .order_by(CircleMeeting.starts_at)
        .first()
    )


def wall_time(meeting: CircleMeeting, zone: str | None = None) -> dt.datetime:
    """A meeting's start on a clock: the given zone's (a patient's), else the zone it was entered in."""
    return to_local(meeting.starts_at, zone or meeting.zone)


# --------------------------------------------------------------------------- members, invites, attendance


def members(circle: Circle):
    """Return the query for the circle's current members, with their accounts, in the order they joined."""
    return (
        CircleMember.select(CircleMember, User)
        .join(User, on=CircleMember.patient)
        .where(CircleMember.circle == circle, CircleMember.status == MEMBER)
        .order_by(CircleMember.joined_at, CircleMember.id)
    )


def invitable(by: User):
    """Return the query for the patients a staff member may invite: a clinician's own, or any for an administrator."""
    if by.role == CLINICIAN:
        return by.patients().order_by(User.name)
    return User.select().where(User.role == PATIENT, User.active == True).order_by(User.name)  # noqa: E712


def invite(circle: Circle, patient_ids, *, by: User) -> int:
    """Invite patients to a circle (ids the staff member may invite; others are ignored); return how many are new."""
    wanted = {parse_int(value, 1, 2**31 - 1) for value in patient_ids} - {None}
    if not wanted:
        raise Invalid({"patients": "Choose at least one patient to invite."})
    patients = list(invitable(by).where(User.id.in_(wanted)))
    if not patients:
        raise Invalid({"patients": "Choose at least one patient to invite."})
    with db.atomic():
        added = (
            CircleInvite.insert_many([{"circle": circle.id, "patient": p.id, "invited_by": by.id} for p in patients])
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
        AuditEvent.record_many("circle_invited", actor=by, patients=patients, detail=f"circle {circle.id}")
    return added


def mark_attendance(meeting: CircleMeeting, came_ids, *, by: User) -> int:
    """Record who came to a meeting that has begun: every current member, ticked or not; return how many came."""
    if meeting.starts_at > utcnow():
        raise Invalid({"attendance": "Attendance can be marked once the meeting has begun."})
    came = {parse_int(value, 1, 2**31 - 1) for value in came_ids} - {None}
    people = [member.patient for member in members(meeting.circle)]
    now = utcnow()
    with db.atomic():
        for patient in people:
            CircleAttendance.insert(
                meeting=meeting, patient=patient, attended=patient.id in came, marked_by=by, marked_at=now
            ).on_conflict(
                conflict_target=[CircleAttendance.meeting, CircleAttendance.patient],
                update={
                    CircleAttendance.attended: patient.id in came,
                    CircleAttendance.marked_by: by.id,
                    CircleAttendance.marked_at: now,
                },
            ).execute()
        AuditEvent.record_many("circle_attendance", actor=by, patients=people, detail=f"meeting {meeting.id}")
    return sum(1 for patient in people if patient.id in came)


def attendance_of(meeting: CircleMeeting) -> dict[int, bool]:
    """Return who was marked at a meeting: patient id -> came."""
    return {row.patient_id: row.attended for row in meeting.attendance}


def remove_member(member: CircleMember, *, by: User) -> None:
    """Take a member out of a circle: they no longer see its board and cannot join again."""
    now = utcnow()
    with db.atomic():
        CircleMember.update(status=REMOVED, removed_by=by, changed_at=now).where(CircleMember.id == member.id).execute()
        planner.plan(member.patient, now)
        AuditEvent.record(
            "circle_member_removed", actor=by, patient=member.patient, detail=f"circle {member.circle_id}"
        )


def attendance_for(patient: User) -> list[dict]:
    """A patient's circles as their clinician sees them: the circle, and how many marked meetings they came to."""
    result = []
    rows = (
        CircleMember.select(CircleMember, Circle)
        .join(Circle)
        .where(CircleMember.patient == patient, CircleMember.status == MEMBER, Circle.closed_at.is_null())
        .order_by(Circle.title)
    )
    for member in rows:
        marks = list(
            CircleAttendance.select(CircleAttendance.attended)
            .join(CircleMeeting)
            .where(CircleAttendance.patient == patient, CircleMeeting.circle == member.circle_id)
        )
        result.append(
            {
                "circle": member.circle,
                "joined_at": member.joined_at,
                "came": sum(1 for mark in marks if mark.attended),
                "marked": len(marks),
                "next": next_meeting(member.circle),
            }
        )
    return result
