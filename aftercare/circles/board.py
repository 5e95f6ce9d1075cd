"""A circle's board: posts and replies under display names, kept safe by its facilitator.

Who reads what (the rule tests/test_circles.py checks as a table):

- a member reads the posts on the board, and their own posts that wait or are held;
- the facilitator reads everything on the board and what waits for them; of a post held for
  crisis words they see only that one is held: its words go to the author's own clinician, with
  the safety alert (CLIN-04), and nowhere else;
- anyone else (a patient not in the circle, another clinician, an administrator) reads nothing
  of it: their pages answer 404 (AC-02), and a clinician sees only attendance.

A new member's posts wait for the facilitator until one is approved. Nothing written here is
part of the patient's clinical record, timeline or the care team's export.
"""

import uuid
from dataclasses import dataclass
from dataclasses import field

from peewee import IntegrityError

from .. import alerts
from ..db import db
from ..inputs import clean_text
from ..inputs import client_id as parse_client_id
from ..inputs import Invalid
from ..inputs import parse_int
from ..models import AuditEvent
from ..models import Circle
from ..models import CircleAttendance
from ..models import CircleInvite
from ..models import CircleMember
from ..models import CirclePost
from ..models import HELD
from ..models import HIDDEN
from ..models import PATIENT
from ..models import PostReport
from ..models import SafetyAlert
from ..models import SHOWN
from ..models import User
from ..models import utcnow
from ..models import WAITING
from ..models import WITHDRAWN
from ..safety import has_crisis_language
from . import membership
from . import organise

POST_MAX = 4000  # IN-01
REASON_MAX = 300
ALERT_DETAIL = "Crisis words in a post on an integration circle's board (held, not shown to the circle)"
POST_SUBJECT = "post"


class NotYours(LookupError):
    """The viewer may not do this to this post: the view answers 404 (AC-02)."""


# --------------------------------------------------------------------------- who may read and write


def reader(circle: Circle, user: User) -> str | None:
    """Return how a user reads a circle's board: "member", "facilitator", or None (not at all)."""
    if user.role == PATIENT:
        return "member" if membership.is_member(circle, user) else None
    return "facilitator" if organise.is_facilitator(user, circle) else None


# --------------------------------------------------------------------------- what a reader sees


@dataclass
class Thread:
    post: CirclePost
    replies: list[CirclePost] = field(default_factory=list)


def _visible(post: CirclePost, user: User, role: str) -> bool:
    if post.status == SHOWN or post.author_id == user.id:
        return True
    if role == "facilitator":
        return True  # waiting and hidden in full; held as a line without its words (the template)
    return post.status in (HIDDEN, WITHDRAWN)  # as a line saying so, where replies hang from it


def threads(circle: Circle, user: User, role: str) -> list[Thread]:
    """Return the board as a reader sees it: newest threads first, replies oldest first."""
    posts = [
        post
        for post in CirclePost.select()
        .where(CirclePost.circle == circle)
        .order_by(CirclePost.created_at, CirclePost.id)
        if _visible(post, user, role)
    ]
    by_id = {post.id: Thread(post) for post in posts if post.parent_id is None}
    for post in posts:
        if post.parent_id is not None and post.parent_id in by_id:
            by_id[post.parent_id].replies.append(post)
    shown = [
        thread
        for thread in by_id.values()
        # A hidden or removed post with nothing under it is not worth a line.
        if thread.replies or thread.post.status not in (HIDDEN, WITHDRAWN) or role == "facilitator"
    ]
    return sorted(shown, key=lambda t: (t.post.created_at, t.post.id), reverse=True)


@dataclass(frozen=True)
class Queue:
    waiting: list[CirclePost]
    reported: list[tuple[CirclePost, list[PostReport]]]
    held: int

    @property
    def size(self) -> int:
        return len(self.waiting) + len(self.reported)


def queue(circle: Circle) -> Queue:
    """What waits for the facilitator: posts to approve, reports to look at, and how many are held."""
    waiting = list(
        CirclePost.select().where(CirclePost.circle == circle, CirclePost.status == WAITING).order_by(CirclePost.id)
    )
    open_reports: dict[int, list[PostReport]] = {}
    for report in (
        PostReport.select(PostReport, CirclePost)
        .join(CirclePost)
        .where(CirclePost.circle == circle, PostReport.resolved_at.is_null(), CirclePost.status == SHOWN)
        .order_by(PostReport.id)
    ):
        open_reports.setdefault(report.post_id, []).append(report)
    posts = {p.id: p for p in CirclePost.select().where(CirclePost.id.in_(list(open_reports)))} if open_reports else {}
    held = CirclePost.select().where(CirclePost.circle == circle, CirclePost.status == HELD).count()
    return Queue(waiting, [(posts[i], rows) for i, rows in open_reports.items()], held)


