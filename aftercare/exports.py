"""What every export shares (PRIV-01, IN-04): a section of records written once, as JSON and as CSV.

A feature describes its part of an export as a Section: the records (plain dicts, for the JSON
file) and, for a spreadsheet, which columns to take from each record. Nothing is written twice,
and every CSV cell passes through `spreadsheet_safe`. Feature modules import this one; this one
imports no feature, so the export has no import cycle.
"""

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from .localtime import to_local

# IN-04: a spreadsheet runs a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# A CSV column: its header, and the record's key (or a function of the record) that fills it.
Column = tuple[str, str | Callable[[dict], object]]


@dataclass
class Section:
    key: str  # the key in the export's JSON document
    records: object  # a list of dicts (or one dict): anything json.dumps accepts
    readme: str  # what a person needs to know to read this part
    csv_name: str | None = None
    columns: tuple[Column, ...] = ()
    # The records the CSV lists, where they are not `records` itself (the journal's entries, not its voice notes).
    csv_records: list[dict] | None = None
    # Extra files for the zip (voice notes): name inside the zip -> bytes or a path on disk.
    files: dict[str, bytes | Path] = field(default_factory=dict)

    def rows(self) -> list[list]:
        """Return the CSV rows, one per record, in column order."""
        records = self.records if self.csv_records is None else self.csv_records
        return [[_cell(record, source) for _, source in self.columns] for record in records]

    def csv(self) -> bytes:
        """Return the section as a CSV file that opens safely in a spreadsheet."""
        return to_csv([name for name, _ in self.columns], self.rows())


def csv_columns(spec: str, **computed: Callable[[dict], object]) -> tuple[Column, ...]:
    """Read a CSV column list: space-separated names, each `header=key` or a bare key used as its own header.

    A name given in `computed` is filled by that function of the record instead of a key.
    """
    columns = []
    for name in spec.split():
        header, _, key = name.partition("=")
        columns.append((header, computed.get(header, key or header)))
    return tuple(columns)


def _cell(record: dict, source):
    value = source(record) if callable(source) else record[source]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return value


def iso(when: dt.datetime | dt.date | None) -> str | None:
    """Format a UTC datetime from the database as ISO 8601 with a Z; dates as YYYY-MM-DD."""
    if when is None:
        return None
    if isinstance(when, dt.datetime):
        return when.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")
    return when.isoformat()


def local_iso(when: dt.datetime | None, zone: str) -> str | None:
    return None if when is None else to_local(when, zone).isoformat()


def fields(row, *names: str) -> dict:
    """Return the named attributes of a row as a dict, for a record or a JSON answer."""
    return {name: getattr(row, name) for name in names}


def spreadsheet_safe(value):
    """Neutralise a CSV cell a spreadsheet would run as a formula (IN-04)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(header: list[str], rows: list[list]) -> bytes:
    """Write rows under a header as CSV, every cell made spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    # The byte-order mark makes Excel read the file as UTF-8 (names, notes with accents).
    return buffer.getvalue().encode("utf-8-sig")
