"""Crisis resources shown on the crisis page, the offline page and after alarming answers."""

from dataclasses import dataclass

from . import settings

# One resource per line: "name | what to do | link". The link is optional
# (tel:, sms: or https:). Admins replace this for their country.
DEFAULT_LINES = """\
988 Suicide & Crisis Lifeline | Call 988 | tel:988
988 Suicide & Crisis Lifeline | Text 988 | sms:988
Emergency services | Call 911 | tel:911
Crisis Text Line | Text HOME to 741741 | sms:741741?&body=HOME"""

ALLOWED_SCHEMES = ("tel:", "sms:", "https://")


@dataclass(frozen=True)
class CrisisLine:
    label: str
    action: str
    href: str


def parse(text: str) -> tuple[list[CrisisLine], list[str]]:
    """Parse the admin's text into lines; return (lines, problems)."""
    lines, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split("|")]
        if len(parts) < 2 or not parts[0] or not parts[1] or len(parts) > 3:
            problems.append(f"Line {number}: write it as “name | what to do | link”.")
            continue
        href = parts[2] if len(parts) == 3 else ""
        if href and not href.startswith(ALLOWED_SCHEMES):
            problems.append(f"Line {number}: the link must start with tel:, sms: or https://.")
            continue
        lines.append(CrisisLine(parts[0][:80], parts[1][:80], href[:200]))
    if not lines and not problems:
        problems.append("Add at least one crisis resource.")
    return lines, problems


def current_lines() -> list[CrisisLine]:
    """Return the clinic's crisis resources (the US defaults until an admin sets them)."""
    lines, problems = parse(settings.current().crisis_lines or DEFAULT_LINES)
    return lines if lines and not problems else parse(DEFAULT_LINES)[0]


def clinic_phone() -> str:
    return settings.current().phone
