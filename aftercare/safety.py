"""Safety: crisis language in free text and the alerts a clinician must acknowledge (CLIN-02..04)."""

import re
import unicodedata

# Sensitivity over precision (CLIN-04): a false alarm costs a clinician a minute;
# a miss can cost far more. Matched on lower-cased text with apostrophes folded.
CRISIS_PATTERNS = [
    r"\bsuicid\w*",
    r"\bkill(?:ing)? (?:my ?self|me)\b",
    r"\bend(?:ing)? (?:my (?:own )?life|it all)\b",
    r"\btake my (?:own )?life\b",
    r"\b(?:want|wanted|wanna|going) to die\b",
    r"\bwish i (?:was|were) dead\b",
    r"\bbetter off dead\b",
    r"\bbetter off without me\b",
    r"\bno (?:reason|point) (?:to|in) (?:live|living|go on|going on)\b",
    r"\bdon'?t want to (?:live|be alive|be here|wake up)\b",
    r"\b(?:hurt|harm|cut|cutting|hurting|harming) my ?self\b",
    r"\bself[- ]?harm\w*",
    r"\boverdos\w*",
    r"\bhang(?:ing)? my ?self\b",
    r"\bnot (?:be|being) (?:here|around) anymore\b",
    r"\bcan'?t go on\b",
]
_CRISIS_RE = re.compile("|".join(CRISIS_PATTERNS))


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("’", "'").replace("‘", "'")


def has_crisis_language(text: str | None) -> bool:
    """Tell whether free text contains words that should bring up crisis resources."""
    return bool(text) and _CRISIS_RE.search(normalise(text)) is not None


# CLIN-08: for 24 hours after a session the patient must not drive, ride or operate machinery,
# so nothing offered to them in that time may suggest it. Also sensitivity over precision.
_DRIVING_RE = re.compile(
    r"\b(?:driv(?:e|es|ing|en)|drove|cars?|"
    r"(?:bi|bicy|motorcy|motorbi)(?:cle|cles|cling|ke|kes|king)|cycl(?:e|es|ing|ist)|bikes?|biking|"
    r"scooters?|skateboard\w*|ride (?:a|your) \w+|machinery|heavy equipment|power tools?|chainsaw\w*|"
    r"operat(?:e|ing) (?:a |any |the )?(?:machine|vehicle|equipment)\w*)\b"
)


# Words that turn a mention of driving into the opposite of a prompt: "no driving until tomorrow",
# "please do not drive", "avoid the car". Looked for just before the driving word, in the same clause.
_NEGATION_RE = re.compile(
    r"\b(?:no|not|never|avoid(?:ing)?|without|refrain from|stay away from|don'?t|doesn'?t|shouldn'?t|mustn'?t|"
    r"can'?t|cannot|won'?t|nor|instead of)\b[^.;!?:]{0,40}$"
)


def suggests_driving(text: str | None) -> bool:
    """Tell whether text prompts driving, riding or machinery (CLIN-08).

    "Drive to the pharmacy" does; "no driving or machinery until tomorrow" does not: a reminder on the
    day of a session may tell the patient not to drive, but must never suggest that they do.
    """
    if not text:
        return False
    normal = normalise(text)
    for match in _DRIVING_RE.finditer(normal):
        clause_start = max(normal.rfind(mark, 0, match.start()) for mark in ".;!?\n") + 1
        if not _NEGATION_RE.search(normal[clause_start : match.start()]):
            return True
    return False
