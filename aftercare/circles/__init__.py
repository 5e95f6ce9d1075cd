"""Integration circles: groups the clinic runs between sessions, and a moderated board for each.

`organise.py` is the staff's side (a circle's details, meetings, invites, attendance, removing a
member), `membership.py` the patient's (which circles they may see, joining under a display name,
leaving), `board.py` the posts and who sees which, `calendar.py` a circle's meetings as .ics and
`export.py` the patient's part of their export. Reminders before a meeting are planned with the
patient's others (reminders/planner.py); a moved or cancelled meeting is a message
(reminders/messages.py).
"""
