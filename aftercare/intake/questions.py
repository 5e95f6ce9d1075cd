"""The intake questionnaire as data: its versions, which questions are asked, and reading the answers.

The starting questions are in questionnaire.toml. The clinic may add its own (a Yes/No or a
written answer, optionally highlighted for review on "Yes"); each change is a new IntakeForm row
holding every question as worded then, so an answer always keeps the meaning it had when given.

Answers arrive as form fields named by question key (weight and height also carry their unit);
`read` turns them into the stored answers: plain values by key, weight in kilograms and height
in centimetres, and what the patient typed beside them ("154 lb", "5 ft 9 in").
"""

import functools
import json
import re
import tomllib
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from ..inputs import clean_text

STARTING = Path(__file__).with_name("questionnaire.toml")
CLINIC_SECTION = "clinic"
TEXT_MAX = 1000
KG_PER_LB = 0.45359237
CM_PER_IN = 2.54
WEIGHT_KG = (30.0, 300.0)  # an adult's weight outside this is a typing slip (or the wrong unit)
HEIGHT_CM = (120.0, 230.0)
YES_NO = [["yes", "Yes"], ["no", "No"]]
UNSURE = ["unsure", "Not sure"]
_CONDITION = re.compile(r"^(\w+)(!=|>=|=|~)(.+)$")


@dataclass(frozen=True)
class Question:
    key: str
    type: str  # yesno, choice, multi, text, weight, height
    text: str
    choices: tuple[tuple[str, str], ...] = ()
    when: str = ""  # "key=value", "key!=value": asked only then
    required: bool = True
    flag: str = ""  # a clinic question's reason to highlight a "Yes" for review

    @property
    def values(self) -> set[str]:
        return {value for value, _ in self.choices}

    def label(self, value: str) -> str:
        return dict(self.choices).get(value, value)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    questions: tuple[Question, ...] = field(default_factory=tuple)


def starting_sections() -> list[dict]:
    """The starting questionnaire as plain data (what an IntakeForm row stores): a fresh copy each call."""
    return json.loads(_starting_json())


@functools.cache
def _starting_json() -> str:
    """The shipped questions, read and parsed once per process (every saved draft compares against them)."""
    with STARTING.open("rb") as handle:
        sections = tomllib.load(handle)["sections"]
    for section in sections:
        for question in section["questions"]:
            if question["type"] == "yesno":
                question["choices"] = YES_NO + ([UNSURE] if question.pop("unsure", False) else [])
    return json.dumps(sections)


def sections_of(data: str | list) -> list[Section]:
    """Return a form version's sections from its stored JSON."""
    raw = json.loads(data) if isinstance(data, str) else data
    return [
        Section(
            key=s["key"],
            title=s["title"],
            intro=s.get("intro", ""),
            questions=tuple(
                Question(
                    key=q["key"],
                    type=q["type"],
                    text=q["text"],
                    choices=tuple((str(v), str(label)) for v, label in q.get("choices", ())),
                    when=q.get("when", ""),
                    required=q.get("required", True),
                    flag=q.get("flag", ""),
                )
                for q in s["questions"]
            ),
        )
        for s in raw
    ]


def holds(condition: str, values: dict) -> bool:
    """Tell whether a condition holds on the answers (and worked-out values like bmi).

    "bp=yes", "bp=yes|unsure" (one of), "audit_c1!=0", "bmi>=40", "medicines~maoi" (ticked).
    """
    if not condition:
        return True
    match = _CONDITION.match(condition)
    if match is None:
        raise ValueError(f"cannot read the condition {condition!r}")
    key, op, wanted = match.groups()
    value = values.get(key)
    if op == "~":
        return isinstance(value, list) and wanted in value
    if op == ">=":
        return isinstance(value, int | float) and value >= float(wanted)
    if value is None:
        return False
    found = str(value) in wanted.split("|")
    return found if op == "=" else not found


def asked(sections: list[Section], answers: dict) -> list[Question]:
    """The questions asked, given the answers so far (a conditional question only when its condition holds)."""
    return [q for s in sections for q in s.questions if holds(q.when, answers)]


class Answers(dict):
    """The answers read from a form, with a message by field for what could not be read."""

    def __init__(self):
        super().__init__()
        self.errors: dict[str, str] = {}


def read(sections: list[Section], form, *, complete: bool) -> Answers:
    """Read the answers from submitted fields (a MultiDict or a dict of strings and lists).

    With complete=False (a draft) a missing answer is no error; a wrong one always is. Only the
    questions asked are kept: one whose condition no longer holds is dropped with its answer.
    """
    answers = Answers()
    for section in sections:
        for q in section.questions:
            _read_one(q, form, answers)
    for q in [q for s in sections for q in s.questions]:
        if not holds(q.when, answers):
            answers.pop(q.key, None)
            answers.pop(f"{q.key}_entered", None)
            answers.errors.pop(q.key, None)
        elif complete and q.type == "multi" and q.key not in answers and q.key not in answers.errors:
            answers[q.key] = []  # a form sends no unticked box: none of these
        elif complete and q.required and q.key not in answers and q.key not in answers.errors:
            answers.errors[q.key] = "Please answer this question."
    return answers


