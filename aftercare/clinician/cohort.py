"""The cohort: the figures across a group of patients that say whether the series works.

- The window-of-clarity curve: mood by hours since the last dosing session, as the mean of each
  patient's own mean in each bucket, with the interquartile range of those means (so a patient
  who logs ten times a day counts once).
- PHQ-9 by session number: the baseline, then the first PHQ-9 on or after each session of the
  induction series and before the next (the points selfreports/points.py keeps for each patient).
- Response and remission (outcomes.py's rules) among patients with a baseline: after session 6
  (the first PHQ-9 on or after session 6 and before session 7) and at 3 months (the PHQ-9
  nearest day 90 after the first dosing session, within days 76-104).
- Mood in the 72 hours after a session by the music chosen for it.

Everything is counted in patients. A figure resting on fewer than MIN_PATIENTS is shown as
"fewer than 5", never as a mean or a rate. What falls in a date range: mood entries logged on
its days, questionnaires answered on its days (a baseline may be older).
"""

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

from peewee import Case
from peewee import fn
from peewee import Select

from ..db import raw_rows
from ..inputs import Invalid
from ..models import ADMIN
from ..models import AuditEvent
from ..models import BASELINE
from ..models import MONTH3
from ..models import MoodMonth
from ..models import MoodMonthSession
from ..models import MoodWindow
from ..models import PATIENT
from ..models import Playlist
from ..models import ScorePoint
from ..models import SERIES_POINTS
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow
from ..models import WINDOW_72H
from ..models import WINDOW_BUCKETS
from ..selfreports import windows
from ..selfreports.charts import Chart
from ..selfreports.charts import counted
from ..selfreports.charts import spread_chart
from ..selfreports.instruments import INSTRUMENTS

MIN_PATIENTS = 5
SHORT_BUCKETS = ("0–6 h", "6–24 h", "1–2 d", "2–3 d", "3–7 d", "> 7 d")
MAX_DAYS = 366 * 3  # the longest range a page may ask for
FEWER = f"fewer than {MIN_PATIENTS}"


@dataclass
class Figure:
    """One group's figure: the mean of per-patient values, their interquartile range, and how many patients."""

    label: str
    short: str
    values: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def shown(self) -> bool:
        return self.n >= MIN_PATIENTS

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def q1(self) -> float:
        return statistics.quantiles(self.values, n=4, method="inclusive")[0]

    @property
    def q3(self) -> float:
        return statistics.quantiles(self.values, n=4, method="inclusive")[2]

    @property
    def reading(self) -> str:
        if not self.shown:
            return f"{FEWER} patients"
        return f"mean {self.mean:.1f}, middle half {self.q1:.1f}–{self.q3:.1f}, {self.n} patients"

    @property
    def cells(self) -> tuple[str, ...]:
        if not self.shown:
            return (FEWER, "—", "—")
        return (str(self.n), f"{self.mean:.1f}", f"{self.q1:.1f}–{self.q3:.1f}")


@dataclass
class Rate:
    """Response and remission at one time point, among patients with a baseline and a score then."""

    label: str
    n: int = 0
    responders: int = 0
    remitters: int = 0

    @property
    def shown(self) -> bool:
        return self.n >= MIN_PATIENTS

    def percent(self, count: int) -> str:
        return f"{round(100 * count / self.n)}%" if self.shown else "—"


@dataclass
class Cohort:
    start: dt.date
    end: dt.date
    patients: int
    window: list[Figure]
    by_session: list[Figure]
    rates: list[Rate]
    by_playlist: list[Figure]


def build(patients: Iterable[int] | Select, start: dt.date, end: dt.date, *, sealed: bool = False) -> Cohort:
    """Work out every figure for these patients (ids, or a query of them) over the days start..end (inclusive).

    With `sealed` (whole months only: an administrator's clinic figures), the months already summed
    per patient (windows.seal) are read from those sums, and only the rest from the daily rows. A
    query of the patients (the whole clinic) is joined by the database rather than sent as 2,000 ids.
    """
    if isinstance(patients, Select):
        ids, count = patients, patients.count()
    else:
        ids = sorted(set(patients))
        count = len(ids)
    by_session, rates = _series(ids, start, end)
    moods: dict[tuple[int, int], list[int]] = {}  # (patient, bucket) -> [total, count]
    music: dict[tuple[int, int | None], list[int]] = {}  # (patient, playlist) -> [total, count]
    daily_from = start
    if sealed:
        through = windows.sealed_through()
        if start < through:
            _sealed_sums(ids, start, min(end, through - dt.timedelta(days=1)), moods, music)
            daily_from = through
    if daily_from <= end:
        _daily_sums(ids, daily_from, end, moods, music)
    return Cohort(
        start=start,
        end=end,
        patients=count,
        window=_window(moods),
        by_session=by_session,
        rates=rates,
        by_playlist=_playlists(music),
    )


def _add(sums: dict, key, total: int, count: int) -> None:
    found = sums.get(key)
    if found is None:
        sums[key] = [total, count]
    else:
        found[0] += total
        found[1] += count


