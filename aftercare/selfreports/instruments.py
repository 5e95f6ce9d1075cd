"""The questionnaires patients answer, as data: wording, answer scales, scoring, bands, safety item, change.

Each measure is one TOML file in measures/ (its published wording, answer scale, how it is scored,
its bands, safety item, meaningful change and response/remission rules). Everything that shows,
scores, charts, exports or checks a questionnaire loops over INSTRUMENTS, so a new measure is one
file there plus its tests. Scoring follows each publication exactly (CLIN-01): an incomplete
questionnaire is refused, never guessed.
"""

import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

Choices = tuple[tuple[int, str], ...]

MEASURES = Path(__file__).parent / "measures"


@dataclass(frozen=True)
class Item:
    text: str
    choices: Choices  # the answer scale, lowest first

    @property
    def low(self) -> int:
        return self.choices[0][0]

    @property
    def high(self) -> int:
        return self.choices[-1][0]


@dataclass(frozen=True)
class Extra:
    """A question asked after the items and never scored (PHQ-9's item 10, the difficulty question)."""

    text: str
    choices: Choices


@dataclass(frozen=True)
class Subscale:
    key: str
    label: str
    items: tuple[int, ...]  # item numbers, from 1


@dataclass(frozen=True)
class Change:
    """What change in the score is clinically meaningful: a number of points, or a percentage of the baseline."""

    points: float | None = None
    percent: float | None = None

    def meaningful(self, before: float, after: float) -> bool:
        """Tell whether a rise (a worsening: higher is worse on every measure here) is meaningful."""
        if self.points is not None:
            return after - before >= self.points
        if self.percent is not None and before > 0:
            return (after - before) / before * 100 >= self.percent
        return False


@dataclass(frozen=True)
class Outcomes:
    """Response (or meaningful improvement) and remission as a measure defines them, against a baseline."""

    response_drop_percent: float | None = None  # a later score at least this far below the baseline...
    response_drop_points: float | None = None  # ...or at least this many points below it...
    response_min_baseline: float = 0  # ...from a baseline at least this high
    response_label: str = "Response"  # how pages name it
    remission_below: float | None = None  # a later score below this...
    remission_min_baseline: float = 0  # ...from a baseline at least this high

    def response(self, baseline: float, latest: float) -> bool:
        if baseline < self.response_min_baseline:
            return False
        if self.response_drop_points is not None:
            return baseline - latest >= self.response_drop_points
        if self.response_drop_percent is not None:
            # A drop from a baseline of 0 is no drop at all.
            return baseline > 0 and latest <= baseline * (1 - self.response_drop_percent / 100) + 1e-9
        return False

    def remission(self, baseline: float, latest: float) -> bool:
        if self.remission_below is None:
            return False
        return baseline >= self.remission_min_baseline and latest < self.remission_below


@dataclass(frozen=True)
class Rule:
    """A diagnostic rule over the answers: enough items rated high enough in each subscale (PCL-5's DSM-5 rule)."""

    rated_at_least: int  # an item counts as a symptom endorsed from this answer up
    needs: tuple[tuple[str, int], ...]  # (subscale key, symptoms it needs)
    met: str  # the label of an answer set that meets the rule...
    not_met: str  # ...and of one that does not

    def holds(self, answers, subscales: tuple["Subscale", ...]) -> bool:
        items = {s.key: s.items for s in subscales}
        return all(sum(answers[n - 1] >= self.rated_at_least for n in items[key]) >= count for key, count in self.needs)


@dataclass(frozen=True)
class Cutoff:
    """A total at or above which a measure suggests the condition; each clinic may set its own (settings)."""

    default: float
    label: str


@dataclass(frozen=True)
class Rhythm:
    """When a measure is asked for: at the start, after these dosing sessions, and every so many days."""

    after_sessions: tuple[int, ...] = ()
    every_days: int | None = None

    def describe(self) -> str:
        """Say when: "at the start, after sessions 2, 4 and 6, and every 4 weeks"."""
        parts = ["at the start"]
        if self.after_sessions:
            numbers = [str(n) for n in self.after_sessions]
            listed = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
            parts.append(f"after session{'s' if len(numbers) > 1 else ''} {listed}")
        if self.every_days:
            weeks = self.every_days / 7
            if weeks == 1:
                parts.append("every week")
            else:
                parts.append(f"every {weeks:g} weeks" if weeks.is_integer() else f"every {self.every_days} days")
        if len(parts) == 1:
            return parts[0]
        return ", ".join(parts[:-1]) + ("," if len(parts) > 2 else "") + " and " + parts[-1]


