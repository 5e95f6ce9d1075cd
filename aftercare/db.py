"""The database: a peewee proxy bound per app, pooled connections, migrations."""

import contextlib
import datetime as dt
import fcntl
import itertools
import os
import threading
import time
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlparse

import click
import peewee
from flask import current_app
from flask import Flask
from flask import g
from flask.cli import AppGroup
from peewee import DatabaseProxy
from peewee import OperationalError
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.pool import PooledSqliteDatabase

db = DatabaseProxy()

MIGRATIONS = Path(__file__).parent / "migrations"

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # Every acknowledged entry survives a power cut (DUR-07).
    "synchronous": "full",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    # REPLACE deletes the old row without firing DELETE triggers unless this is on: with it, the
    # audit log's append-only triggers refuse `INSERT OR REPLACE` too (LOG-05).
    "recursive_triggers": 1,
    # Read the database through memory-mapped pages (shared with the OS cache) instead of read()
    # into each connection's own cache, which a write by any other connection empties: a page
    # like Today, reading a few rows from tables of a million, spent a sixth of its time there.
    "mmap_size": 256 * 2**20,
}


class SqliteDatabase(PooledSqliteDatabase):
    """SQLite whose writers in every process of the app take turns on a file lock before BEGIN IMMEDIATE.

    A writer that finds SQLite's lock taken polls for it: the busy handler sleeps 1, 2, 5, 10, 15,
    20, 25... ms between tries, so under load a worker sleeps on long after the lock is free while
    the CPU idles, and the slowest entries wait longest. Here a writer first takes its turn on
    `<database>-writers` (flock), trying again within a millisecond of the last writer's commit or
    rollback. A turn not had within busy_timeout is "database is locked", a 503 (DUR-05), as is
    a BEGIN that then still finds SQLite's lock held by a program that takes no turns (a backup,
    the sqlite3 shell). Each thread has its own descriptor, so threads of one process take turns too.
    """

    TURN_PAUSES = (0.0001, 0.0002, 0.0005)  # then 1 ms at a time

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._turns = f"{database}-writers" if database and database != ":memory:" else None
        self._wait = (kwargs.get("pragmas") or {}).get("busy_timeout", 5000) / 1000
        self._mine = threading.local()

    def begin(self, lock_type=None):
        self._take_turn()
        try:
            super().begin(lock_type)
        except BaseException:
            self._end_turn()
            raise

    def commit(self):
        try:
            return super().commit()
        finally:
            self._end_turn()

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._end_turn()

    def _take_turn(self) -> None:
        if self._turns is None:
            return
        fd = getattr(self._mine, "fd", None)
        if fd is None:
            fd = self._mine.fd = os.open(self._turns, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = None
        for attempt in itertools.count():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                deadline = deadline or now + self._wait
                if now >= deadline:
                    raise OperationalError("database is locked (no turn to write within busy_timeout)") from None
                time.sleep(self.TURN_PAUSES[attempt] if attempt < len(self.TURN_PAUSES) else 0.001)
        self._mine.held = True

    def _end_turn(self) -> None:
        if getattr(self._mine, "held", False):
            self._mine.held = False
            fcntl.flock(self._mine.fd, fcntl.LOCK_UN)


def open_database(url: str, instance_path: str):
    """Return a pooled peewee database for a sqlite:// or postgresql:// URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path[1:] if parsed.path.startswith("/") else parsed.path)
        if not os.path.isabs(path):
            path = os.path.join(instance_path, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # BEGIN IMMEDIATE: a write transaction takes the lock before it reads,
        # so concurrent writers wait on busy_timeout instead of failing.
        return SqliteDatabase(
            path,
            pragmas=SQLITE_PRAGMAS,
            lock_type="IMMEDIATE",
            max_connections=32,
            stale_timeout=600,
            check_same_thread=False,
        )
    if parsed.scheme in ("postgres", "postgresql"):
        return PooledPostgresqlDatabase(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname,
            port=parsed.port,
            max_connections=32,
            stale_timeout=600,
            # DUR-05: wait as long for a lock as SQLite's busy_timeout, then answer 503, never hang.
            options=f"-c lock_timeout={SQLITE_PRAGMAS['busy_timeout']}",
        )
    raise click.UsageError(f"Unsupported database URL scheme: {parsed.scheme!r}")


def migrate_database(database) -> list[str]:
    """Apply every pending migration; return the names applied."""
    db.initialize(database)
    with database.connection_context():
        return Runner(database, directory=str(MIGRATIONS)).up()


def ensure_connection():
    """Open this request's connection unless one is open; remember to close only what we opened."""
    # The session interface may already have opened it for this request.
    if db.is_closed():
        db.connect()
        g.db_opened = True


def _close(exc):
    if g.pop("db_opened", False) and not db.is_closed():
        db.close()


db_cli = AppGroup("db", help="Manage the database schema.")


@db_cli.command("migrate")
def migrate_command():
    """Apply pending schema migrations."""
    applied = migrate_database(current_app.extensions["aftercare_db"])
    click.echo(f"Applied {len(applied)} migration(s)." if applied else "Schema is up to date.")


@db_cli.command("status")
def status_command():
    """List migrations and whether each is applied."""
    database = current_app.extensions["aftercare_db"]
    with database.connection_context():
        for migration in Runner(database, directory=str(MIGRATIONS)).status():
            mark = "applied" if migration.applied else "pending"
            click.echo(f"{mark:8} {migration.name}")


def init_app(app: Flask) -> None:
    """Bind the database to the app and open a connection per request."""
    database = open_database(app.config["DATABASE_URL"], app.instance_path)
    db.initialize(database)
    app.extensions["aftercare_db"] = database
    app.before_request(ensure_connection)
    app.teardown_request(_close)
    app.cli.add_command(db_cli)


def is_locked(error: OperationalError) -> bool:
    """Tell whether an OperationalError means the database is busy (DUR-05): try again shortly.

    SQLite: "database is locked" after busy_timeout. PostgreSQL: "canceling statement due to lock
    timeout" after lock_timeout, or "deadlock detected" for the transaction chosen to give way.
    """
    message = str(error).lower()
    return any(word in message for word in ("locked", "busy", "lock timeout", "deadlock detected"))


def is_full(error: OperationalError) -> bool:
    """Tell whether an OperationalError means the disk (or SQLite's page limit) is full."""
    message = str(error).lower()
    return "disk is full" in message or "no space left on device" in message


class Prepared:
    """A hot-path statement written once as SQL with ? placeholders and run as it is.

    Building a peewee query costs more than SQLite takes to run it (most of a mood post's time
    went there), so the few statements every request or every mood entry runs are written out.
    The SQL is plain enough for SQLite and PostgreSQL alike; the placeholder becomes %s for
    psycopg. Everything else uses peewee as usual.
    """

    def __init__(self, sql: str):
        self.text = " ".join(sql.split())
        self._by_param: dict[str, str] = {}

    def sql(self) -> str:
        param = db.obj.param
        text = self._by_param.get(param)
        if text is None:
            text = self._by_param[param] = self.text if param == "?" else self.text.replace("?", param)
        return text

    def run(self, *params):
        """Execute and return the cursor."""
        return db.obj.execute_sql(self.sql(), params)

    def one(self, *params):
        """Execute and return the first row, or None."""
        return self.run(*params).fetchone()


@contextlib.contextmanager
def one_read():
    """Read several statements from one moment of the database, for a page that writes nothing.

    On SQLite, one read transaction for them all rather than one per statement: each takes and
    drops SQLite's shared locks, two or three fcntl calls a statement once other processes share
    the file. On PostgreSQL each statement reads as before (a BEGIN and COMMIT of their own would
    be two more round trips). Inside an open transaction it changes nothing.
    """
    database = db.obj
    connection = database.connection() if isinstance(database, peewee.SqliteDatabase) else None
    if connection is None or connection.in_transaction:
        yield
        return
    connection.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def columns(model, alias: str = "") -> str:
    """Return a model's columns for a SELECT list, in `sorted_fields` order (for `row_to`)."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{field.column_name}"' for field in model._meta.sorted_fields)


def row_to(model, values):
    """Make a model instance from values in `columns(model)` order, converted as peewee would."""
    instance = model(__no_default__=True)  # no defaults computed, nothing marked dirty
    names, converters = _plan(model)
    instance.__data__ = data = dict(zip(names, values, strict=True))
    for name, convert in converters:
        data[name] = convert(data[name])
    return instance


# Integer and text columns come back from both drivers as peewee would give them (int, str or None):
# its python_value would only call int() or str() on them again, which row_to skips.
_AS_STORED = {peewee.IntegerField.adapt, peewee._StringField.adapt}
_plans: dict[type, tuple[tuple[str, ...], tuple]] = {}


def _plan(model) -> tuple[tuple[str, ...], tuple]:
    """Return a model's field names in `columns(model)` order, and the (name, conversion) its values need."""
    plan = _plans.get(model)
    if plan is None:
        converters = []
        for field in model._meta.sorted_fields:
            target = field.rel_field if isinstance(field, peewee.ForeignKeyField) else field
            if isinstance(field, peewee.DateTimeField):
                converters.append((field.name, _datetime_of(field)))
            elif type(target).adapt not in _AS_STORED or type(target).python_value is not peewee.Field.python_value:
                converters.append((field.name, field.python_value))
        plan = _plans[model] = (tuple(field.name for field in model._meta.sorted_fields), tuple(converters))
    return plan


def _datetime_of(field):
    """Return a DateTimeField's conversion: SQLite's ISO text parsed directly, anything else as peewee does."""
    slow = field.python_value
    parse = dt.datetime.fromisoformat

    def convert(value):
        if value is None or type(value) is dt.datetime:
            return value
        try:
            return parse(value)
        except (TypeError, ValueError):
            return slow(value)

    return convert


def moment(value) -> dt.datetime | None:
    """Return a datetime an aggregate gave back (SQLite hands MIN() and MAX() back as text), or None."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def raw_rows(query) -> list[tuple]:
    """Run a peewee query and return its rows as the driver gives them: no field conversion.

    For reads of many rows of plain numbers and text (the panel's flags over 2,000 patients), where
    peewee's per-row conversion costs more than the database takes to run the query. Fetched at
    once: psycopg's row-by-row iteration costs several times its fetchall.
    """
    return db.obj.execute(query).fetchall()


def joined():
    """Join the caller's transaction if there is one (no savepoint to pay for), else open one."""
    return contextlib.nullcontext() if db.in_transaction() else db.atomic()
