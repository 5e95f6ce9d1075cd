"""The clinic's practice library: adding, changing and reordering practices, each with its audit row."""

from peewee import fn

from ..db import db
from ..models import AuditEvent
from ..models import Practice
from ..models import User


def add(*, by: User, **fields) -> Practice:
    """Add a practice at the end of the library."""
    with db.atomic():
        last = Practice.select(fn.MAX(Practice.position)).scalar()
        practice = Practice.create(position=(last or 0) + 1, **fields)
        AuditEvent.record("practice_added", actor=by, detail=f"practice {practice.id}")
    return practice


def change(practice: Practice, *, by: User, **fields) -> None:
    with db.atomic():
        Practice.update(**fields).where(Practice.id == practice.id).execute()
        AuditEvent.record("practice_changed", actor=by, detail=f"practice {practice.id}")


def move(practice_id: int, direction: str, *, by: User) -> Practice | None:
    """Swap a practice with its neighbour above or below in its list (offered or archived); None if it is gone."""
    with db.atomic():
        # As it is now: archived or restored by someone else a moment ago, it moves in its new list.
        practice = Practice.get_or_none(Practice.id == practice_id)
        if practice is None:
            return None
        # Renumber first, so ties from older rows (or a hand-edited database) cannot stall a move.
        ordered = list(
            Practice.select().where(Practice.active == practice.active).order_by(Practice.position, Practice.id)
        )
        ids = [p.id for p in ordered]
        here = ids.index(practice.id)
        there = here - 1 if direction == "up" else here + 1
        if 0 <= there < len(ids):
            ids[here], ids[there] = ids[there], ids[here]
            for position, pid in enumerate(ids, start=1):
                Practice.update(position=position).where(Practice.id == pid).execute()
            AuditEvent.record("practice_moved", actor=by, detail=f"practice {practice.id} {direction}")
    return practice