def _gather(sums: dict, query) -> None:
    """Add a query's (patient, key, total, count) rows into sums keyed by (patient, key)."""
    for patient_id, key, total, count in raw_rows(query):
        _add(sums, (patient_id, key), total, count)


def _daily_sums(ids: list[int], start: dt.date, end: dt.date, moods: dict, music: dict) -> None:
    """Add each patient's sums by bucket, and over the 72 hours after a session by its music, from the daily rows."""
    in_range = (MoodWindow.patient.in_(ids), MoodWindow.day.between(start, end))
    by_bucket = (
        MoodWindow.select(MoodWindow.patient, MoodWindow.bucket, fn.SUM(MoodWindow.total), fn.SUM(MoodWindow.count))
        .where(*in_range)
        .group_by(MoodWindow.patient, MoodWindow.bucket)
    )
    _gather(moods, by_bucket)
    by_music = (
        MoodWindow.select(
            MoodWindow.patient, TreatmentSession.playlist, fn.SUM(MoodWindow.total), fn.SUM(MoodWindow.count)
        )
        .join(TreatmentSession, on=MoodWindow.session == TreatmentSession.id)
        .where(*in_range, MoodWindow.bucket < WINDOW_72H)
        .group_by(MoodWindow.patient, TreatmentSession.playlist)
    )
    _gather(music, by_music)


def _sealed_sums(ids: list[int], start: dt.date, end: dt.date, moods: dict, music: dict) -> None:
    """The same sums from the sealed months start..end (whole months): one row per patient and month."""
    columns = [
        fn.SUM(getattr(MoodMonth, f"{kind}_{n}")) for n in range(len(WINDOW_BUCKETS)) for kind in ("total", "count")
    ]
    by_patient = (
        MoodMonth.select(MoodMonth.patient, *columns)
        .where(MoodMonth.month.between(start, end), MoodMonth.patient.in_(ids))
        .group_by(MoodMonth.patient)
    )
    for patient_id, *sums in raw_rows(by_patient):
        for bucket in range(len(WINDOW_BUCKETS)):
            total, count = sums[2 * bucket], sums[2 * bucket + 1]
            if count:
                _add(moods, (patient_id, bucket), total, count)
    by_music = (
        MoodMonthSession.select(
            MoodMonthSession.patient,
            MoodMonthSession.playlist,
            fn.SUM(MoodMonthSession.total),
            fn.SUM(MoodMonthSession.count),
        )
        .where(MoodMonthSession.month.between(start, end), MoodMonthSession.patient.in_(ids))
        .group_by(MoodMonthSession.patient, MoodMonthSession.playlist)
    )
    _gather(music, by_music)


def _window(moods: dict) -> list[Figure]:
    figures = [Figure(label, short) for label, short in zip(WINDOW_BUCKETS, SHORT_BUCKETS, strict=True)]
    for (_, bucket), (total, count) in sorted(moods.items()):
        figures[bucket].values.append(total / count)
    return figures


def _playlists(music: dict) -> list[Figure]:
    """Mood in the 72 hours after a session, by the music chosen for it; the most used first."""
    values: dict[int | None, list[float]] = {}
    for (_, playlist_id), (total, count) in sorted(music.items(), key=lambda item: (item[0][0], item[0][1] or 0)):
        values.setdefault(playlist_id, []).append(total / count)
    titles = dict(
        Playlist.select(Playlist.id, Playlist.title).where(Playlist.id.in_([k for k in values if k])).tuples()
    )
    figures = []
    for playlist_id, found in values.items():
        title = titles.get(playlist_id, "No music chosen")
        figures.append(Figure(title, title, found))  # the chart shortens it to the room it has
    return sorted(figures, key=lambda f: (-f.n, f.label.lower()))


def _series(ids: list[int], start: dt.date, end: dt.date) -> tuple[list[Figure], list[Rate]]:
    """PHQ-9 by session number, and response and remission after session 6 and at 3 months.

    Read from the ScorePoint rollup (selfreports/points.py works the points out): a few rows per patient.
    """
    spec = INSTRUMENTS["phq9"]
    since = dt.datetime.combine(start, dt.time())
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())  # UTC dates: ranges are whole days
    inside = Case(None, [((ScorePoint.submitted_at >= since) & (ScorePoint.submitted_at < until), 1)], 0)
    rows = ScorePoint.select(ScorePoint.patient, ScorePoint.point, ScorePoint.total, inside).where(
        ScorePoint.patient.in_(ids),
        ScorePoint.instrument == spec.key,
        ScorePoint.point.in_((BASELINE, *range(1, SERIES_POINTS + 1), MONTH3)),
    )
    points: dict[int, dict[int, tuple[float, bool]]] = {}
    for patient_id, point, total, within in raw_rows(rows):
        points.setdefault(patient_id, {})[point] = (total, bool(within))

    figures = [Figure("Baseline", "Base")] + [Figure(f"After session {n}", str(n)) for n in range(1, SERIES_POINTS + 1)]
    after6, month3 = Rate("After session 6"), Rate("At 3 months")
    for found in points.values():
        baseline = found[BASELINE][0]
        for number in range(SERIES_POINTS + 1):
            if number in found and found[number][1]:
                figures[number].values.append(found[number][0])
        for rate, point in ((after6, SERIES_POINTS), (month3, MONTH3)):
            if point not in found or not found[point][1]:
                continue
            later = found[point][0]
            rate.n += 1
            rate.responders += spec.outcomes.response(baseline, later)
            rate.remitters += spec.outcomes.remission(baseline, later)
    return figures, [after6, month3]