def _get(form, key: str) -> str:
    value = form.get(key, "")
    return clean_text(value) if isinstance(value, str) else ""


def _getlist(form, key: str) -> list[str]:
    if hasattr(form, "getlist"):
        return form.getlist(key)
    value = form.get(key, [])
    return value if isinstance(value, list) else [value]


def _read_one(q: Question, form, answers: Answers) -> None:
    if q.type in ("yesno", "choice"):
        value = _get(form, q.key)
        if value in q.values:
            answers[q.key] = value
        elif value:
            answers.errors[q.key] = "Please choose one of the answers shown."
    elif q.type == "multi":
        values = [v for v in _getlist(form, q.key) if isinstance(v, str) and v]
        if any(v not in q.values for v in values):
            answers.errors[q.key] = "Please choose from the answers shown."
        elif values:
            answers[q.key] = [value for value, _ in q.choices if value in values]
    elif q.type == "text":
        value = _get(form, q.key)
        if len(value) > TEXT_MAX:
            answers.errors[q.key] = f"Please keep this under {TEXT_MAX} characters."
        elif value:
            answers[q.key] = value
    elif q.type == "weight":
        _read_weight(q, form, answers)
    elif q.type == "height":
        _read_height(q, form, answers)


def _number(text: str) -> float | None:
    text = text.replace(",", ".").strip()
    if not re.fullmatch(r"[0-9]{1,4}(\.[0-9]{1,2})?", text):
        return None
    return float(text)


def _read_weight(q: Question, form, answers: Answers) -> None:
    typed, unit = _get(form, q.key), _get(form, f"{q.key}_unit") or "kg"
    if not typed:
        return
    number = _number(typed)
    if unit not in ("kg", "lb") or number is None:
        answers.errors[q.key] = "Please give your weight as a number, in kilograms or pounds."
        return
    kg = number * KG_PER_LB if unit == "lb" else number
    if not WEIGHT_KG[0] <= kg <= WEIGHT_KG[1]:
        answers.errors[q.key] = (
            f"{typed} {unit} does not look right for an adult. Please check the number and the unit (kg or lb)."
        )
        return
    answers[q.key] = round(kg, 1)
    answers[f"{q.key}_entered"] = f"{typed} {unit}"


def _read_height(q: Question, form, answers: Answers) -> None:
    unit = _get(form, f"{q.key}_unit") or "cm"
    if unit == "cm":
        typed = _get(form, q.key)
        if not typed:
            return
        number = _number(typed)
        entered = f"{typed} cm"
        cm = number
    elif unit == "ftin":
        feet, inches = _get(form, f"{q.key}_ft"), _get(form, f"{q.key}_in") or "0"
        if not feet:
            return
        ft_n, in_n = _number(feet), _number(inches)
        entered = f"{feet} ft {inches} in"
        cm = None if ft_n is None or in_n is None or in_n >= 12 else (ft_n * 12 + in_n) * CM_PER_IN
    else:
        cm = None
        entered = ""
    if cm is None:
        answers.errors[q.key] = "Please give your height as a number: centimetres, or feet and inches."
        return
    if not HEIGHT_CM[0] <= cm <= HEIGHT_CM[1]:
        answers.errors[q.key] = f"{entered} does not look right. Please check the number and the unit."
        return
    answers[q.key] = round(cm, 1)
    answers[f"{q.key}_entered"] = entered


def shown(q: Question, answers: dict) -> str:
    """An answer as the clinician and the patient read it, or "" if there is none."""
    value = answers.get(q.key)
    if value is None:
        return ""
    if q.type == "multi":
        return "; ".join(q.label(v) for v in value) or "None of these"
    if q.type == "weight":
        entered = answers.get(f"{q.key}_entered", "")
        return f"{value:g} kg" + (f" (entered as {entered})" if entered and not entered.endswith(" kg") else "")
    if q.type == "height":
        entered = answers.get(f"{q.key}_entered", "")
        return f"{value:g} cm" + (f" (entered as {entered})" if entered and not entered.endswith(" cm") else "")
    if q.type == "text":
        return str(value)
    return q.label(str(value))


def fields_of(answers: dict) -> dict:
    """The form's fields filled in from stored answers (weight and height as the patient typed them)."""
    fields = {key: value for key, value in answers.items() if not key.endswith("_entered")}
    for key in ("weight", "height"):
        entered = str(answers.get(f"{key}_entered", ""))
        if not entered:
            continue
        parts = entered.split()
        if parts[-1] in ("kg", "lb", "cm"):
            fields[key], fields[f"{key}_unit"] = parts[0], parts[-1]
        elif len(parts) == 4 and parts[1] == "ft":
            fields[f"{key}_unit"], fields[f"{key}_ft"], fields[f"{key}_in"] = "ftin", parts[0], parts[2]
            fields.pop(key, None)
    return fields
