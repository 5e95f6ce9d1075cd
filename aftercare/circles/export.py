"""The circles' part of the patient's export (PRIV-01): their circles, attendance and their own posts.

Only what the patient wrote or did: other members' posts belong to them and are not exported.
"""

from ..exports import csv_columns
from ..exports import iso
from ..exports import local_iso
from ..exports import Section
from ..models import Circle
from ..models import CircleAttendance
from ..models import CircleMeeting
from ..models import CircleMember
from ..models import CirclePost
from ..models import User

README = (
    "circles: the integration circles you joined (the name you used there, when you joined, whether you\n"
    "are still in them) and whether you were marked as there at each meeting.\n"
    "circles.posts (circle_posts.csv): everything you posted on a circle's board, with whether it was on\n"
    "the board, waiting for the facilitator, held, hidden or removed."
)


def circles_section(patient: User) -> Section:
    zone = patient.timezone
    memberships = [
        {
            "circle": member.circle.title,
            "display_name": member.display_name,
            "status": member.status,
            "joined_at": iso(member.joined_at),
            "changed_at": iso(member.changed_at),
        }
        for member in CircleMember.select(CircleMember, Circle)
        .join(Circle)
        .where(CircleMember.patient == patient)
        .order_by(CircleMember.joined_at)
    ]
    attendance = [
        {
            "circle": row.meeting.circle.title,
            "meeting_at": iso(row.meeting.starts_at),
            "meeting_at_local": local_iso(row.meeting.starts_at, zone),
            "attended": row.attended,
        }
        for row in CircleAttendance.select(CircleAttendance, CircleMeeting)
        .join(CircleMeeting)
        .where(CircleAttendance.patient == patient)
        .order_by(CircleMeeting.starts_at)
    ]
    posts = [
        {
            "circle": post.circle.title,
            "posted_at": iso(post.created_at),
            "posted_at_local": local_iso(post.created_at, zone),
            "name": post.name,
            "reply": post.parent_id is not None,
            "status": post.status,
            "body": post.body,
        }
        for post in CirclePost.select(CirclePost, Circle)
        .join(Circle)
        .where(CirclePost.author == patient)
        .order_by(CirclePost.created_at, CirclePost.id)
    ]
    return Section(
        "circles",
        {"memberships": memberships, "attendance": attendance, "posts": posts},
        README,
        csv_name="circle_posts.csv",
        columns=csv_columns("posted_at_utc=posted_at posted_at_local circle name reply status post=body"),
        csv_records=posts,
    )
