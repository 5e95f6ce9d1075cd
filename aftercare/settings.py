"""The clinic's own settings, which an administrator edits: typed, read in one query, saved in one transaction.

Stored as key/value rows (ClinicSetting) so a new setting needs no migration; everything else
reads them through `current()`, never by key.
"""

import dataclasses
from dataclasses import dataclass

from flask import g
from flask import has_app_context

from .db import db
from .models import AuditEvent
from .models import ClinicSetting
from .models import User

DEFAULT_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True)
class ClinicSettings:
    timezone: str = "UTC"  # the clinic's IANA zone: staff enter session times in it
    phone: str = ""  # shown with the crisis resources as a tap-to-call button
    crisis_lines: str = ""  # "name | what to do | link" per line; empty: the built-in defaults
    retention_days: int = DEFAULT_RETENTION_DAYS  # how long a closed account's data is kept
    mood_tags: tuple[str, ...] = ()  # the clinic's own mood tags, besides the built-in ones


# Field -> stored key (the keys predate this module and stay as they are in existing databases).
KEYS = {
    "timezone": "clinic_timezone",
    "phone": "clinic_phone",
    "crisis_lines": "crisis_lines",
    "retention_days": "retention_days",
    "mood_tags": "mood_tags",
}


def _parse(stored: dict[str, str]) -> ClinicSettings:
    defaults = ClinicSettings()
    values = {}
    for name, key in KEYS.items():
        if key not in stored:
            continue
        raw = stored[key]
        if name == "retention_days":
            # The form stores whole numbers; a hand-edited value falls back to the default.
            values[name] = int(raw) if raw.isascii() and raw.isdigit() else defaults.retention_days
        elif name == "mood_tags":
            values[name] = tuple(t.strip().lower() for t in raw.split(",") if t.strip())
        else:
            values[name] = raw
    return ClinicSettings(**values)


def _read() -> ClinicSettings:
    rows = ClinicSetting.select().where(ClinicSetting.key.in_(list(KEYS.values()))).tuples()
    return _parse(dict(rows))


def current() -> ClinicSettings:
    """Return the clinic's settings (read once per request)."""
    if not has_app_context():
        return _read()
    if "clinic_settings" not in g:
        g.clinic_settings = _read()
    return g.clinic_settings


def _store(settings: ClinicSettings) -> None:
    for name, key in KEYS.items():
        value = getattr(settings, name)
        if name == "mood_tags":
            value = ", ".join(value)
        ClinicSetting.set_value(key, str(value))
    if has_app_context():
        g.pop("clinic_settings", None)


def save(settings: ClinicSettings, *, by: User | None) -> None:
    """Store every setting and the audit row in one transaction."""
    with db.atomic():
        _store(settings)
        AuditEvent.record("clinic_settings_changed", actor=by)


def update(**changes) -> ClinicSettings:
    """Change some settings without an audit row (the demo clinic and tests set the zone this way)."""
    settings = dataclasses.replace(current(), **changes)
    with db.atomic():
        _store(settings)
    return settings
