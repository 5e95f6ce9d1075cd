"""Hardening: one open alert per piece of writing, a lockout counted before the check, security notices,
the audit log's subject and its protection from TRUNCATE and REPLACE, check-ins ready for any measure."""

import datetime

from peewee import CharField
from peewee import DateTimeField
from peewee import FloatField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import PostgresqlDatabase
from peewee import TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "user"

    class LoginThrottle(Base):
        account_key = CharField(max_length=64, primary_key=True)
        attempts = IntegerField(default=0)
        window_start = DateTimeField()

    class SecurityNotice(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        kind = CharField(max_length=32)
        by_name = CharField(max_length=120)
        by_role = CharField(max_length=16)
        at = DateTimeField(default=datetime.datetime.utcnow)
        shown_at = DateTimeField(null=True)
        dismissed_at = DateTimeField(null=True)

    db.create_tables([LoginThrottle, SecurityNotice])
    # Failures counted after the check could be outrun by parallel guesses (AUTH-11).
    db.execute_sql('DROP TABLE "login_failure"')

    # The account an audit row is about, so its owner can read their own activity (AUTH-10).
    migrator.migrate(
        migrator.add_column("audit_event", "subject_id", IntegerField(null=True)),
        migrator.add_index("audit_event", ("subject_id",), False),
    )

    # Any measure: PCL-5 has 20 answers, the PEG is scored as a mean with one decimal.
    # Added, copied and swapped column by column, because rebuilding the whole table on SQLite
    # would drop it, and its DELETE would null every safety alert's link to its check-in.
    migrator.migrate(
        migrator.add_column("check_in", "answers_json", TextField(default="[]")),
        migrator.add_column("check_in", "score", FloatField(default=0)),
        migrator.add_column("check_in", "subscores", TextField(default="{}")),
    )
    db.execute_sql('UPDATE "check_in" SET "answers_json" = "answers", "score" = "total"')
    migrator.migrate(
        migrator.drop_column("check_in", "answers"),
        migrator.drop_column("check_in", "total"),
        migrator.rename_column("check_in", "answers_json", "answers"),
        migrator.rename_column("check_in", "score", "total"),
    )

    # One open alert per piece of writing (CLIN-04): existing alerts get a subject of their own.
    migrator.migrate(migrator.add_column("safety_alert", "subject", CharField(max_length=64, default="")))
    db.execute_sql(
        'UPDATE "safety_alert" SET "subject" = CASE '
        'WHEN "checkin_id" IS NOT NULL THEN \'checkin:\' || "checkin_id" '
        'WHEN "mood_id" IS NOT NULL THEN \'mood:\' || "mood_id" '
        "ELSE 'alert:' || \"id\" END"
    )
    db.execute_sql(
        'CREATE UNIQUE INDEX "safety_alert_one_open" ON "safety_alert" ("subject") WHERE "acknowledged_at" IS NULL'
    )

    # LOG-05: the chain survives the database's own tools. The head's count only grows, the head
    # cannot be deleted, and neither table can be emptied with TRUNCATE (PostgreSQL) or have a row
    # replaced by INSERT OR REPLACE (SQLite: the connection sets recursive_triggers, so REPLACE's
    # implicit delete meets the DELETE trigger).
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            "CREATE FUNCTION audit_head_only_forward() RETURNS trigger AS $$ BEGIN "
            "IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.count <= OLD.count THEN "
            "RAISE EXCEPTION 'audit_head is append-only: its count only grows'; END IF; "
            "RETURN NEW; END; $$ LANGUAGE plpgsql"
        )
        db.execute_sql(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head "
            "FOR EACH ROW EXECUTE FUNCTION audit_head_only_forward()"
        )
        db.execute_sql(
            "CREATE FUNCTION audit_no_truncate() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION '%% is append-only: TRUNCATE is refused', TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
        for table in ("audit_event", "audit_head"):
            db.execute_sql(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate()"
            )
    else:
        db.execute_sql(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
            "BEGIN SELECT RAISE(ABORT, 'audit_head is append-only: it cannot be deleted'); END"
        )
        db.execute_sql(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head "
            "WHEN NEW.id <> OLD.id OR NEW.count <= OLD.count "
            "BEGIN SELECT RAISE(ABORT, 'audit_head is append-only: its count only grows'); END"
        )
