"""The guides: the clinic's edits (each a new version), its own guides, and the guide for a patient's stage.

The starting set (starting.toml) is put in by migration 0010. Guides hold no patient data: they are
public pages the service worker keeps for offline reading.
"""

import datetime as dt
import re

from peewee import fn

from .. import settings
from ..db import db
from ..inputs import clean_text
from ..inputs import Invalid
from ..models import AuditEvent
from ..models import ClinicSetting
from ..models import DOSING_KINDS
from ..models import Guide
from ..models import TreatmentSession
from ..models import User
from ..models import utcnow

STAGES = {
    "before": "Before your first session",
    "day": "The day of a session",
    "first24": "The first 24 hours",
    "window": "Days 1 to 3",
    "between": "Between sessions",
    "help": "Getting help now",
    "other": "More from your clinic",
}
SESSION_SOON_HOURS = 48  # a session this close: the guide to the day itself
TITLE_MAX, SUMMARY_MAX, BODY_MAX = 120, 240, 8000
_SLUG = re.compile(r"[^a-z0-9]+")


def published() -> list[Guide]:
    return list(Guide.select().where(Guide.active == True).order_by(Guide.position, Guide.id))  # noqa: E712


def every() -> list[Guide]:
    """Every guide for the clinic's list: those shown to patients in their order, then the hidden ones."""
    return list(Guide.select().order_by(Guide.active.desc(), Guide.position, Guide.id))


def find(slug: str) -> Guide | None:
    return Guide.get_or_none(Guide.slug == slug)


def blocks(body: str) -> list[tuple[str, object]]:
    """Split a guide's text into ("p", text) paragraphs and ("ul", [items]) lists, for the page (no HTML)."""
    found = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        text = [line for line in lines if not line.startswith("- ")]
        items = [line[2:].strip() for line in lines if line.startswith("- ")]
        if text:
            found.append(("p", " ".join(text)))
        if items:
            found.append(("ul", items))
    return found


def stage_of(sessions: list[TreatmentSession], now: dt.datetime | None = None) -> str:
    """The stage of treatment a patient is in, from their sessions, for the guide Today offers."""
    now = now or utcnow()
    dosing = sorted(
        s.starts_at for s in sessions if s.kind in DOSING_KINDS and s.status not in ("cancelled", "no_show")
    )
    held = [at for at in dosing if at <= now]
    coming = [at for at in dosing if at > now]
    if held:
        since = now - held[-1]
        if since < dt.timedelta(hours=24):
            return "first24"
        if since < dt.timedelta(hours=72):
            return "window"
    if coming and coming[0] - now <= dt.timedelta(hours=SESSION_SOON_HOURS):
        return "day"
    return "between" if held else "before"


def for_stage(stage: str) -> Guide | None:
    """The first guide shown for a stage of treatment, or None.

    On Today at every visit, so each process remembers the first guide of every stage until the
    clinic's version moves, which saving a guide does (settings.remembered).
    """
    return settings.remembered("guide_for_stage", _first_of_each_stage).get(stage)


def _first_of_each_stage() -> dict[str, Guide]:
    first: dict[str, Guide] = {}
    for guide in published():
        first.setdefault(guide.stage, guide)
    return first


def what_to_expect(guide: Guide) -> str:
    """The line under a guide's title on Today: "What to expect: " and its summary, the first letter lowered.

    A summary that starts with an acronym or a name ("ECG checks...", "Dr. Lee...") keeps its capital.
    """
    summary = guide.summary
    if summary[:1].isupper() and summary[1:2].islower() and not summary.startswith(("Dr.", "Dr ", "I ")):
        summary = summary[:1].lower() + summary[1:]
    return f"What to expect: {summary}" if summary else "What to expect"


def _checked(title: str, summary: str, body: str, stage: str) -> dict:
    title, summary, body = clean_text(title or ""), clean_text(summary or ""), clean_text(body or "")
    problems = {}
    if not 3 <= len(title) <= TITLE_MAX:
        problems["title"] = f"Please give a title of 3 to {TITLE_MAX} characters."
    if len(summary) > SUMMARY_MAX:
        problems["summary"] = f"Please keep the summary under {SUMMARY_MAX} characters."
    if not 20 <= len(body) <= BODY_MAX:
        problems["body"] = f"Please write the guide in 20 to {BODY_MAX} characters."
    if stage not in STAGES:
        problems["stage"] = "Please choose a stage."
    if problems:
        raise Invalid(problems)
    return {"title": title, "summary": summary, "body": body, "stage": stage}


def change(guide: Guide, *, by: User, title: str, summary: str, body: str, stage: str, active: bool) -> Guide:
    """Save the clinic's edit: a new version, reviewed today by the person saving it."""
    fields = _checked(title, summary, body, stage)
    with db.atomic():
        Guide.update(
            **fields,
            active=active,
            version=Guide.version + 1,
            reviewed_on=utcnow().date(),
            updated_by=by,
            updated_at=utcnow(),
        ).where(Guide.id == guide.id).execute()
        ClinicSetting.new_version()  # every worker reads the guides Today offers again
        AuditEvent.record("guide_changed", actor=by, detail=f"guide {guide.slug}")
    return Guide.get_by_id(guide.id)


def add(*, by: User, title: str, summary: str, body: str, stage: str) -> Guide:
    """Add a guide of the clinic's own, at the end."""
    fields = _checked(title, summary, body, stage)
    base = _SLUG.sub("-", fields["title"].lower()).strip("-")[:50] or "guide"
    with db.atomic():
        slug, n = base, 1
        while Guide.select().where(Guide.slug == slug).exists():
            n += 1
            slug = f"{base}-{n}"
        last = Guide.select(fn.MAX(Guide.position)).scalar() or 0
        guide = Guide.create(slug=slug, position=last + 1, reviewed_on=utcnow().date(), updated_by=by, **fields)
        ClinicSetting.new_version()
        AuditEvent.record("guide_changed", actor=by, detail=f"guide {slug} added")
    return guide
