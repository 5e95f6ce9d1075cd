"""Reading what people and devices send: one integer parser, client ids, bounded ids in URLs (IN-01).

Every number typed into a form, sent in JSON or found in a URL goes through `parse_int`, so
"--5", "²" (a digit to Python's str.isdigit, not to int()), "٣" or a 30-digit id is refused
with a message instead of failing deep inside a driver.
"""

import re
import uuid
from urllib.parse import urlsplit

from flask import abort
from flask import request
from werkzeug.routing import IntegerConverter

# The database's largest integer: a larger id is simply not found.
MAX_ID = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only, at most what a 64-bit integer holds


class Invalid(ValueError):
    """A submission that cannot be stored; `fields` maps each field to a message for a person."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def parse_int(value, low: int, high: int) -> int | None:
    """Return value as an integer within [low, high], or None: from an int (never a bool) or ASCII digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text):
            return None
        value = int(text)
    if not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def require_int(value, field: str, low: int, high: int, message: str) -> int:
    """Return value as an integer within [low, high]; raise Invalid({field: message}) otherwise."""
    number = parse_int(value, low, high)
    if number is None:
        raise Invalid({field: message})
    return number


def parse_id(value) -> int | None:
    """Return a row id (1 .. MAX_ID) from a form, JSON or query value, or None."""
    return parse_int(value, 1, MAX_ID)


def client_id(value, field: str = "client_id") -> str:
    """Return the client's idempotency key as a canonical UUID string, or raise Invalid (DUR-04)."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise Invalid({field: "This entry has no valid id. Please reload the page and try again."}) from None


def json_body():
    """Return the request's JSON (an object for every endpoint here), or answer 400 with a clear message."""
    data = request.get_json(silent=True)
    if data is None:
        abort(400, "The request body must be JSON (Content-Type: application/json).")
    return data


def safe_path(target, default: str) -> str:
    """Return `target` if it is a path on this site, else `default` (AUTH-09: where to go after sign-in).

    Browsers drop tabs and line breaks from URLs and treat a backslash as a slash, so "/\t/evil"
    and "/\\evil" lead off the site: any control character, whitespace or backslash is refused,
    as is anything with a scheme or a host.
    """
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F or c.isspace() for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def clean_text(value):
    """Fold a textarea's CRLF line breaks and drop NUL, so what is stored is what was counted and typed.

    Browsers count a line break as one character against maxlength but send two (CRLF), and
    PostgreSQL refuses NUL in text (no keyboard types it).
    """
    return (
        value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip() if isinstance(value, str) else value
    )


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: positive, and no larger than the database holds (else 404, not a 500)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    """Bound every integer in a URL, so a 30-digit id is "not found" rather than an overflow."""
    app.url_map.converters["int"] = IdConverter
