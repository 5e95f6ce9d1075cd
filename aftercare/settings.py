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
DEFAULT_ESCALATE_MINUTES = 60
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ClinicSettings:
    timezone: str = "UTC"  # the clinic's IANA zone: staff enter session times in it
    phone: str = ""  # shown with the crisis resources as a tap-to-call button
    crisis_lines: str = ""  # "name | what to do | link" per line; empty: the built-in defaults
    retention_days: int = DEFAULT_RETENTION_DAYS  # how long a closed account's data is kept
    mood_tags: tuple[str, ...] = ()  # the clinic's own mood tags, besides the built-in ones
    # When someone is at the clinic to act on a safety alert (CLIN-03), in the clinic's zone.
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    work_start: str = "09:00"
    work_end: str = "17:00"
    escalate_minutes: int = DEFAULT_ESCALATE_MINUTES  # working minutes an alert may wait unacknowledged
    on_call: tuple[int, ...] = ()  # clinicians who also hear of every escalated alert
    cutoffs: tuple[tuple[str, int], ...] = ()  # the clinic's own cut-off per measure ("pcl5", 33); else the measure's


# Changes on every save, so each process knows when its copy of the settings is old.
VERSION = "settings_version"
MISSING = object()

# Field -> stored key (the keys predate this module and stay as they are in existing databases).
KEYS = {
    "timezone": "clinic_timezone",
    "phone": "clinic_phone",
    "crisis_lines": "crisis_lines",
    "retention_days": "retention_days",
    "mood_tags": "mood_tags",
    "work_days": "work_days",
    "work_start": "work_start",
    "work_end": "work_end",
    "escalate_minutes": "escalate_minutes",
    "on_call": "on_call",
    "cutoffs": "measure_cutoffs",
}
INT_TUPLES = ("work_days", "on_call")
TIMES = ("work_start", "work_end")


def _parse(stored: dict[str, str]) -> ClinicSettings:
    defaults = ClinicSettings()
    values = {}
    for name, key in KEYS.items():
        if key not in stored:
            continue
        raw = stored[key]
        if name in ("retention_days", "escalate_minutes"):
            # The form stores whole numbers; a hand-edited value falls back to the default.
            values[name] = int(raw) if raw.isascii() and raw.isdigit() else getattr(defaults, name)
        elif name == "mood_tags":
            values[name] = tuple(t.strip().lower() for t in raw.split(",") if t.strip())
        elif name == "cutoffs":
            pairs = (t.partition("=") for t in raw.split(","))
            values[name] = tuple(
                (k.strip(), int(v)) for k, _, v in pairs if v.strip().isascii() and v.strip().isdigit()
            )
        elif name in INT_TUPLES:
            values[name] = tuple(int(t) for t in raw.split(",") if t.strip().isascii() and t.strip().isdigit())
        elif name in TIMES:
            values[name] = (
                raw if len(raw) == 5 and raw[2] == ":" and raw.replace(":", "").isdigit() else getattr(defaults, name)
            )
        else:
            values[name] = raw
    return ClinicSettings(**values)


def _read() -> tuple[str | None, ClinicSettings]:
    rows = dict(ClinicSetting.select().where(ClinicSetting.key.in_([*KEYS.values(), VERSION])).tuples())
    return rows.get(VERSION), _parse(rows)


def current() -> ClinicSettings:
    """Return the clinic's settings: from this process's copy while the version read with the session matches."""
    if not has_app_context():
        return _read()[1]
    if "clinic_settings" not in g:
        g.clinic_settings = remembered("settings", lambda: _read()[1])
    return g.clinic_settings


def remembered(name: str, load):
    """Return `load()`, from this process's copy while the clinic's version read with the session is the same.

    For what the clinic sets up and many pages show: its settings, its guides. The session loader
    reads the version with the session and the user, in one statement (websessions.py), and
    whatever changes these moves it (ClinicSetting.set_value, ClinicSetting.new_version), so an
    administrator's change reaches every worker at its next request without anything being read
    again on every request. Without a session's version (no request, no session) it is read.
    """
    version = g.get("clinic_settings_version", MISSING) if has_app_context() else MISSING
    if version is MISSING:
        return load()
    copies = db.obj.__dict__.setdefault("aftercare_remembered", {})
    known = copies.get(name)
    if known is not None and known[0] == version:
        return known[1]
    value = load()
    copies[name] = (version, value)
    return value


def _store(settings: ClinicSettings) -> None:
    for name, key in KEYS.items():
        value = getattr(settings, name)
        if name == "mood_tags":
            value = ", ".join(value)
        elif name == "cutoffs":
            value = ",".join(f"{measure}={number}" for measure, number in value)
        elif name in INT_TUPLES:
            value = ",".join(str(v) for v in value)
        ClinicSetting.set_value(key, str(value))  # which moves the version too
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


def cutoff(instrument) -> float | None:
    """Return the cut-off the clinic reads a measure's total against (its own, or the measure's), or None."""
    if instrument.cutoff is None:
        return None
    return dict(current().cutoffs).get(instrument.key, instrument.cutoff.default)
