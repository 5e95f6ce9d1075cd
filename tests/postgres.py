"""PostgreSQL for tests: every test starts from the migrated state, restored by truncation.

Migrations seed rows as well as tables (the audit chain's head, the clinic's starting practice
library). A TRUNCATE takes those too, so the rows a fresh migration leaves are remembered once
and put back after each truncation, with their sequences moved past them.
"""

from aftercare.models import MODELS

AUDIT_TABLES = ("audit_event", "audit_head", "audit_seal")
_seeded: dict[str, tuple[list[str], list[tuple]]] = {}


def _tables() -> list[str]:
    return [model._meta.table_name for model in MODELS]


def remember_seed(database) -> None:
    """Note the rows a fresh migration left (call right after migrate_database)."""
    _seeded.clear()
    with database.connection_context():
        for table in _tables():
            cursor = database.execute_sql(f'SELECT * FROM "{table}"')
            rows = cursor.fetchall()
            if rows:
                _seeded[table] = ([column[0] for column in cursor.description], rows)


def reset(database) -> None:
    """Empty every table, then put back what the migrations seeded."""
    assert _seeded, "remember_seed() must run after migrating, before the first reset"
    with database.connection_context(), database.atomic():
        tables = ", ".join(f'"{table}"' for table in _tables())
        # The audit tables refuse TRUNCATE (LOG-05); the tests' owner role may lift that for a moment.
        for table in AUDIT_TABLES:
            database.execute_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        for table in AUDIT_TABLES:
            database.execute_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        for table, (columns, rows) in _seeded.items():
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            for row in rows:
                database.execute_sql(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', row)
            if "id" in columns:
                # A serial id restarts at 1 after TRUNCATE: move it past the seeded rows.
                database.execute_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), MAX(id)) FROM \"{table}\""
                )