def queue_sizes(circles) -> dict[int, int]:
    """Return, per circle, how many posts wait for approval or have open reports (the facilitator's list)."""
    ids = [c.id for c in circles]
    if not ids:
        return {}
    sizes = dict.fromkeys(ids, 0)
    for post in CirclePost.select(CirclePost.circle).where(CirclePost.circle.in_(ids), CirclePost.status == WAITING):
        sizes[post.circle_id] += 1
    reported = (
        CirclePost.select(CirclePost.circle)
        .join(PostReport)
        .where(CirclePost.circle.in_(ids), CirclePost.status == SHOWN, PostReport.resolved_at.is_null())
        .distinct()
    )
    for post in reported:
        sizes[post.circle_id] += 1
    return sizes


# --------------------------------------------------------------------------- writing


def new_client_id() -> str:
    """A fresh id for a post form: the same form sent twice posts once."""
    return str(uuid.uuid4())


def _body(value) -> str:
    if not isinstance(value, str):
        raise Invalid({"body": "A post must be text."})
    length = len(value.replace("\r\n", "\n"))
    text = clean_text(value)
    if not text:
        raise Invalid({"body": "Write something first."})
    if length > POST_MAX:
        raise Invalid(
            {"body": f"Keep a post under {POST_MAX:,} characters; this one has {length:,}. Nothing was posted."}
        )
    return text


def _client_id(value) -> str:
    """The form's id, or a fresh one for a post without it (a script-less client that dropped it)."""
    if value in (None, ""):
        return new_client_id()
    try:
        return parse_client_id(value)
    except Invalid:
        raise Invalid({"body": "This form is out of date. Copy your words, reload the page and post again."}) from None


def _parent(circle: Circle, user: User, role: str, value) -> CirclePost | None:
    if value in (None, ""):
        return None
    post = CirclePost.get_or_none(CirclePost.id == (parse_int(value, 1, 2**31 - 1) or 0), CirclePost.circle == circle)
    if post is None or not _visible(post, user, role) or post.status not in (SHOWN,):
        raise Invalid({"body": "The post you replied to is no longer on the board."})
    # One level of replies: a reply to a reply joins the thread it is in.
    return CirclePost.get_by_id(post.parent_id) if post.parent_id else post


def write(circle: Circle, user: User, data) -> tuple[CirclePost, bool]:
    """Post to a circle's board, or reply; return (post, held for crisis words).

    A member's post waits for the facilitator until one of theirs has been approved; with crisis
    words it is held, and the author's clinicians get a safety alert in the same transaction.
    Sending the same form twice (its client id) posts once.
    """
    role = reader(circle, user)
    if role is None:
        raise NotYours
    if circle.closed_at is not None:
        raise Invalid({"body": "This circle has ended; its board can be read but not added to."})
    body = _body(data.get("body"))
    key = _client_id(data.get("client_id"))
    parent = _parent(circle, user, role, data.get("parent"))
    existing = CirclePost.get_or_none(CirclePost.author == user, CirclePost.client_id == key)
    if existing is not None:
        return existing, existing.status == HELD
    if role == "facilitator":
        name, status, crisis = user.name, SHOWN, False
    else:
        member = membership.membership(circle, user)
        name = member.display_name
        crisis = has_crisis_language(body)
        status = HELD if crisis else (SHOWN if member.trusted_at else WAITING)
    try:
        with db.atomic():
            post = CirclePost.create(
                circle=circle,
                author=user,
                name=name,
                by_facilitator=role == "facilitator",
                parent=parent,
                body=body,
                status=status,
                client_id=key,
            )
            if crisis:
                alerts.flag_writing(user, body, about=alerts.subject(POST_SUBJECT, post.id), detail=ALERT_DETAIL)
            AuditEvent.record(
                "circle_posted", actor=user, patient=user if role == "member" else None, detail=f"post {post.id}"
            )
    except IntegrityError:  # the same form, sent twice at once
        post = CirclePost.get(CirclePost.author == user, CirclePost.client_id == key)
    return post, post.status == HELD


def _own_or_facilitated(post_id: int, user: User) -> tuple[CirclePost, str]:
    post = CirclePost.get_or_none(CirclePost.id == post_id)
    if post is None:
        raise NotYours
    role = reader(post.circle, user)
    if role is None or not _visible(post, user, role):
        raise NotYours
    return post, role


