"""The patient's history as charts: coordinates for inline SVG, drawn from numbers and fixed words.

Each chart function takes plain data and returns a `Chart` in a fixed viewBox: tick labels,
path `d` strings, points and a text alternative. The template draws the <svg> with
autoescaping on; no text a person typed is ever passed in or marked safe (IN-02).
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ..localtime import to_local
from .instruments import Instrument
from .mood import MOOD_WORDS

RANGES = {"7": 7, "30": 30, "90": 90, "all": None}
RANGE_LABELS = (("7", "7 days"), ("30", "30 days"), ("all", "All"))  # the patient's History page
TIMELINE_RANGE_LABELS = (("30", "30 days"), ("90", "90 days"), ("all", "All"))  # the clinician's timeline
# Who the summaries speak to: the patient on their History page, or about them on their clinician's record.
VOICES = {"you": ("you", "your"), "they": ("they", "their")}
DEFAULT_RANGE = "30"
# "All" starting yesterday would stretch two days across the whole width.
MIN_ALL_DAYS = 7

# One viewBox for every chart: at 390 px wide it scales to about 0.95, so 13-unit
# text stays readable on a phone and grows with the card on a desktop.
WIDTH = 340
FONT_SIZE = 13
MOOD_HEIGHT = 200
SCORE_HEIGHT = 220
MAX_X_TICKS = 4
MOOD_TICKS = (0, 5, 10)


class Tick(NamedTuple):
    at: float  # y for the value axis, x for the date axis
    label: str
    label_at: float  # where the label's centre goes (kept inside the viewBox)
    row: int = 0  # a group's label on the second line under the axis, where names alternate


# What one character of a label takes, on average, in viewBox units (a generous guess).
CHAR_WIDTH = FONT_SIZE * 0.58
LABEL_ROW = FONT_SIZE + 3


class Point(NamedTuple):
    x: float
    y: float
    label: str  # for the point's tooltip


class Zone(NamedTuple):
    y: float
    height: float
    name: str
    css: str
    label_y: float


class Plot(NamedTuple):
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


class Day(NamedTuple):
    """One local day of mood entries; MoodDay rows have the same attributes."""

    day: dt.date
    count: int
    total: int
    low: int
    high: int

    @property
    def mean(self) -> float:
        return self.total / self.count


def parse_range(value) -> str:
    """Return the range key asked for, or the default for anything unknown."""
    return value if isinstance(value, str) and value in RANGES else DEFAULT_RANGE


@dataclass(frozen=True)
class Window:
    """The local calendar days a history view shows, ending with the patient's today."""

    key: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return "all time" if self.key == "all" else f"last {self.key} days"

    @property
    def phrase(self) -> str:
        """'in the last 7 days', or nothing for all time (for 'No mood entries … yet')."""
        return "" if self.key == "all" else f" in the last {self.key} days"

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= _date(day) <= self.end

    def utc_bounds(self, zone: str) -> tuple[dt.datetime, dt.datetime]:
        """Return naive UTC [since, until) covering the window's local days, to query UTC columns."""
        tz = zoneinfo.ZoneInfo(zone)

        def midnight(day: dt.date) -> dt.datetime:
            # Local midnight moves against UTC across a DST change; zoneinfo knows by how much.
            return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)

        return midnight(self.start), midnight(self.end + dt.timedelta(days=1))


def window(key, today: dt.date, first_day: dt.date | None = None) -> Window:
    """Return the window for a range key ending on `today` (the patient's local date)."""
    key = parse_range(key)
    days = RANGES[key]
    if days is None:
        start = today - dt.timedelta(days=MIN_ALL_DAYS - 1)
        if first_day is not None and first_day < start:
            start = first_day
    else:
        start = today - dt.timedelta(days=days - 1)
    return Window(key, start, today)


def local_scores(checkins: Iterable, zone: str) -> list[tuple[dt.datetime, int]]:
    """Return (local wall-clock time, total) for check-ins stored with UTC `submitted_at`."""
    return [(to_local(c.submitted_at, zone).replace(tzinfo=None), c.total) for c in checkins]


