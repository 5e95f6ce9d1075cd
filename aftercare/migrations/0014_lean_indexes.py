"""Fewer pages written per mood entry: indexes that only repeated another, or that held nothing useful.

Every index is one more page a mood entry changes, writes to the WAL, syncs and later copies back
into the database. These four are dropped or narrowed, and no query loses its index:

- mood_entry, mood_day and mood_window (patient_id): each table has a composite index that starts
  with patient_id (patient + client id, patient + day...), which serves the same lookups;
- audit_event (hash), unique: nothing looks a row up by its hash, and it is the chain that makes
  the log tamper-evident (`audit verify`), not the index; the index put every new row on a random
  page of a tree as large as the log;
- audit_event (subject_id): most rows name no account acted on (NULL), so the index now holds only
  the rows that do; `subject_id = ?`, the only way it is queried, still uses it.
"""


def up(migrator, db):
    for name in ("mood_entry_patient_id", "mood_day_patient_id", "mood_window_patient_id", "audit_event_hash"):
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    db.execute_sql('DROP INDEX IF EXISTS "audit_event_subject_id"')
    db.execute_sql(
        'CREATE INDEX "audit_event_subject_id" ON "audit_event" ("subject_id") WHERE "subject_id" IS NOT NULL'
    )
