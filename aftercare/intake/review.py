"""What in an intake needs a clinician's eye: one table of rules, each with the reason shown, and AUDIT-C.

A rule is a list of conditions (questions.holds) that must all hold, and the reason the clinician
reads beside the answer. Rules name question keys, which keep their meaning across versions of
the questionnaire. The patient never sees these.
"""

from dataclasses import dataclass

from .questions import holds
from .questions import Section

YES_OR_UNSURE = "yes|unsure"

# AUDIT-C (Bush et al. 1998; cut-offs as Bradley et al. 2007): three items scored 0-4, total 0-12.
# "Never" to the first item scores the other two 0. A total of 4 or more is positive for men,
# 3 or more for women; "prefer not to say" uses the lower cut-off.
AUDIT_C_ITEMS = ("audit_c1", "audit_c2", "audit_c3")
AUDIT_C_CUT = {"male": 4, "female": 3, "unsaid": 3}


@dataclass(frozen=True)
class Rule:
    when: tuple[str, ...]
    reason: str
    key: str  # the question the highlight sits beside


RULES = (
    Rule(("bp=yes", "bp_treated=no|unsure"), "High blood pressure, not treated: check it on the day", "bp"),
    Rule(("bp=yes", "bp_treated=yes"), "Treated high blood pressure: check it on the day", "bp"),
    Rule(("bp=unsure",), "Not sure about high blood pressure: check it on the day", "bp"),
    Rule((f"heart={YES_OR_UNSURE}",), "Heart disease or irregular heartbeat: cardiac history before dosing", "heart"),
    Rule((f"brain={YES_OR_UNSURE}",), "Stroke or brain injury: ketamine can raise pressure in the head", "brain"),
    Rule((f"pressure={YES_OR_UNSURE}",), "Raised eye or head pressure: ketamine can raise it further", "pressure"),
    Rule((f"liver={YES_OR_UNSURE}",), "Liver disease: ketamine is cleared by the liver", "liver"),
    Rule((f"seizures={YES_OR_UNSURE}",), "Seizures: review before dosing", "seizures"),
    Rule(("bladder=yes",), "Bladder symptoms: ketamine can harm the bladder over repeated doses", "bladder"),
    Rule((f"apnoea={YES_OR_UNSURE}",), "Sleep apnoea: watch the airway during and after dosing", "apnoea"),
    Rule(("bmi>=40",), "BMI of 40 or more: watch the airway; dose by weight", "weight"),
    Rule((f"pregnant={YES_OR_UNSURE}",), "Possible pregnancy: do not dose until it is ruled out", "pregnant"),
    Rule(("conceiving=yes",), "Trying to conceive: discuss before dosing", "conceiving"),
    Rule(("breastfeeding=yes",), "Breastfeeding: discuss before dosing", "breastfeeding"),
    Rule((f"psychosis={YES_OR_UNSURE}",), "Psychosis or schizophrenia: usually a reason not to treat", "psychosis"),
    Rule((f"mania={YES_OR_UNSURE}",), "Mania or bipolar disorder: risk of a switch into mania", "mania"),
    Rule((f"dissociative={YES_OR_UNSURE}",), "Dissociative disorder: review before dosing", "dissociative"),
    Rule((f"eating={YES_OR_UNSURE}",), "Eating disorder: review before dosing", "eating"),
    Rule(("hospital=yes",), "Earlier hospital stay for mental health: review the history", "hospital"),
    Rule(("suicidal_now=yes",), "Thoughts of ending their life now: a safety alert was raised", "suicidal_now"),
    Rule(("attempt_past=yes",), "Past suicide attempt: review before the first session", "attempt_past"),
    Rule(("audit_c_positive=yes",), "AUDIT-C {audit_c} of 12, at or above the cut-off of {audit_c_cut}", "audit_c1"),
    Rule(("cannabis=weekly|daily",), "Regular cannabis use: review", "cannabis"),
    Rule(("stimulants=monthly|weekly|daily",), "Stimulant use in the last year: review", "stimulants"),
    Rule(
        ("dissociatives_before=other",),
        "Ketamine or dissociatives used outside treatment: misuse risk",
        "dissociatives_before",
    ),
    Rule(("medicines~benzodiazepine",), "Benzodiazepine: can blunt ketamine's effect; plan the timing", "medicines"),
    Rule(("medicines~lamotrigine",), "Lamotrigine: can blunt ketamine's effect", "medicines"),
    Rule(("medicines~maoi",), "MAOI: blood pressure can rise with ketamine", "medicines"),
    Rule(("medicines~stimulant",), "Prescribed stimulant: blood pressure can rise with ketamine", "medicines"),
    Rule(("medicines~opioid",), "Opioid: more sedation and slower breathing", "medicines"),
    Rule((f"reaction={YES_OR_UNSURE}",), "Earlier reaction to an anaesthetic or ketamine: review", "reaction"),
)


def audit_c(answers: dict) -> int | None:
    """Return the AUDIT-C total (0-12), or None if the questions were not all answered."""
    first = answers.get("audit_c1")
    if first is None:
        return None
    if first == "0":
        return 0
    rest = [answers.get(key) for key in AUDIT_C_ITEMS[1:]]
    if any(value is None for value in rest):
        return None
    return int(first) + sum(int(value) for value in rest)


def worked_out(answers: dict) -> dict:
    """The values the rules read besides the answers: BMI and the AUDIT-C score and its cut-off."""
    values = dict(answers)
    weight, height = answers.get("weight"), answers.get("height")
    if isinstance(weight, int | float) and isinstance(height, int | float) and height > 0:
        values["bmi"] = round(weight / (height / 100) ** 2, 1)
    score = audit_c(answers)
    if score is not None:
        cut = AUDIT_C_CUT.get(answers.get("sex", "unsaid"), AUDIT_C_CUT["unsaid"])
        values.update(audit_c=score, audit_c_cut=cut, audit_c_positive="yes" if score >= cut else "no")
    return values


@dataclass(frozen=True)
class Highlight:
    key: str
    reason: str


def highlights(sections: list[Section], answers: dict) -> list[Highlight]:
    """Return what needs a clinician's eye, in the questionnaire's order, each with its reason."""
    values = worked_out(answers)
    found = [
        Highlight(rule.key, rule.reason.format(**values)) for rule in RULES if all(holds(c, values) for c in rule.when)
    ]
    # The clinic's own questions: a "Yes" is highlighted with the reason the clinic gave.
    found += [Highlight(q.key, q.flag) for s in sections for q in s.questions if q.flag and answers.get(q.key) == "yes"]
    order = {q.key: n for n, q in enumerate(q for s in sections for q in s.questions)}
    return sorted(found, key=lambda h: order.get(h.key, len(order)))
