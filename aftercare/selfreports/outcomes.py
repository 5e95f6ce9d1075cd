"""Baseline, change, response, remission and worsening: defined once, shown the same on every page.

- The baseline is the last score before the patient's first dosing session, or their first score
  when none came before it (or there is no dosing session yet).
- The latest is the newest score after the baseline; without one, no change, response or
  remission is shown, on any page (a single low PHQ-9 is not "remission").
- Response and remission follow the instrument's own rules (PHQ-9: a later score at least 50%
  below a baseline of 10 or more; below 5 after a baseline of 5 or more).
- Worsening is a meaningful rise from the score before the latest one.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from peewee import fn

from ..db import moment
from ..models import CANCELLED
from ..models import CheckIn
from ..models import DOSING_KINDS
from ..models import NO_SHOW
from ..models import TreatmentSession
from ..models import User
from .instruments import Instrument
from .instruments import INSTRUMENTS


class Scored(NamedTuple):
    """One score in a series (a CheckIn row has the same attributes)."""

    id: int
    submitted_at: dt.datetime
    total: float
    band: str


@dataclass(frozen=True)
class Outcome:
    instrument: Instrument
    baseline: Scored | None = None
    latest: Scored | None = None  # the newest score after the baseline
    previous: Scored | None = None  # the score before `latest`
    newest: Scored | None = None  # the newest score of all (the baseline itself when it is the only one)

    @property
    def change(self) -> float | None:
        return None if self.latest is None else self.latest.total - self.baseline.total

    @property
    def response(self) -> bool:
        rules = self.instrument.outcomes
        return bool(rules and self.latest and rules.response(self.baseline.total, self.latest.total))

    @property
    def remission(self) -> bool:
        rules = self.instrument.outcomes
        return bool(rules and self.latest and rules.remission(self.baseline.total, self.latest.total))

    @property
    def worsening(self) -> bool:
        return bool(
            self.latest and self.previous and self.instrument.change.meaningful(self.previous.total, self.latest.total)
        )


def outcome(instrument: Instrument, series: Iterable, first_dosing_at: dt.datetime | None) -> Outcome:
    """Work out the outcome from a patient's scores on one instrument, oldest first."""
    series = list(series)
    if not series:
        return Outcome(instrument)
    baseline = baseline_of(series, first_dosing_at)
    later = series[series.index(baseline) + 1 :]
    if not later:
        return Outcome(instrument, baseline=baseline, newest=series[-1])
    return Outcome(instrument, baseline=baseline, latest=later[-1], previous=series[-2], newest=series[-1])


def baseline_of(series: list, first_dosing_at: dt.datetime | None):
    """Return the baseline of a non-empty series (oldest first): its last score before the first
    dosing session, or its first score when none came before it (or there is no dosing session)."""
    before = [s for s in series if first_dosing_at is not None and s.submitted_at < first_dosing_at]
    return before[-1] if before else series[0]


def dosing_sessions():
    """Return the query for sessions where a patient received ketamine (or will), not cancelled or missed."""
    return TreatmentSession.select().where(
        TreatmentSession.kind.in_(DOSING_KINDS), TreatmentSession.status.not_in((CANCELLED, NO_SHOW))
    )


def first_dosing_starts(patient_ids: list[int]) -> dict[int, dt.datetime]:
    """Return when each patient's first dosing session starts (or started), by patient id."""
    if not patient_ids:
        return {}
    rows = (
        dosing_sessions()
        .select(TreatmentSession.patient, fn.MIN(TreatmentSession.starts_at))
        .where(TreatmentSession.patient.in_(patient_ids))
        .group_by(TreatmentSession.patient)
        .tuples()
    )
    return {patient_id: moment(starts) for patient_id, starts in rows}


def for_patient(patient: User, key: str) -> Outcome:
    """Return one patient's outcome on one instrument."""
    first = first_dosing_starts([patient.id]).get(patient.id)
    return outcome(INSTRUMENTS[key], CheckIn.series(patient, key), first)
