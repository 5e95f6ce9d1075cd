"""A patient and the circles: which they may see, joining under a name of their choosing, and leaving.

A patient sees every open circle meant for all patients, those they were invited to, and those
they are in. Joining asks for a display name: the name the board shows, never their real name
unless they say so. The capacity is checked inside the join's transaction, so two patients
taking the last place at once cannot both have it.
"""

import datetime as dt
import re
import unicodedata

from peewee import fn
from peewee import IntegrityError

from ..db import db
from ..inputs import Invalid
from ..models import AuditEvent
from ..models import Circle
from ..models import CircleInvite
from ..models import CircleMember
from ..models import EVERY_PATIENT
from ..models import LEFT
from ..models import MEMBER
from ..models import REMOVED
from ..models import User
from ..models import utcnow
from ..reminders import planner

NAME_MIN, NAME_MAX = 2, 30
NAME_RE = re.compile(r"^[\w][\w .'\-]*$")

FULL = "This circle is full. The facilitator may open more places, or start another circle."
REMOVED_MESSAGE = "The facilitator has taken you out of this circle, so you cannot join it again."


def visible(patient: User):
    """Return the query for the open circles a patient may see: for everyone, invited, or already theirs."""
    invited = CircleInvite.select(CircleInvite.circle).where(CircleInvite.patient == patient)
    joined = CircleMember.select(CircleMember.circle).where(
        CircleMember.patient == patient, CircleMember.status == MEMBER
    )
    return Circle.select().where(
        Circle.closed_at.is_null(),
        (Circle.audience == EVERY_PATIENT) | Circle.id.in_(invited) | Circle.id.in_(joined),
    )


def membership(circle: Circle, patient: User) -> CircleMember | None:
    """Return the patient's membership row in a circle (in it, left or removed), or None."""
    return CircleMember.get_or_none(CircleMember.circle == circle, CircleMember.patient == patient)


def is_member(circle: Circle, patient: User) -> bool:
    row = membership(circle, patient)
    return row is not None and row.status == MEMBER


def count(circle: Circle) -> int:
    return CircleMember.select().where(CircleMember.circle == circle, CircleMember.status == MEMBER).count()


def counts(circles) -> dict[int, int]:
    """Return how many are in each circle, for a list of them, in one query."""
    ids = [circle.id for circle in circles]
    if not ids:
        return {}
    rows = (
        CircleMember.select(CircleMember.circle, fn.COUNT(CircleMember.id))
        .where(CircleMember.circle.in_(ids), CircleMember.status == MEMBER)
        .group_by(CircleMember.circle)
        .tuples()
    )
    return dict(rows)


def name_key(name: str) -> str:
    """Fold a display name so that "Sky", "sky" and "S k y" are one name on a board."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())[:NAME_MAX]


def _real_names(patient: User) -> set[str]:
    parts = patient.name.split()
    return {name_key(patient.name), *(name_key(part) for part in parts if len(part) > 1)} - {""}


def check_name(patient: User, value, *, real_name_ok: bool) -> str:
    """Return the display name to show, or raise Invalid saying what to change."""
    name = " ".join(str(value or "").split())
    if not NAME_MIN <= len(name) <= NAME_MAX or len(name_key(name)) < NAME_MIN:
        raise Invalid({"display_name": f"Choose a name of {NAME_MIN} to {NAME_MAX} letters or numbers."})
    if not NAME_RE.match(name):
        raise Invalid({"display_name": "Use letters, numbers, spaces, and . ' - _ only."})
    if name_key(name) in _real_names(patient) and not real_name_ok:
        raise Invalid(
            {
                "display_name": "This is your own name, and everyone in the circle would see it. "
                "Tick the box below if that is what you want, or choose another name."
            }
        )
    return name


def join(circle: Circle, patient: User, display_name, *, real_name_ok: bool = False) -> CircleMember:
    """Join a circle the patient may see; raise Invalid if it is full, the name is taken, or they were removed."""
    name = check_name(patient, display_name, real_name_ok=real_name_ok)
    now = utcnow()
    try:
        with db.atomic():
            # Take the write lock before counting (PostgreSQL: lock the circle's row), so two
            # patients cannot both take the last place.
            Circle.select().where(Circle.id == circle.id).for_update(db.for_update).execute()
            existing = membership(circle, patient)
            if existing is not None and existing.status == MEMBER:
                return existing
            if existing is not None and existing.status == REMOVED:
                raise Invalid({"circle": REMOVED_MESSAGE})
            if count(circle) >= circle.capacity:
                raise Invalid({"circle": FULL})
            fields = {"display_name": name, "name_key": name_key(name), "status": MEMBER, "changed_at": now}
            if existing is None:
                member = CircleMember.create(circle=circle, patient=patient, joined_at=now, **fields)
            else:
                CircleMember.update(joined_at=now, **fields).where(CircleMember.id == existing.id).execute()
                member = CircleMember.get_by_id(existing.id)
            planner.plan(patient, now)
            AuditEvent.record("circle_joined", actor=patient, patient=patient, detail=f"circle {circle.id}")
    except IntegrityError:
        raise Invalid({"display_name": "Someone in this circle already goes by that name. Choose another."}) from None
    return member


def leave(member: CircleMember, *, now: dt.datetime | None = None) -> None:
    """Leave a circle: its reminders stop; what was written on its board stays under the display name."""
    now = now or utcnow()
    with db.atomic():
        CircleMember.update(status=LEFT, changed_at=now).where(
            CircleMember.id == member.id, CircleMember.status == MEMBER
        ).execute()
        planner.plan(member.patient, now)
        AuditEvent.record(
            "circle_left", actor=member.patient, patient=member.patient, detail=f"circle {member.circle_id}"
        )


def mine(patient: User):
    """Return the query for the patient's current memberships, with their circles."""
    return (
        CircleMember.select(CircleMember, Circle)
        .join(Circle)
        .where(CircleMember.patient == patient, CircleMember.status == MEMBER, Circle.closed_at.is_null())
        .order_by(Circle.title)
    )
