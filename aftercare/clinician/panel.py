"""The clinician's panel: each patient's latest self-reports and the flags that need attention.

Every flag is worked out for every patient (the sort needs them all) from the rollups and a few
index lookups per patient; the scores and the series position are read for the page shown only.
"Today" is each patient's own calendar day in their time zone.

Flags, in the order of attention:
- escalated / alert: an open safety alert (escalated: past the clinic's set time, CLIN-03);
- worsening: a measure's latest score rose meaningfully since the one before (outcomes.py);
- mood-drop: the mood of their last day (today or yesterday) is DROP_POINTS or more below the mean
  of their own entries over the DROP_BASE_DAYS days before it (at least DROP_BASE_MIN of those days);
- quiet: no self-report of any kind (mood, questionnaire, journal, voice note) for QUIET_DAYS days
  (counted from the day they joined for someone who has sent nothing yet);
- unreached: reminders have reached no device for three days (reminders/status.py);
- intake: their intake screening was sent and no clinician has reviewed it yet (intake/).
"""

import datetime as dt
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property

from peewee import Case
from peewee import fn

from .. import alerts
from ..db import moment
from ..db import raw_rows
from ..inputs import Invalid
from ..inputs import parse_int
from ..intake import intakes
from ..localtime import local_day
from ..localtime import to_utc
from ..models import AuditEvent
from ..models import JournalEntry
from ..models import MoodDay
from ..models import NEWEST
from ..models import SafetyAlert
from ..models import SCHEDULED
from ..models import ScorePoint
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import VoiceNote
from ..reminders import status as reminder_status
from ..selfreports import points
from ..selfreports.instruments import Instrument
from ..selfreports.instruments import INSTRUMENTS
from ..selfreports.instruments import shown
from ..selfreports.outcomes import dosing_sessions
from ..selfreports.outcomes import Outcome

QUIET_DAYS = 5  # "no self-report for N days"
DROP_BASE_DAYS, DROP_BASE_MIN, DROP_POINTS = 7, 3, 3.0  # a mood drop against the patient's own week
PAGE_SIZE = 50
# slug (as in ?flag=...), label: in the order of attention
FLAGS = {
    "escalated": "Escalated",
    "alert": "Open alert",
    "worsening": "Worsening",
    "mood-drop": "Mood drop",
    "quiet": f"Quiet {QUIET_DAYS}+ days",  # no self-report of any kind
    "unreached": "Reminders failing",
    "intake": "Intake to review",
}
URGENT = ("escalated", "alert", "worsening")
KINDS = ("mood", "questionnaire", "journal", "voice note")  # what a self-report can be


@dataclass
class Series:
    """Where the patient is in their dosing series: the last session held (its number) and the next booked."""

    number: int | None = None
    last: dt.datetime | None = None
    next: dt.datetime | None = None


@dataclass
class Row:
    patient_id: int
    name: str
    zone: str
    today: dt.date  # the patient's own calendar day
    created: dt.datetime | str  # when their account was made, in UTC (as the database gave it)
    patient: User | None = None  # loaded for the rows shown
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # for the rows shown
    measures: list[Instrument] = field(default_factory=list)  # asked for now, or answered before
    series: Series = field(default_factory=Series)  # for the rows shown
    open_alerts: int = 0
    escalated: int = 0  # open alerts past the clinic's set time (CLIN-03)
    worse: list[str] = field(default_factory=list)  # the measures that rose meaningfully
    mood_day: dt.date | None = None  # their last day with a mood entry, on their calendar
    stamped: tuple[dt.datetime, int] | None = None  # (UTC moment, place in KINDS) of their newest other self-report
    mood_drop: float | None = None
    flags: list[str] = field(default_factory=list)
    on_call: bool = False  # not in this clinician's care: shown because they are on call for an escalated alert

    @cached_property
    def joined(self) -> dt.date:
        """The day their account was made, on their calendar."""
        return local_day(moment(self.created), self.zone)

    @cached_property
    def last(self) -> tuple[dt.date | None, str]:
        """Their day (on their calendar) and kind of their last self-report of any kind, or (None, "")."""
        days = []
        if self.mood_day is not None:
            days.append((self.mood_day, 0))
        if self.stamped is not None:
            at, kind = self.stamped
            days.append((local_day(at, self.zone), -kind))  # a tie goes to the kind listed first
        if not days:
            return None, ""
        day, kind = max(days)
        return day, KINDS[-kind]

    @property
    def last_day(self) -> dt.date | None:
        return self.last[0]

    @property
    def last_kind(self) -> str:
        return self.last[1]

    @property
    def quiet_days(self) -> int:
        """Days since the last self-report, or since joining for someone who has sent none yet."""
        return (self.today - (self.last_day or self.joined)).days

    @property
    def attention(self) -> tuple:
        """Sort key: escalated and open alerts first, then worsening, mood drops, silence; then by name."""
        return (*(flag not in self.flags for flag in FLAGS), self.name.lower(), self.patient_id)


