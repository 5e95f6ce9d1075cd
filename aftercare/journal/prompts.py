"""Journal prompts chosen by where the patient is: the window of clarity, a past session, or any day."""

import datetime as dt
from dataclasses import dataclass

from ..journey import scheduling
from ..localtime import local_day
from ..localtime import to_local
from ..models import COMPLETED
from ..models import Intention
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow

PROMPT_MAX = 500  # JournalEntry.prompt
QUOTE_MAX = 200  # how much of the intention the stored prompt repeats

INTENTION_LABELS = (
    ("explore", "What you hoped to explore"),
    ("let_go", "What you wanted to let go of"),
    ("carry", "The sentence you carried in"),
)
GENERAL = ("What is on your mind today?", "Anything you want to remember, or to tell your care team if you share it.")


@dataclass(frozen=True)
class Prompt:
    """What the new-entry page asks, and the text stored with the entry it answers."""

    heading: str
    questions: tuple[str, ...]
    session: TreatmentSession | None = None
    day: int | None = None  # days after the session, in the patient's calendar
    intro: str = ""  # "Before session 3 you wrote:"
    intention: tuple[tuple[str, str], ...] = ()  # (label, what the patient wrote)
    quote: str = ""  # the part of the intention the stored prompt repeats
    no_driving: bool = False  # within 24 hours of the session (CLIN-08)

    @property
    def text(self) -> str:
        """Return the prompt as one line, as stored with the entry (at most PROMPT_MAX characters)."""
        parts = []
        if self.quote:
            quote = " ".join(self.quote.split())
            if len(quote) > QUOTE_MAX:
                quote = quote[: QUOTE_MAX - 1].rstrip() + "…"
            parts.append(f"{self.intro} “{quote}”")
        parts += self.questions
        text = " ".join(parts)
        return text if len(text) <= PROMPT_MAX else text[: PROMPT_MAX - 1].rstrip() + "…"


def session_name(session: TreatmentSession, zone: str) -> str:
    if session.number:
        return f"session {session.number}"
    return f"your session on {to_local(session.starts_at, zone).strftime('%-d %B')}"


def _intention(session: TreatmentSession) -> dict[str, str]:
    """Return what the patient wrote before the session, by field, leaving out empty ones."""
    intention = Intention.get_or_none(Intention.session == session)
    if intention is None:
        return {}
    return {key: getattr(intention, key).strip() for key, _ in INTENTION_LABELS if getattr(intention, key).strip()}


def choose(patient: User, session: TreatmentSession | None = None, now: dt.datetime | None = None) -> Prompt:
    """Return the prompt for a new entry: about the session in the window of clarity (or the completed
    session given), with the intention shown back; otherwise a general one. `session` must be the patient's."""
    now = now or utcnow()
    window = scheduling.window(patient, now)
    no_driving = False
    if window is not None and (session is None or session.id == window.session.id):
        about, day, no_driving = window.session, window.day, window.no_driving
    elif session is not None and session.status == COMPLETED:
        about = session
        day = (local_day(now, patient.timezone) - local_day(session.starts_at, patient.timezone)).days
    else:
        return Prompt(heading="Write in your journal", questions=GENERAL, session=session)

    intention = _intention(about)
    name = session_name(about, patient.timezone)
    intro = f"Before {name} you wrote:"
    landed = ("How did it land?",) if intention else ()
    if day <= 0:
        heading = "Rest, and capture what comes up"
        questions = (*landed, "Today is for rest. If something comes up, a few words are enough, or a voice note.")
    elif day <= 3:
        heading = f"Day {day} after {name}"
        questions = (
            *landed,
            "What have you noticed since: in your body, your feelings, your thoughts?",
            "What do you want to carry forward?",
        )
    else:
        heading = f"Looking back on {name}"
        questions = (*landed, "What has stayed with you?")
    return Prompt(
        heading=heading,
        questions=questions,
        session=about,
        day=day,
        intro=intro,
        intention=tuple((label, intention[key]) for key, label in INTENTION_LABELS if key in intention),
        # The one sentence they carried in says it best; otherwise what they hoped to explore.
        quote=intention.get("carry") or intention.get("explore") or intention.get("let_go", ""),
        no_driving=no_driving,
    )
