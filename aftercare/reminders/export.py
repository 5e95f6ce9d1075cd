"""Reminders' part of the patient's export (PRIV-01): the inbox (every reminder and message received) and devices."""

from ..exports import csv_columns
from ..exports import iso
from ..exports import local_iso
from ..exports import Section
from ..models import Device
from ..models import User
from . import inbox

README = (
    "inbox (inbox.csv): every reminder and message that reached you, with its full text, who wrote a\n"
    "message, when it came and whether you had read it.\n"
    "devices: the browsers you turned reminders on in, with when each was added and last reached\n"
    "(their push addresses are left out: they are the browser's, and useless outside it)."
)


def reminders_section(patient: User) -> Section:
    zone = patient.timezone
    received, before = [], None
    while True:  # every page of the inbox, newest first
        page, more = inbox.items(patient, before=before, limit=500)
        received.extend(page)
        if not more or not page:
            break
        before = page[-1].id
    messages = [
        {
            "received_at": iso(item.at),
            "received_at_local": local_iso(item.at, zone),
            "kind": item.kind,
            "heading": item.heading,
            "text": item.text,
            "from": item.author,
            "read": not item.unread,
        }
        for item in reversed(received)
    ]
    devices = [
        {"name": d.name, "added_at": iso(d.created_at), "last_reached_at": iso(d.last_success_at)}
        for d in Device.select().where(Device.user == patient).order_by(Device.created_at)
    ]
    return Section(
        "reminders",
        {"inbox": messages, "devices": devices},
        README,
        csv_name="inbox.csv",
        columns=csv_columns("received_at_utc=received_at received_at_local kind heading text from read"),
        csv_records=messages,
    )
