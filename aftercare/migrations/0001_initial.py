"""Accounts, care relationships, invites, server-side sessions, lockout, resets, audit log."""

import datetime

from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import PostgresqlDatabase
from peewee import TextField

GENESIS = "0" * 64


def up(migrator, db):
    # Frozen copies of the models as they were when this migration was written.
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(max_length=254, unique=True)
        name = CharField(max_length=120)
        role = CharField(max_length=16)
        password_hash = CharField(max_length=255)
        active = BooleanField(default=True)
        timezone = CharField(max_length=64, default="UTC")
        quiet_start = CharField(max_length=5, default="21:00")
        quiet_end = CharField(max_length=5, default="08:00")
        consented_at = DateTimeField(null=True)
        totp_secret = CharField(max_length=64, null=True)
        totp_last_counter = IntegerField(default=0)
        is_demo = BooleanField(default=False)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

    class CareRelationship(Base):
        patient = ForeignKeyField(User, on_delete="CASCADE")
        clinician = ForeignKeyField(User, on_delete="CASCADE")
        active = BooleanField(default=True)
        created_at = DateTimeField()
        ended_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("patient", "clinician"), True),)

    class Invite(Base):
        token_hash = CharField(max_length=64, unique=True)
        code_hash = CharField(max_length=64, unique=True)
        role = CharField(max_length=16)
        email = CharField(max_length=254)
        name = CharField(max_length=120)
        invited_by = ForeignKeyField(User, on_delete="CASCADE")
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        created_at = DateTimeField()

    class WebSession(Base):
        id = CharField(max_length=64, primary_key=True)
        user = ForeignKeyField(User, null=True, on_delete="CASCADE")
        data = TextField(default="{}")
        created_at = DateTimeField()
        last_seen = DateTimeField()
        expires_at = DateTimeField()
        idle_seconds = IntegerField()
        device = CharField(max_length=120, default="")

    class LoginFailure(Base):
        account_key = CharField(max_length=64, index=True)
        at = DateTimeField(index=True)

    class PasswordReset(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)
        created_at = DateTimeField()

    class RecoveryCode(Base):
        user = ForeignKeyField(User, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        used_at = DateTimeField(null=True)

    class ClinicSetting(Base):
        key = CharField(max_length=64, primary_key=True)
        value = TextField()

    class AuditHead(Base):
        id = IntegerField(primary_key=True)
        count = IntegerField(default=0)
        hash = CharField(max_length=64)

    class AuditEvent(Base):
        at = DateTimeField(index=True)
        actor_id = IntegerField(null=True, index=True)
        actor_role = CharField(max_length=16)
        patient_id = IntegerField(null=True, index=True)
        action = CharField(max_length=64, index=True)
        detail = CharField(max_length=255, default="")
        prev_hash = CharField(max_length=64)
        hash = CharField(max_length=64, unique=True)

    db.create_tables(
        [
            User,
            CareRelationship,
            Invite,
            WebSession,
            LoginFailure,
            PasswordReset,
            RecoveryCode,
            ClinicSetting,
            AuditHead,
            AuditEvent,
        ]
    )
    AuditHead.create(id=1, count=0, hash=GENESIS)

    # LOG-02: the audit log is append-only, enforced by the database itself.
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            "CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql"
        )
        db.execute_sql(
            "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            db.execute_sql(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
