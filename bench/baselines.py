"""Baseline servers: the ceilings aftercare is measured against, under the same gunicorn.

bare:   a Flask app with one route returning a short text (GET /).
insert: the same app plus POST /insert, one durable row per request through peewee's
        PooledSqliteDatabase with the app's SQLite settings and a transaction that
        begins IMMEDIATE, as aftercare's writes do.

gunicorn loads `bench.baselines:bare_app()` or `bench.baselines:insert_app()` in each worker;
the insert database's path comes from BENCH_INSERT_DB, and its table is made beforehand by
create_schema(), so no connection is ever opened before gunicorn forks.
"""

import datetime as dt
import os
import sqlite3
import uuid

from flask import abort
from flask import Flask
from flask import jsonify
from flask import request
from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField
from peewee import Model
from playhouse.pool import PooledSqliteDatabase

# The same pragmas as aftercare/db.py: WAL, and every acknowledged row survives a power cut.
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "busy_timeout": 5000,
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    id INTEGER PRIMARY KEY,
    client_id VARCHAR(36) NOT NULL UNIQUE,
    score INTEGER NOT NULL,
    created_at DATETIME NOT NULL
)
"""


class Entry(Model):
    """One row of the insert baseline."""

    client_id = CharField(max_length=36, unique=True)
    score = IntegerField()
    created_at = DateTimeField()

    class Meta:
        table_name = "entry"


def create_schema(path: str) -> None:
    """Create the insert baseline's table (run once, before gunicorn starts)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute(SCHEMA)
    conn.close()


def bare_app() -> Flask:
    """Return the minimal Flask app: one route, a short text."""
    app = Flask(__name__)

    @app.get("/")
    def hello():
        """Answer with a short text."""
        return "hello\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    return app


def insert_app() -> Flask:
    """Return the minimal app with POST /insert, one durable insert per request."""
    app = bare_app()
    # Created here, in the worker; peewee connects lazily, on the first request.
    database = PooledSqliteDatabase(
        os.environ["BENCH_INSERT_DB"],
        pragmas=PRAGMAS,
        lock_type="IMMEDIATE",
        max_connections=8,
        stale_timeout=600,
        check_same_thread=False,
    )
    Entry.bind(database)

    @app.post("/insert")
    def insert():
        """Store one row durably; answer with its client_id."""
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400)
        try:
            client_id = str(uuid.UUID(str(data.get("client_id"))))
        except ValueError:
            abort(400)
        database.connect()
        try:
            with database.atomic():  # BEGIN IMMEDIATE, like aftercare's writes
                Entry.insert(client_id=client_id, score=int(data.get("score", 0)), created_at=utcnow()).execute()
        finally:
            database.close()  # back to the pool
        return jsonify(client_id=client_id), 201

    return app


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime, as aftercare stores it."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
