"""PHQ-9 and GAD-7: published wording, scoring and severity bands (CLIN-01)."""

from dataclasses import dataclass

ANSWERS = (
    (0, "Not at all"),
    (1, "Several days"),
    (2, "More than half the days"),
    (3, "Nearly every day"),
)

DIFFICULTY = (
    (0, "Not difficult at all"),
    (1, "Somewhat difficult"),
    (2, "Very difficult"),
    (3, "Extremely difficult"),
)


@dataclass(frozen=True)
class Instrument:
    key: str
    name: str
    version: str
    stem: str
    items: tuple[str, ...]
    # (lowest total of the band, label), ascending
    bands: tuple[tuple[int, str], ...]
    asks_difficulty: bool

    @property
    def max_total(self) -> int:
        return 3 * len(self.items)

    def band(self, total: int) -> str:
        label = self.bands[0][1]
        for floor, name in self.bands:
            if total >= floor:
                label = name
        return label


PHQ9 = Instrument(
    key="phq9",
    name="PHQ-9",
    version="PHQ-9 (Kroenke, Spitzer & Williams 2001)",
    stem="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=(
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so "
        "fidgety or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead or of hurting yourself in some way",
    ),
    bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe")),
    asks_difficulty=True,
)

GAD7 = Instrument(
    key="gad7",
    name="GAD-7",
    version="GAD-7 (Spitzer, Kroenke, Williams & Löwe 2006)",
    stem="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        "Feeling nervous, anxious or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ),
    bands=((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")),
    asks_difficulty=True,
)

INSTRUMENTS = {PHQ9.key: PHQ9, GAD7.key: GAD7}
DIFFICULTY_QUESTION = (
    "If you checked off any problems, how difficult have these problems made it for you to do your work, "
    "take care of things at home, or get along with other people?"
)


class IncompleteAnswers(ValueError):
    """Raised when a questionnaire is missing answers or has answers out of range."""


@dataclass(frozen=True)
class Score:
    total: int
    band: str
    item9: int | None  # PHQ-9 only: the self-harm item, never summed away


def score(instrument: Instrument, answers: list, difficulty=None) -> Score:
    """Score a complete questionnaire exactly as published; refuse an incomplete one."""
    if not isinstance(answers, list | tuple) or len(answers) != len(instrument.items):
        raise IncompleteAnswers(f"{instrument.name} needs an answer to each of its {len(instrument.items)} questions.")
    for number, answer in enumerate(answers, start=1):
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= 3:
            raise IncompleteAnswers(f"Question {number} needs one of the four answers.")
    if difficulty is not None and (
        isinstance(difficulty, bool) or not isinstance(difficulty, int) or not 0 <= difficulty <= 3
    ):
        raise IncompleteAnswers("The last question needs one of the four answers, or none.")
    total = sum(answers)  # PHQ-9's difficulty question (item 10) is never part of the total
    return Score(total=total, band=instrument.band(total), item9=answers[8] if instrument is PHQ9 else None)


def response(baseline: int | None, current: int | None) -> bool:
    """Treatment response: a drop of at least 50% from baseline."""
    return bool(baseline and current is not None and current <= baseline / 2)


def remission(current: int | None) -> bool:
    """PHQ-9 remission: a total below 5."""
    return current is not None and current < 5


def worsening(previous: int | None, current: int | None) -> bool:
    """Clinically meaningful worsening: a rise of 5 points or more."""
    return previous is not None and current is not None and current - previous >= 5
