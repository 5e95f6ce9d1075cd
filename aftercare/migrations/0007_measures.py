"""Which measures each patient answers: PHQ-9 and GAD-7 until their clinician chooses others."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "measures", CharField(max_length=200, default="phq9,gad7")))
