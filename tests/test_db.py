"""The database: migrations match the models, SQLite is durable, busy means 503."""

import threading

from peewee import IntegrityError
from peewee import OperationalError
from peewee import SqliteDatabase
from playhouse.schema_diff import diff_models

from aftercare.db import db
from aftercare.db import migrate_database
from aftercare.db import one_read
from aftercare.db import open_database
from aftercare.models import AuditEvent
from aftercare.models import ClinicSetting
from aftercare.models import MODELS


def test_migrations_match_the_models(app):
    diff = diff_models(db.obj, MODELS)
    assert not diff, f"models and migrations disagree:\n{diff}"


def test_migrating_twice_applies_nothing_the_second_time(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'fresh.db'}", "")
    assert migrate_database(database) == [
        "0001_initial",
        "0002_self_reports",
        "0003_journey",
        "0004_hardening",
        "0005_reminders",
        "0006_performance",
        "0007_measures",
        "0008_mood_window",
        "0009_score_point",
        "0010_intake",
        "0011_images",
        "0012_circles",
        "0013_mood_month",
        "0014_lean_indexes",
        "0015_unread_index",
    ]
    assert migrate_database(database) == []
    database.close_all()


def test_sqlite_runs_durable_and_strict(app):
    if not isinstance(db.obj, SqliteDatabase):
        return
    with db.connection_context():
        pragma = {
            name: db.execute_sql(f"PRAGMA {name}").fetchone()[0]
            for name in (
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "recursive_triggers",
                "mmap_size",
            )
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "recursive_triggers": 1,
        "mmap_size": 256 * 2**20,
    }


def test_audit_rows_cannot_be_changed_or_deleted(app):
    event = AuditEvent.record("test_event", actor=None)
    for statement in (
        AuditEvent.update(detail="rewritten").where(AuditEvent.id == event.id),
        AuditEvent.delete().where(AuditEvent.id == event.id),
    ):
        try:
            with db.atomic():
                statement.execute()
        except (IntegrityError, OperationalError, Exception) as error:  # noqa: B014
            assert "append-only" in str(error)
        else:
            raise AssertionError("the audit log accepted a change")
    assert AuditEvent.get_by_id(event.id).detail == ""


def test_a_locked_database_answers_503_with_retry_after(app, client, monkeypatch):
    from aftercare import crisis

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(crisis, "current_lines", locked)
    response = client.get("/crisis")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert b"nothing was lost" in response.data


def test_one_read_sees_one_moment_on_sqlite(app):
    """Today's statements run in one read: on SQLite one snapshot, whatever another connection commits meanwhile.

    On PostgreSQL each statement reads as before (the latest committed rows).
    """

    def another_worker_writes():
        with db.connection_context():
            ClinicSetting.set_value("clinic_phone", "+1 555 0100")

    def count():
        return ClinicSetting.select().count()

    with db.connection_context():
        with one_read():
            before = count()
            writer = threading.Thread(target=another_worker_writes)
            writer.start()
            writer.join()
            during = count()
        after = count()
        with db.atomic():  # inside a transaction it changes nothing, and writing still works
            with one_read():
                ClinicSetting.set_value("clinic_phone", "+1 555 0101")
    assert after > before
    assert during == (before if isinstance(db.obj, SqliteDatabase) else after)
    assert ClinicSetting.get_value("clinic_phone") == "+1 555 0101"
