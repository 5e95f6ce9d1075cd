"""Storing a patient's submission exactly once, keyed by the client's UUID (DUR-04).

A phone may send the same entry twice (its outbox and Background Sync both fire on reconnecting,
a response is lost and the request is retried). The client's UUID is the key: UNIQUE(patient,
client_id) in the database is the real guard, a replay returns the original (200), and a
different submission under a used key is refused (422) rather than silently dropped.
"""

from collections.abc import Callable
from typing import TypeVar

from .db import db

Row = TypeVar("Row")


class Conflict(ValueError):
    """The same client id was used before for a different submission (DUR-04)."""


def find(model, patient, client_id: str, same: Callable[[Row], bool]) -> Row | None:
    """Return the row already stored under this client id, or None; refuse a different submission."""
    row = model.get_or_none(model.patient == patient, model.client_id == client_id)
    if row is not None and not same(row):
        raise Conflict("This id was already used for a different entry.")
    return row


def store_once(
    model,
    patient,
    client_id: str,
    same: Callable[[Row], bool],
    fields: dict,
    then: Callable[[Row], None],
    insert: Callable[[dict], int | None] | None = None,
) -> tuple[Row, bool]:
    """Return (row, created): the row stored under this client id, or a new one made of `fields`.

    The check is the insert itself (ON CONFLICT DO NOTHING on the unique index): the common case,
    a new submission, costs one statement and takes the write lock only for the writes. `same(row)`
    tells whether a stored row is this very submission. A new row and whatever `then(row)` writes
    with it (its audit row, a rollup, an alert) are one transaction (DUR-03). `insert` may replace
    the generic insert with prepared SQL on a hot path: given the row's values by field name, it
    returns the new id, or None when the client id was there already.
    """
    insert = insert or _inserter(model)
    # The row as it will be stored, its defaults (created_at...) filled once, for the insert and the answer.
    row = model(patient=patient, client_id=client_id, **fields)
    values = {name: value for name, value in row.__data__.items() if name != "id"}
    with db.atomic():
        new_id = insert(values)
        if new_id is not None:
            row.id = new_id
            row._dirty.clear()
            then(row)
            return row, True
    # Stored before (a replay), or by a request racing this one: that row is the answer.
    return find(model, patient, client_id, same), False


def _inserter(model) -> Callable[[dict], int | None]:
    def insert(values: dict) -> int | None:
        query = (
            model.insert(**values)
            .on_conflict(conflict_target=[model.patient, model.client_id], action="NOTHING")
            .returning(model.id)
        )
        found = list(query.tuples().execute())
        return found[0][0] if found else None

    return insert


def same_payload(fingerprint: str) -> Callable:
    """Return the `same` test for rows that store the submission's fingerprint (payload_hash)."""
    return lambda row: row.payload_hash == fingerprint
