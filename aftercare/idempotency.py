"""Storing a patient's submission exactly once, keyed by the client's UUID (DUR-04).

A phone may send the same entry twice (its outbox and Background Sync both fire on reconnecting,
a response is lost and the request is retried). The client's UUID is the key: UNIQUE(patient,
client_id) in the database is the real guard, a replay returns the original (200), and a
different submission under a used key is refused (422) rather than silently dropped.
"""

from collections.abc import Callable
from typing import TypeVar

from peewee import IntegrityError

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
    model, patient, client_id: str, same: Callable[[Row], bool], fields: dict, then: Callable[[Row], None]
) -> tuple[Row, bool]:
    """Return (row, created): the row stored under this client id, or a new one made of `fields`.

    `same(row)` tells whether a stored row is this very submission. A new row and whatever `then(row)`
    writes with it (its audit row, a rollup, an alert) are one transaction (DUR-03).
    """
    existing = find(model, patient, client_id, same)
    if existing is not None:
        return existing, False
    try:
        with db.atomic():
            row = model.create(patient=patient, client_id=client_id, **fields)
            then(row)
            return row, True
    except IntegrityError:
        # The same submission arrived twice at once: the unique index kept the other one.
        return find(model, patient, client_id, same), False


def same_payload(fingerprint: str) -> Callable:
    """Return the `same` test for rows that store the submission's fingerprint (payload_hash)."""
    return lambda row: row.payload_hash == fingerprint
