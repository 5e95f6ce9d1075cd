"""Speed without giving anything up: the index today's entries need, and an audit chain without one hot row.

The audit log becomes LANES chains (a writer takes one lane's head, so writers in different
lanes no longer wait for each other) sealed together into one clinic chain (audit_seal) that
`audit verify` prints and checks (LOG-05). Every existing row is lane 0, exactly as it was.
"""

import datetime

from peewee import CharField
from peewee import DateTimeField
from peewee import IntegerField
from peewee import Model
from peewee import PostgresqlDatabase
from peewee import TextField

LANES = 8
GENESIS = "0" * 64


def up(migrator, db):
    migrator.migrate(migrator.add_index("mood_entry", ("patient_id", "local_day"), False))

    # Added in one statement with its default: an UPDATE of existing rows would meet the
    # append-only trigger (LOG-02), and none is needed.
    db.execute_sql('ALTER TABLE "audit_event" ADD COLUMN "lane" SMALLINT NOT NULL DEFAULT 0')
    for lane in range(1, LANES):
        db.execute_sql(f'INSERT INTO "audit_head" ("id", "count", "hash") VALUES ({lane + 1}, 0, \'{GENESIS}\')')  # nosec B608

    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class AuditSeal(Base):
        at = DateTimeField(default=datetime.datetime.utcnow)
        total = IntegerField()
        lanes = TextField()
        prev_hash = CharField(max_length=64)
        hash = CharField(max_length=64, unique=True)

    db.create_tables([AuditSeal])
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            "CREATE TRIGGER audit_seal_no_change BEFORE UPDATE OR DELETE ON audit_seal "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        db.execute_sql(
            "CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_no_truncate()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            db.execute_sql(
                f"CREATE TRIGGER audit_seal_no_{verb.lower()} BEFORE {verb} ON audit_seal "
                "BEGIN SELECT RAISE(ABORT, 'audit_seal is append-only'); END"
            )
