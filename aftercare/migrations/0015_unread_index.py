"""The inbox badge's count through an index of its own: a patient's unread reminders, not all their reminders.

Every patient page shows how many reminders wait unread. The count was found through
(user_id, sent_at), which holds every reminder ever sent to the patient, so it read each of them
to look at read_at: some 230 µs a page on SQLite for a patient a year into treatment (a thousand
reminders), growing every day. (user_id, read_at, sent_at) leads straight to the few unread ones:
3 µs. The inbox's own list, newest first, keeps (user_id, sent_at).
"""


def up(migrator, db):
    migrator.migrate(migrator.add_index("reminder", ("user_id", "read_at", "sent_at"), False))