@dataclass
class Chart:
    key: str  # unique on the page: element ids derive from it
    title: str
    summary: str  # one sentence, shown and read out
    empty_text: str
    height: int
    plot: Plot
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    grid: list[float]  # y of full-width gridlines
    zones: list[Zone]  # severity bands
    bands: list[str]  # path d: daily low-to-high
    lines: list[str]  # path d
    points: list[Point]
    markers: list[float]  # x of session days
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]  # the data as text, newest first
    width: int = WIDTH
    font_size: int = FONT_SIZE
    point_radius: float = 4
    heading: str = ""  # the card's heading on the history page
    cutoff: Tick | None = None  # a measure's cut-off as a labelled line across the plot (at: y)

    @property
    def empty(self) -> bool:
        return not self.points

    @property
    def label_row(self) -> int:
        """How far below the first line of axis labels the second one sits (Tick.row 1)."""
        return LABEL_ROW

    @property
    def description(self) -> str:
        text = self.summary
        if self.cutoff is not None:
            text += f" A line marks the {self.cutoff.label}."
        if self.markers:
            text += f" Dashed lines mark {counted(len(self.markers), 'session day')}."
        return text


class _Scale:
    """Map local days and times to x, and values to y, inside a plot."""

    def __init__(self, window: Window, plot: Plot, low: float, high: float):
        self.origin = dt.datetime.combine(window.start, dt.time())
        self.seconds = window.days * 86400
        self.plot, self.low, self.high = plot, low, high

    def x(self, when: dt.date | dt.datetime) -> float:
        # A day's value sits at its noon; a check-in at its local wall-clock time.
        if not isinstance(when, dt.datetime):
            when = dt.datetime.combine(when, dt.time(12))
        elapsed = (when - self.origin).total_seconds()
        return _r(self.plot.left + elapsed / self.seconds * self.plot.width)

    def y(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return _r(self.plot.bottom - share * self.plot.height)

    @property
    def day_width(self) -> float:
        return self.plot.width * 86400 / self.seconds


def mood_chart(days: Iterable, window: Window, *, markers: list[dt.date], voice: str = "you") -> Chart:
    """Chart daily mood (mean as a line, low-high as a band) from MoodDay rows or `Day`s."""
    days = sorted((d for d in days if d.day in window), key=lambda d: d.day)
    plot = Plot(left=72, top=10, right=WIDTH - 14, bottom=MOOD_HEIGHT - 30)
    scale = _Scale(window, plot, 0, 10)
    with_year = window.start.year != window.end.year
    session_days = set(markers)
    lines, bands, points = [], [], []
    for run in _runs(days):
        tops = [(scale.x(d.day), scale.y(d.high)) for d in run]
        bottoms = [(scale.x(d.day), scale.y(d.low)) for d in reversed(run)]
        if len(run) > 1:
            lines.append(_path([(scale.x(d.day), scale.y(d.mean)) for d in run]))
            bands.append(_path(tops + bottoms, close=True))
        elif run[0].low != run[0].high:
            # A lone day has no neighbours to spread the band to: a narrow bar shows its range.
            half = min(scale.day_width * 0.3, 5)
            (x, top), (_, bottom) = tops[0], bottoms[0]
            bands.append(_path([(x - half, top), (x + half, top), (x + half, bottom), (x - half, bottom)], close=True))
    for d in days:
        label = f"{_day(d.day, with_year)}: average {d.mean:.1f}, from {d.low} to {d.high}, {counted(d.count, 'entry')}"
        points.append(Point(scale.x(d.day), scale.y(d.mean), label))
    rows = [
        (_row_day(d.day, with_year, d.day in session_days), f"{d.mean:.1f}", _span(d.low, d.high), str(d.count))
        for d in reversed(days)
    ]
    return Chart(
        key="mood",
        title=f"Daily mood, {window.label}",
        summary=_mood_summary(days, window, voice),
        empty_text=f"No mood entries{window.phrase} yet.",
        height=MOOD_HEIGHT,
        plot=plot,
        y_ticks=[_y_tick(scale, v, MOOD_WORDS[v]) for v in MOOD_TICKS],
        x_ticks=_x_ticks(window, scale),
        grid=[scale.y(v) for v in MOOD_TICKS],
        zones=[],
        bands=bands,
        lines=lines,
        points=points,
        markers=_markers(markers, window, scale),
        columns=("Day", "Average", "Range", "Entries"),
        rows=rows,
        # Months of days side by side: smaller points keep neighbours apart.
        point_radius=_r(min(4, max(2.5, scale.day_width * 0.45))),
    )


def score_chart(
    instrument: Instrument,
    scores: Iterable[tuple[dt.datetime, int]],
    window: Window,
    *,
    markers: list[dt.date],
    cutoff: float | None = None,
    voice: str = "you",
) -> Chart:
    """Chart a measure's totals (local time, total) over its severity bands, with its cut-off as a line if it has one."""
    scores = sorted((when, total) for when, total in scores if when in window)
    plot = Plot(left=32, top=10, right=WIDTH - 14, bottom=SCORE_HEIGHT - 30)
    scale = _Scale(window, plot, 0, instrument.max_total)
    with_year = window.start.year != window.end.year
    session_days = set(markers)
    points = [
        Point(
            scale.x(when),
            scale.y(total),
            f"{_day(when, with_year)}: {_scored(instrument, total, cutoff)}",
        )
        for when, total in scores
    ]
    floors = [floor for floor, _ in instrument.bands] or [instrument.min_total]
    if cutoff is not None:
        floors = sorted({*floors, cutoff})
    read = _reading(instrument, cutoff)
    return Chart(
        key=instrument.key,
        heading=f"{instrument.title} ({instrument.name})",
        title=f"{instrument.name} scores, {window.label}",
        summary=_score_summary(instrument, scores, window, cutoff, voice),
        empty_text=f"No {instrument.name} questionnaires{window.phrase} yet.",
        height=SCORE_HEIGHT,
        plot=plot,
        y_ticks=[_y_tick(scale, v, instrument.format(v)) for v in [*floors, instrument.max_total]],
        x_ticks=_x_ticks(window, scale),
        grid=[],
        zones=[
            Zone(scale.y(high), _r(scale.y(low) - scale.y(high)), name, _css(name), _r(scale.y(high) + 13))
            for low, high, name in severity_ranges(instrument)
        ],
        bands=[],
        lines=[_path([(p.x, p.y) for p in points])] if len(points) > 1 else [],
        points=points,
        markers=_markers(markers, window, scale),
        columns=("Day", "Score", *([read[0]] if read else [])),
        rows=[
            (
                _row_day(when, with_year, _date(when) in session_days),
                f"{instrument.format(total)} of {instrument.format(instrument.max_total)}",
                *([read[1](total)] if read else []),
            )
            for when, total in reversed(scores)
        ],
        cutoff=None if cutoff is None else _cutoff_tick(scale, instrument, cutoff, plot),
    )


def _cutoff_tick(scale: "_Scale", instrument: Instrument, cutoff: float, plot: Plot) -> Tick:
    y = scale.y(cutoff)
    label = f"{instrument.cutoff.label} ({instrument.format(cutoff)})"
    # At the left, just under the line: a falling series' early points sit above it, its recent ones to the right.
    return Tick(y, label, _r(y + FONT_SIZE + 1 if y + FONT_SIZE + 1 < plot.bottom - 2 else y - 5))


def _against(total: float, cutoff: float) -> str:
    return "at or above the cut-off" if total >= cutoff else "below the cut-off"


def _reading(instrument: Instrument, cutoff: float | None):
    """Return the table's last column (heading, how a total reads) for the measure, or None."""
    if instrument.bands:
        return "Severity", instrument.band
    if cutoff is not None:
        return "Cut-off", lambda total: _against(total, cutoff)
    return None


def _scored(instrument: Instrument, total: float, cutoff: float | None) -> str:
    """Say a total with what it means: "12 (moderate)", "41 (at or above the cut-off)", or "6.3"."""
    read = _reading(instrument, cutoff)
    return f"{instrument.format(total)} ({read[1](total)})" if read else instrument.format(total)


def severity_ranges(instrument: Instrument) -> list[tuple[float, float, str]]:
    """Return (low, high, band) for shading; edges sit half a point below each cut-off.

    Totals are whole numbers, so a score of exactly 10 on the PHQ-9 lands inside
    "moderate" instead of on the line between two bands.
    """
    floors = [floor for floor, _ in instrument.bands]
    edges = [0, *(f - 0.5 for f in floors[1:]), instrument.max_total]
    return [(edges[i], edges[i + 1], name) for i, (_, name) in enumerate(instrument.bands)]


def _runs(days: list) -> list[list]:
    """Split days into runs of consecutive dates: a missing day breaks the line."""
    runs: list[list] = []
    for d in days:
        if runs and (d.day - runs[-1][-1].day).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def _x_ticks(window: Window, scale: _Scale) -> list[Tick]:
    n = window.days
    count = min(MAX_X_TICKS, n)
    indexes = sorted({round(i * (n - 1) / (count - 1)) for i in range(count)}) if count > 1 else [0]
    ticks = []
    for i in indexes:
        day = window.start + dt.timedelta(days=i)
        label = f"{day:%b %Y}" if n > 180 else f"{day.day} {day:%b}"
        x = scale.x(day)
        half = len(label) * FONT_SIZE * 0.3  # a generous guess at half the label's width
        ticks.append(Tick(x, label, _centred_within(x, half)))
    return ticks


def _centred_within(x: float, half: float) -> float:
    """Return where a label `half` units wide on each side is centred near x, kept inside the viewBox."""
    return _r(min(max(x, half + 2), WIDTH - half - 2))


def _y_tick(scale: _Scale, value: float, label: str) -> Tick:
    y = scale.y(value)
    return Tick(y, label, y)


def _markers(markers: list[dt.date], window: Window, scale: _Scale) -> list[float]:
    return [scale.x(day) for day in sorted(set(markers)) if day in window]


def _mood_summary(days: list, window: Window, voice: str = "you") -> str:
    if not days:
        return ""
    count = sum(d.count for d in days)
    mean = sum(d.total for d in days) / count
    low, high = min(d.low for d in days), max(d.high for d in days)
    return f"{_over(window, days[0].day)} {VOICES[voice][1]} average mood was {mean:.1f}, from {low} to {high}, on {counted(len(days), 'day')}."


def _score_summary(
    instrument: Instrument, scores: list, window: Window, cutoff: float | None = None, voice: str = "you"
) -> str:
    if not scores:
        return ""
    over = _over(window, _date(scores[0][0]))
    with_year = window.start.year != window.end.year
    (first, first_total), (last, last_total) = scores[0], scores[-1]
    if len(scores) == 1:
        return (
            f"{over} {VOICES[voice][0]} completed the {instrument.name} once: "
            f"{_scored(instrument, last_total, cutoff)} on {_on(last, with_year)}."
        )
    return (
        f"{over} {VOICES[voice][0]} completed the {instrument.name} {len(scores)} times. "
        f"{VOICES[voice][1].capitalize()} latest score was {_scored(instrument, last_total, cutoff)} "
        f"on {_on(last, with_year)}; the first was {_scored(instrument, first_total, cutoff)} "
        f"on {_on(first, with_year)}."
    )


def _over(window: Window, first: dt.date) -> str:
    if window.key == "all":
        return f"Since {first.day} {first:%B %Y},"
    return f"Over the last {window.key} days"


def _date(when: dt.date | dt.datetime) -> dt.date:
    return when.date() if isinstance(when, dt.datetime) else when


def _day(when: dt.date | dt.datetime, with_year: bool = False) -> str:
    day = _date(when)
    return f"{day:%a} {day.day} {day:%B}" + (f" {day.year}" if with_year else "")


def _row_day(when: dt.date | dt.datetime, with_year: bool, session: bool) -> str:
    # Short months keep a four-column table inside a phone's width.
    day = _date(when)
    text = f"{day:%a} {day.day} {day:%b}" + (f" {day.year}" if with_year else "")
    return text + (" (session day)" if session else "")


def _on(when: dt.date | dt.datetime, with_year: bool) -> str:
    day = _date(when)
    return f"{day.day} {day:%B}" + (f" {day.year}" if with_year else "")


def _span(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}–{high}"


def counted(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") and not noun.endswith("ay") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


def _css(band: str) -> str:
    return "chart-severity-" + band.replace(" ", "-")


def _r(value: float) -> float:
    return round(value, 1)


def _path(points: list[tuple[float, float]], close: bool = False) -> str:
    d = "M" + "L".join(f"{_r(x):g} {_r(y):g}" for x, y in points)
    return d + "Z" if close else d


def fit_labels(labels: list[str], room: float) -> tuple[list[str], int]:
    """Fit the groups' axis labels, `room` units apart, so that none runs into its neighbour.

    Return the labels and how many lines they take: one when they fit side by side, else two,
    alternating, with twice the room each. A label still too long keeps its beginning and an
    ellipsis; labels that would then read alike ("Evening dro…" twice) keep their ends too.
    """
    if all(len(label) * CHAR_WIDTH <= room for label in labels):
        return labels, 1
    rows = 2 if len(labels) > 1 else 1
    most = max(4, int(room * rows / CHAR_WIDTH))
    cut = [label if len(label) <= most else label[: most - 1] + "…" for label in labels]
    alike = {label for label in cut if cut.count(label) > 1}
    head = (most - 1) // 2
    tail = most - 1 - head
    return [
        label[:head] + "…" + label[-tail:] if short in alike and len(label) > most else short
        for label, short in zip(labels, cut, strict=True)
    ], rows


def spread_chart(
    key: str,
    title: str,
    summary: str,
    figures: list,
    *,
    low: float,
    high: float,
    ticks: Iterable[tuple[float, str]],
    columns: tuple[str, ...],
    connect: bool = True,
    empty_text: str = "",
    rows: list[tuple[str, ...]] | None = None,
) -> Chart:
    """Chart groups side by side (cohort figures): each group's mean as a point over its interquartile bar.

    A figure has `label`, `short` (the axis label), `n`, `mean`, `q1`, `q3` and `shown`; one that
    is not shown (too few patients) leaves a gap and says so in the table. `connect` joins
    neighbouring means with a line (an order in time, not a list of choices).
    """
    step = (WIDTH - 10 - 44) / max(1, len(figures))
    labels, lines_of_labels = fit_labels([figure.short for figure in figures], step)
    plot = Plot(left=44, top=10, right=WIDTH - 10, bottom=SCORE_HEIGHT - 30 - LABEL_ROW * (lines_of_labels - 1))

    def y(value: float) -> float:
        return _r(plot.bottom - (value - low) / (high - low) * plot.height)

    bands, points, x_ticks = [], [], []
    runs: list[list[tuple[float, float]]] = [[]]  # neighbouring means; a figure not shown breaks the run
    half = min(step * 0.18, 9)
    for i, figure in enumerate(figures):
        x = _r(plot.left + step * (i + 0.5))
        x_ticks.append(Tick(x, labels[i], _centred_within(x, len(labels[i]) * CHAR_WIDTH / 2), i % lines_of_labels))
        if not figure.shown:
            runs.append([])
            continue
        top, bottom = y(figure.q3), y(figure.q1)
        bands.append(_path([(x - half, top), (x + half, top), (x + half, bottom), (x - half, bottom)], close=True))
        points.append(Point(x, y(figure.mean), f"{figure.label}: {figure.reading}"))
        runs[-1].append((x, y(figure.mean)))
    lines = [_path(run) for run in runs if len(run) > 1] if connect else []
    if rows is None:
        rows = [(f.label, *f.cells) for f in figures]
    return Chart(
        key=key,
        title=title,
        summary=summary,
        empty_text=empty_text,
        height=SCORE_HEIGHT,
        plot=plot,
        y_ticks=[Tick(y(value), label, y(value)) for value, label in ticks],
        x_ticks=x_ticks,
        grid=[y(value) for value, _ in ticks],
        zones=[],
        bands=bands,
        lines=lines,
        points=points,
        markers=[],
        columns=columns,
        rows=rows,
    )
