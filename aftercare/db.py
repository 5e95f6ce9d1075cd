"""The database: a peewee proxy bound per app, pooled connections, migrations."""

import os
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlparse

import click
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
}


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
        return PooledSqliteDatabase(
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
    """Tell whether an OperationalError means the database is busy (DUR-05)."""
    message = str(error).lower()
    return "locked" in message or "busy" in message