@dataclass
class Panel:
    rows: list[Row]  # the page shown
    total: int  # patients in the panel
    matching: int  # patients the filter or search leaves
    counts: dict[str, int]  # patients with each flag
    escalated: list[Row]  # every patient with an escalated alert, whatever the page
    page: int = 1
    pages: int = 1
    flag: str | None = None
    searched: str | None = None

    @property
    def columns(self) -> list[Instrument]:
        return columns(self.rows)

    @property
    def first(self) -> int:
        """The place of the page's first row in the list (counting from 1)."""
        return (self.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1


def build(clinician: User, now: dt.datetime | None = None) -> list[Row]:
    """Return one Row per patient in the clinician's care, flagged, most in need of attention first.

    A clinician on call also gets a row for each patient with an escalated alert (CLIN-03).
    """
    mine = clinician.patients().select(User.id, User.name, User.timezone, User.created_at).order_by()
    people = raw_rows(mine)
    escalated = alerts.escalated_for(clinician).select(SafetyAlert.patient)
    on_call = list(
        User.select(User.id, User.name, User.timezone, User.created_at).where(
            User.id.in_(escalated), User.id.not_in(mine.select(User.id))
        )
    )
    # The queries name the care team's patients by a subquery: a list of 2,000 ids costs more to build than to run.
    among = mine.select(User.id) if not on_call else None
    rows = flagged(people + [(p.id, p.name, p.timezone, p.created_at) for p in on_call], now, among)
    on_call_ids = {p.id for p in on_call}
    for row in rows:
        row.on_call = row.patient_id in on_call_ids
    return rows


def flagged(people: list[tuple], now: dt.datetime | None = None, among=None) -> list[Row]:
    """Return the rows of these patients (id, name, zone, created_at) with every flag, most in need of attention first.

    `among` may be a query selecting the same patients' ids (it is used in place of the list).
    """
    if not people:
        return []
    now = now or utcnow()
    todays = {zone: local_day(now, zone) for zone in {zone for _, _, zone, _ in people}}
    rows = {pid: Row(pid, name, zone, todays[zone], created) for pid, name, zone, created in people}
    ids = among if among is not None else list(rows)

    for patient_id, count, escalated in (
        SafetyAlert.open()
        .select(
            SafetyAlert.patient,
            fn.COUNT(SafetyAlert.id),
            fn.COUNT(SafetyAlert.escalated_at),
        )
        .where(SafetyAlert.patient.in_(ids))
        .group_by(SafetyAlert.patient)
        .tuples()
    ):
        rows[patient_id].open_alerts, rows[patient_id].escalated = count, escalated
    for patient_id, names in points.worsening(ids).items():
        rows[patient_id].worse = names
    recent = _mood_drops(rows, ids)
    _last_reports(rows, ids, recent)
    failing = reminder_status.failing(ids, now)
    to_review = intakes.needs_review(ids)
    quiet = _quiet_check()

    for row in rows.values():
        checks = {
            "escalated": row.escalated,
            "alert": row.open_alerts,
            "worsening": row.worse,
            "mood-drop": row.mood_drop is not None and row.mood_drop >= DROP_POINTS,
            "quiet": quiet(row),
            "unreached": row.patient_id in failing,
            "intake": row.patient_id in to_review,
        }
        row.flags = [flag for flag, raised in checks.items() if raised]
    return sorted(rows.values(), key=lambda r: r.attention)


def _last_reports(rows: dict[int, Row], ids, recent: dict[int, dt.date]) -> None:
    """Each patient's last mood day and newest other self-report: one index lookup per kind.

    `recent` holds the last mood day of the patients who logged one in the last days (the mood
    drop's query found it); the others' is looked up here. The other kinds are kept as UTC moments:
    only the rows that show them are put on the patient's calendar (Row.last).
    """
    latest = (
        # The newest questionnaire of each measure is kept in the ScorePoint rollup: a few rows, not every check-in.
        ScorePoint.select(fn.MAX(ScorePoint.submitted_at)).where(
            ScorePoint.patient == User.id, ScorePoint.point == NEWEST
        ),
        JournalEntry.select(fn.MAX(JournalEntry.created_at)).where(JournalEntry.patient == User.id),
        VoiceNote.select(fn.MAX(VoiceNote.created_at)).where(VoiceNote.patient == User.id),
    )
    for patient_id, day in recent.items():
        rows[patient_id].mood_day = day
    missing = [patient_id for patient_id in rows if patient_id not in recent]
    if missing:
        older = MoodDay.select(fn.MAX(MoodDay.day).cast("text")).where(MoodDay.patient == User.id)
        for patient_id, day in raw_rows(User.select(User.id, older).where(User.id.in_(missing))):
            if day is not None:
                rows[patient_id].mood_day = dt.date.fromisoformat(day)
    for patient_id, *moments in raw_rows(User.select(User.id, *latest).where(User.id.in_(ids))):
        # Moments of one type (text in SQLite, datetime in PostgreSQL), so max() compares like with like.
        stamped = [(value, -n) for n, value in enumerate(moments, start=1) if value is not None]
        if stamped:
            value, kind = max(stamped)
            rows[patient_id].stamped = (moment(value), -kind)


def _quiet_check():
    """Return a test of the quiet flag that puts no one's report on their calendar (QUIET_DAYS).

    Quiet: the last self-report is QUIET_DAYS or more days before the patient's today. A mood
    day is already on their calendar; a moment is compared with the start of the first day that
    would not be quiet, in their zone, worked out once per zone.
    """
    starts = {}

    def quiet(row: Row) -> bool:
        if row.mood_day is None and row.stamped is None:
            return row.quiet_days >= QUIET_DAYS  # counted from joining
        recent_from = row.today - dt.timedelta(days=QUIET_DAYS - 1)
        if row.mood_day is not None and row.mood_day >= recent_from:
            return False
        if row.stamped is None:
            return True
        key = (row.zone, recent_from)
        if key not in starts:
            starts[key] = to_utc(dt.datetime.combine(recent_from, dt.time()), row.zone)
        return row.stamped[0] < starts[key]

    return quiet


def _mood_drops(rows: dict[int, Row], ids) -> dict[int, dt.date]:
    """How far each patient's last day of mood (today or yesterday) fell below their own week before it.

    Return the last mood day of each patient who logged one since the earliest of those yesterdays.

    One row per patient from the database: the last day's count and total, and those of the
    DROP_BASE_DAYS days before it. The last day can only be one of a few dates (each patient's
    today or yesterday), so the start of each one's week is looked up from a CASE, not computed
    with date arithmetic that SQLite and PostgreSQL spell differently. (Measured against the same
    figures fetched by joining each last day's row and its week through the (patient, day) index,
    or by correlated lookups: those ran no faster on SQLite and up to twice as slow on PostgreSQL,
    whose planner read the whole table for the join.)
    """
    lasts = sorted({row.today - dt.timedelta(days=back) for row in rows.values() for back in (0, 1)})
    last = (
        MoodDay.select(MoodDay.patient.alias("patient_id"), fn.MAX(MoodDay.day).alias("day"))
        .where(MoodDay.patient.in_(ids), MoodDay.day >= lasts[0])
        .group_by(MoodDay.patient)
        .alias("last")
    )
    week_from = Case(
        last.c.day,
        [(MoodDay.day.to_value(d), MoodDay.day.to_value(d - dt.timedelta(days=DROP_BASE_DAYS))) for d in lasts],
    )
    on_last = MoodDay.day == last.c.day
    in_week = (MoodDay.day < last.c.day) & (MoodDay.day >= week_from)
    query = (
        MoodDay.select(
            last.c.patient_id,
            last.c.day.cast("text"),
            fn.SUM(Case(None, [(on_last, MoodDay.count)])),
            fn.SUM(Case(None, [(on_last, MoodDay.total)])),
            fn.COUNT(Case(None, [(in_week, 1)])),
            fn.SUM(Case(None, [(in_week, MoodDay.count)])),
            fn.SUM(Case(None, [(in_week, MoodDay.total)])),
        )
        .join(last, on=(MoodDay.patient == last.c.patient_id))
        .where(MoodDay.day >= lasts[0] - dt.timedelta(days=DROP_BASE_DAYS))
        .group_by(last.c.patient_id, last.c.day)
    )
    recent = {}
    for patient_id, day, count, total, week_days, week_count, week_total in raw_rows(query):
        row = rows[patient_id]
        recent[patient_id] = last_day = dt.date.fromisoformat(day)
        if (row.today - last_day).days > 1 or week_days < DROP_BASE_MIN:
            continue
        row.mood_drop = round(week_total / week_count - total / count, 1)
    return recent


def show(
    clinician: User,
    *,
    flag: str | None = None,
    page: str | int | None = None,
    search: str | None = None,
    now: dt.datetime | None = None,
) -> Panel:
    """Return one page of the panel, filtered by a flag or a name, and audit who it shows (LOG-01).

    Raise Invalid for a flag that does not exist or a page that is not there.
    """
    flag = flag or None
    if flag is not None and flag not in FLAGS:
        known = ", ".join(f"“{label}”" for label in FLAGS.values())
        raise Invalid({"flag": f"There is no flag called “{flag[:40]}”. The flags are {known}."})
    rows = build(clinician, now)
    matching = [row for row in rows if flag is None or flag in row.flags]
    if search:
        needle = search.casefold()
        matching = [row for row in matching if needle in row.name.casefold()]
    pages = max(1, -(-len(matching) // PAGE_SIZE))
    number = 1 if page in (None, "") else parse_int(page, 1, pages)
    if number is None:
        raise Invalid(
            {"page": f"There is no page “{str(page)[:10]}”: the list has {pages} page{'s' if pages > 1 else ''}."}
        )
    shown_rows = matching[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    escalated = [row for row in rows if row.escalated]
    named = list({row.patient_id: row for row in shown_rows + escalated}.values())
    detail(named, now)
    AuditEvent.record_many("view_panel", actor=clinician, patients=[row.patient for row in named])
    return Panel(
        rows=shown_rows,
        total=len(rows),
        matching=len(matching),
        counts={slug: sum(slug in row.flags for row in rows) for slug in FLAGS},
        escalated=escalated,
        page=number,
        pages=pages,
        flag=flag,
        searched=search,
    )


def detail(rows: list[Row], now: dt.datetime | None = None) -> None:
    """Fill in what only the rows shown need: the patient, their scores and measures, their series position."""
    if not rows:
        return
    ids = [row.patient_id for row in rows]
    users = {user.id: user for user in User.select().where(User.id.in_(ids))}
    scores = points.outcomes(ids)
    series = series_positions(ids, now)
    for row in rows:
        row.patient = users[row.patient_id]
        row.outcomes = scores[row.patient_id]
        row.measures = shown(row.patient, [key for key, o in row.outcomes.items() if o.newest])
        row.series = series.get(row.patient_id, Series())


def series_positions(patient_ids: list[int], now: dt.datetime | None = None) -> dict[int, Series]:
    """Return each patient's position in their dosing series: the last session begun and the next booked."""
    now = now or utcnow()
    begun = TreatmentSession.starts_at <= now
    coming = (TreatmentSession.starts_at > now) & (TreatmentSession.status == SCHEDULED)
    rows = (
        dosing_sessions()
        .select(
            TreatmentSession.patient,
            fn.MAX(Case(None, [(begun, TreatmentSession.number)])),
            fn.MAX(Case(None, [(begun, TreatmentSession.starts_at)])),
            fn.MIN(Case(None, [(coming, TreatmentSession.starts_at)])),
        )
        .where(TreatmentSession.patient.in_(patient_ids))
        .group_by(TreatmentSession.patient)
        .tuples()
    )
    return {patient_id: Series(number, moment(last), moment(upcoming)) for patient_id, number, last, upcoming in rows}


def columns(rows: list[Row]) -> list[Instrument]:
    """Return the measures any of these patients has, in the measures' order: the panel's score columns."""
    keys = {spec.key for row in rows for spec in row.measures}
    return [spec for key, spec in INSTRUMENTS.items() if key in keys]


def row_for(patient: User, now: dt.datetime | None = None) -> Row:
    """Return one patient's panel row, in full (the caller has checked the care relationship)."""
    [row] = flagged([(patient.id, patient.name, patient.timezone, patient.created_at)], now)
    detail([row], now)
    return row