@dataclass(frozen=True)
class Score:
    total: float  # a whole number for summed measures
    band: str
    subscores: dict[str, float] = field(default_factory=dict)
    safety_answer: int | None = None  # the answer to the safety item, if the measure has one
    rule_met: bool | None = None  # whether the answers meet the measure's diagnostic rule, if it has one


class IncompleteAnswers(ValueError):
    """Raised when a questionnaire is missing answers or has answers out of range."""


@dataclass(frozen=True)
class Instrument:
    key: str  # stored with each check-in, and the API's `instrument`
    name: str  # PHQ-9
    title: str  # in plain words: "Mood questionnaire"
    condition: str  # what it measures: "depression"
    version: str  # stored with each answer set
    stem: str  # the question before the items, with its recall period
    items: tuple[Item, ...]
    bands: tuple[tuple[float, str], ...]  # (lowest total of the band, its name), ascending
    change: Change  # what rise is meaningful worsening
    minutes: int  # about how long it takes
    scoring: str = "sum"  # "sum" or "mean"
    decimals: int = 0  # how a total is shown
    extra: Extra | None = None
    subscales: tuple[Subscale, ...] = ()
    safety_item: int | None = None  # the item number whose answer above 0 needs crisis help (CLIN-02)
    safety_label: str = ""  # how the alert names that item
    outcomes: Outcomes | None = None
    rhythm: Rhythm = Rhythm()
    notice: str = ""  # said before the first item (the PCL-5 asks about trauma)
    rule: Rule | None = None  # a diagnostic rule whose result is the answer set's band
    cutoff: Cutoff | None = None  # drawn as a line on charts

    @property
    def max_total(self) -> float:
        highs = [item.high for item in self.items]
        return sum(highs) if self.scoring == "sum" else max(highs)

    @property
    def min_total(self) -> float:
        lows = [item.low for item in self.items]
        return sum(lows) if self.scoring == "sum" else min(lows)

    def band(self, total: float) -> str:
        """Name the severity band of a total ("" for a measure without bands)."""
        if not self.bands:
            return ""
        label = self.bands[0][1]
        for floor, name in self.bands:
            if total >= floor:
                label = name
        return label

    def format(self, total: float) -> str:
        """Show a total as the measure reports it: 12, or 6.3."""
        return f"{total:.{self.decimals}f}"

    def number(self, total: float) -> int | float:
        """Return a total as the measure reports it, for JSON: 12, or 6.3."""
        return int(total) if self.decimals == 0 else round(total, self.decimals)

    def answer_label(self, number: int, answer: int) -> str:
        return dict(self.items[number - 1].choices).get(answer, str(answer))

    def score(self, answers, extra=None) -> Score:
        """Score a complete answer set exactly as published; raise IncompleteAnswers for anything else."""
        if not isinstance(answers, list | tuple) or len(answers) != len(self.items):
            raise IncompleteAnswers(f"{self.name} needs an answer to each of its {len(self.items)} questions.")
        for number, (answer, item) in enumerate(zip(answers, self.items, strict=True), start=1):
            if isinstance(answer, bool) or not isinstance(answer, int) or not item.low <= answer <= item.high:
                raise IncompleteAnswers(f"Question {number} needs {_one_of(item.choices)}.")
        if extra is not None:
            if self.extra is None:
                raise IncompleteAnswers(f"{self.name} has no question after its {len(self.items)} items.")
            values = [value for value, _ in self.extra.choices]
            if isinstance(extra, bool) or not isinstance(extra, int) or extra not in values:
                raise IncompleteAnswers(f"The last question needs {_one_of(self.extra.choices)}, or none.")
        total = self._combine(answers)
        subscores = {s.key: self._combine([answers[n - 1] for n in s.items]) for s in self.subscales}
        safety = answers[self.safety_item - 1] if self.safety_item else None
        if self.rule is None:
            return Score(total=total, band=self.band(total), subscores=subscores, safety_answer=safety)
        met = self.rule.holds(answers, self.subscales)
        band = self.rule.met if met else self.rule.not_met
        return Score(total=total, band=band, subscores=subscores, safety_answer=safety, rule_met=met)

    def _combine(self, answers) -> float:
        if self.scoring == "sum":
            return sum(answers)
        return _round_half_up(sum(answers) / len(answers), self.decimals)