def default_range(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last twelve months up to today (UTC): long enough for a series and its three-month score."""
    today = today or utcnow().date()
    return today - dt.timedelta(days=364), today


def days_from(args, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Read a clinician's range (`from` and `to`, dates); raise Invalid with a clear message."""
    default = default_range(today)
    start = _date(args.get("from"), default[0], "from")
    end = _date(args.get("to"), default[1], "to")
    return _checked(start, end)


def months_from(args, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Read an administrator's range: whole calendar months (`from` and `to`, YYYY-MM), the last three by default."""
    this = (today or utcnow().date()).replace(day=1)
    start = _month(args.get("from"), _months_before(this, 2), "from")
    end = _month_end(_month(args.get("to"), this, "to"))
    return _checked(start, end)


def _checked(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    if end < start:
        raise Invalid({"to": "The range ends before it starts. Choose an end after the start."})
    if (end - start).days >= MAX_DAYS:
        raise Invalid({"to": "Choose a range of three years or less."})
    return start, end


def _date(value, default: dt.date, name: str) -> dt.date:
    if value in (None, ""):
        return default
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        raise Invalid({name: "Enter a date as YYYY-MM-DD."}) from None
    if not EARLIEST <= day <= LATEST:
        raise Invalid({name: f"Choose a date between {EARLIEST.year} and {LATEST.year}."})
    return day


def _month(value, default: dt.date, name: str) -> dt.date:
    if value in (None, ""):
        return default
    try:
        day = dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        raise Invalid({name: "Choose a month (YYYY-MM)."}) from None
    if not EARLIEST <= day <= LATEST:
        raise Invalid({name: f"Choose a month between {EARLIEST.year} and {LATEST.year}."})
    return day


def _months_before(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(first: dt.date) -> dt.date:
    return _months_before(first, -1) - dt.timedelta(days=1)


EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def open_cohort(viewer: User, start: dt.date, end: dt.date) -> Cohort:
    """Work out the figures a clinician (their patients) or an administrator (the clinic) may see; audit it."""
    if viewer.role == ADMIN:
        windows.seal()  # the months closed since the last look are summed first (once a month)
        everyone = User.select(User.id).where(User.role == PATIENT, User.active == True)  # noqa: E712
        cohort = build(everyone, start, end, sealed=True)
    else:
        cohort = build([user_id for (user_id,) in viewer.patients().select(User.id).tuples()], start, end)
    AuditEvent.record("view_cohort", actor=viewer, detail=f"{start.isoformat()} to {end.isoformat()}")
    return cohort


def charts(cohort: Cohort) -> dict[str, Chart]:
    """The cohort's pictures, each with its table."""
    mood_ticks = [(v, f"{v}") for v in (0, 5, 10)]
    phq9 = INSTRUMENTS["phq9"]
    columns = ("Group", "Patients", "Mean", "Middle half")
    window = cohort.window
    best = max((f for f in window if f.shown), key=lambda f: f.mean, default=None)
    return {
        "window": spread_chart(
            "window",
            "Mood by time since the last dosing session",
            (
                f"Patients' mood was highest {best.label.lower()} after a session: {best.reading}."
                if best
                else f"Each group has {FEWER} patients, so no mean is shown."
            ),
            window,
            low=0,
            high=10,
            ticks=mood_ticks,
            columns=("Time since the session", "Patients", "Mean mood", "Middle half"),
        ),
        "sessions": spread_chart(
            "sessions",
            "PHQ-9 through the induction series",
            _series_summary(cohort.by_session),
            cohort.by_session,
            low=0,
            high=phq9.max_total,
            ticks=[(v, str(v)) for v in (0, 9, 18, 27)],
            columns=("When", "Patients", "Mean PHQ-9", "Middle half"),
        ),
        "playlists": spread_chart(
            "playlists",
            "Mood in the 72 hours after a session, by its music",
            f"{counted(len(cohort.by_playlist), 'choice')} of music; each patient counts once per choice."
            if cohort.by_playlist
            else "No mood entries in the 72 hours after a session in this range.",
            cohort.by_playlist[:6],
            low=0,
            high=10,
            ticks=mood_ticks,
            columns=columns,
            connect=False,
            rows=[(f.label, *f.cells) for f in cohort.by_playlist],
        ),
    }


def _series_summary(figures: list[Figure]) -> str:
    shown = [f for f in figures if f.shown]
    if len(shown) < 2:
        return f"Too few patients ({FEWER} at most points) to show the series."
    first, last = shown[0], shown[-1]
    return f"Mean PHQ-9 {first.mean:.1f} at {first.label.lower()}, {last.mean:.1f} {last.label.lower()}."