def report(post_id: int, user: User, reason) -> bool:
    """A member asks the facilitator to look at a post; return False if they had already."""
    post, role = _own_or_facilitated(post_id, user)
    if role != "member" or post.status != SHOWN or post.author_id == user.id:
        raise NotYours
    reason = " ".join(str(reason or "").split())[:REASON_MAX]
    try:
        with db.atomic():
            PostReport.create(post=post, reporter=user, reason=reason)
            AuditEvent.record("circle_post_reported", actor=user, patient=user, detail=f"post {post.id}")
    except IntegrityError:
        return False
    return True


def withdraw(post_id: int, user: User) -> None:
    """The author takes their own post down: its words are deleted, a line says it was removed."""
    post, _ = _own_or_facilitated(post_id, user)
    if post.author_id != user.id or post.status in (HELD, WITHDRAWN):
        raise NotYours
    with db.atomic():
        CirclePost.update(status=WITHDRAWN, body="").where(CirclePost.id == post.id).execute()
        _resolve_reports(post, user)
        AuditEvent.record("circle_post_removed", actor=user, detail=f"post {post.id}")


def _facilitated(post_id: int, user: User) -> CirclePost:
    post, role = _own_or_facilitated(post_id, user)
    if role != "facilitator":
        raise NotYours
    return post


def approve(post_id: int, user: User) -> CirclePost:
    """Put a waiting (or hidden) post on the board; its author's later posts no longer wait."""
    post = _facilitated(post_id, user)
    if post.status not in (WAITING, HIDDEN):
        raise Invalid({"post": "This post is not waiting for you."})
    now = utcnow()
    with db.atomic():
        CirclePost.update(status=SHOWN, reviewed_by=user, reviewed_at=now).where(CirclePost.id == post.id).execute()
        CircleMember.update(trusted_at=now).where(
            CircleMember.circle == post.circle_id,
            CircleMember.patient == post.author_id,
            CircleMember.trusted_at.is_null(),
        ).execute()
        AuditEvent.record("circle_post_approved", actor=user, detail=f"post {post.id}")
    return post


def hide(post_id: int, user: User) -> None:
    """Take a post off the board (its reports are settled with it)."""
    post = _facilitated(post_id, user)
    if post.status not in (SHOWN, WAITING):
        raise Invalid({"post": "This post is not on the board."})
    with db.atomic():
        CirclePost.update(status=HIDDEN, reviewed_by=user, reviewed_at=utcnow()).where(
            CirclePost.id == post.id
        ).execute()
        _resolve_reports(post, user)
        AuditEvent.record("circle_post_hidden", actor=user, detail=f"post {post.id}")


def keep(post_id: int, user: User) -> None:
    """The facilitator read the reports and leaves the post up."""
    post = _facilitated(post_id, user)
    with db.atomic():
        _resolve_reports(post, user)
        AuditEvent.record("circle_post_kept", actor=user, detail=f"post {post.id}")


def _resolve_reports(post: CirclePost, user: User) -> None:
    PostReport.update(resolved_at=utcnow(), resolved_by=user).where(
        PostReport.post == post, PostReport.resolved_at.is_null()
    ).execute()


# --------------------------------------------------------------------------- the clinician's side of a held post


def held_posts(alert_list) -> dict[int, CirclePost]:
    """Return the held post behind each alert raised by one (alert id -> post), for the patient's record."""
    ids = {}
    for alert in alert_list:
        kind, _, row_id = alert.subject.partition(":")
        if kind == POST_SUBJECT and row_id.isdigit():
            ids[int(row_id)] = alert.id
    if not ids:
        return {}
    return {ids[post.id]: post for post in CirclePost.select().where(CirclePost.id.in_(list(ids)))}


def alert_for(post: CirclePost) -> SafetyAlert | None:
    return SafetyAlert.select().where(SafetyAlert.subject == alerts.subject(POST_SUBJECT, post.id)).first()


# --------------------------------------------------------------------------- an account closing


def forget(patient: User) -> None:
    """A patient closes their account (inside its transaction): posts shown as removed, memberships gone."""
    CirclePost.update(status=WITHDRAWN, body="").where(CirclePost.author == patient).execute()
    PostReport.delete().where(PostReport.reporter == patient).execute()
    CircleAttendance.delete().where(CircleAttendance.patient == patient).execute()
    CircleInvite.delete().where(CircleInvite.patient == patient).execute()
    CircleMember.delete().where(CircleMember.patient == patient).execute()