_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def _one_of(choices: Choices) -> str:
    """Say what a question needs: "one of the four answers", or "an answer from 0 to 10"."""
    if len(choices) in _COUNTS:
        return f"one of the {_COUNTS[len(choices)]} answers"
    return f"an answer from {choices[0][0]} to {choices[-1][0]}"


def _round_half_up(value: float, decimals: int) -> float:
    # Python's round() rounds halves to even; published scoring rounds them up.
    factor = 10**decimals
    return math.floor(value * factor + 0.5 + 1e-9) / factor


def _choices(scales: dict, name: str) -> Choices:
    return tuple((int(value), str(words)) for value, words in scales[name])


def load(path: Path, scales: dict) -> Instrument:
    """Read one measure's definition (a TOML file in measures/) into an Instrument."""
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    default = spec.get("answers")
    items = tuple(
        Item(item, _choices(scales, default))
        if isinstance(item, str)
        else Item(item["text"], _choices(scales, item["answers"]))
        for item in spec["items"]
    )
    extra = spec.get("extra")
    safety = spec.get("safety", {})
    outcomes = spec.get("outcomes")
    rule = spec.get("rule")
    cutoff = spec.get("cutoff")
    return Instrument(
        key=spec["key"],
        name=spec["name"],
        title=spec["title"],
        condition=spec["condition"],
        version=spec["version"],
        stem=spec["stem"],
        items=items,
        bands=tuple((float(floor), name) for floor, name in spec["bands"]),
        change=Change(**spec.get("change", {})),
        minutes=spec["minutes"],
        scoring=spec.get("scoring", "sum"),
        decimals=spec.get("decimals", 0),
        extra=Extra(extra["text"], _choices(scales, extra["answers"])) if extra else None,
        subscales=tuple(Subscale(s["key"], s["label"], tuple(s["items"])) for s in spec.get("subscales", ())),
        safety_item=safety.get("item"),
        safety_label=safety.get("label", ""),
        outcomes=Outcomes(**outcomes) if outcomes else None,
        rhythm=Rhythm(
            after_sessions=tuple(spec.get("rhythm", {}).get("after_sessions", ())),
            every_days=spec.get("rhythm", {}).get("every_days"),
        ),
        notice=spec.get("notice", ""),
        rule=Rule(rule["rated_at_least"], tuple(rule["needs"].items()), rule["met"], rule["not_met"]) if rule else None,
        cutoff=Cutoff(float(cutoff["default"]), cutoff["label"]) if cutoff else None,
    )


def load_all(folder: Path = MEASURES) -> dict[str, Instrument]:
    """Read every measure in the folder, in their stated order: the questionnaires patients may answer."""
    scales = tomllib.loads((folder / "scales.toml").read_text(encoding="utf-8"))
    specs = sorted(
        (tomllib.loads(path.read_text(encoding="utf-8"))["order"], path)
        for path in folder.glob("*.toml")
        if path.name != "scales.toml"
    )
    return {instrument.key: instrument for instrument in (load(path, scales) for _, path in specs)}


INSTRUMENTS: dict[str, Instrument] = load_all()
PHQ9 = INSTRUMENTS["phq9"]
GAD7 = INSTRUMENTS["gad7"]


def chosen(patient) -> list[Instrument]:
    """Return the measures a patient is asked for (their clinician's choice, User.measures), in order."""
    keys = set((patient.measures or "").split(","))
    return [spec for key, spec in INSTRUMENTS.items() if key in keys]


def shown(patient, answered: Iterable[str] = ()) -> list[Instrument]:
    """Return the measures to show for a patient: those asked for, and any answered before (its history stays)."""
    keys = {spec.key for spec in chosen(patient)} | set(answered)
    return [spec for key, spec in INSTRUMENTS.items() if key in keys]
