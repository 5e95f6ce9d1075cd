"""The `retention` command group: delete closed accounts once the clinic's retention period has passed.

Safe to run from cron: it asks nothing, runs in one transaction, and a second run deletes nothing more.
Its output names no one (cron mails it), unless --show-email is given.
"""

import click
from flask.cli import AppGroup

from ..journal import images
from ..journal import voice
from ..models import utcnow
from . import retention

retention_cli = AppGroup("retention", help="Delete closed accounts after the clinic's retention period.")


@retention_cli.command("purge")
def purge_command():
    """Delete closed accounts past the retention period, with all their data (audit rows stay)."""
    days = retention.retention_days()
    deleted = retention.purge()
    # After the rows are committed away: their audio and picture files now belong to no one, like
    # the leftovers of an upload that crashed before its commit.
    removed = voice.remove_orphans()
    removed_pictures = images.remove_orphans()
    click.echo(f"Deleted {deleted} closed account(s) past the {days}-day retention period.")
    click.echo(f"Removed {removed} voice-note file(s) that no longer belonged to anyone.")
    click.echo(f"Removed {removed_pictures} journal picture file(s) that no longer belonged to anyone.")


@retention_cli.command("status")
@click.option("--show-email", is_flag=True, help="Include each account's email address.")
def status_command(show_email):
    """List closed accounts and when each will be deleted."""
    days = retention.retention_days()
    now = utcnow()
    accounts = list(retention.closed_accounts())
    click.echo(f"{len(accounts)} closed account(s); retention period {days} day(s).")
    for user in accounts:
        delete_on = retention.deletion_date(user.closed_at, days)
        when = "due now" if delete_on <= now else f"deleted on or after {delete_on:%Y-%m-%d %H:%M} UTC"
        who = f"  {user.email}" if show_email else ""
        click.echo(f"  user {user.id}  closed {user.closed_at:%Y-%m-%d %H:%M} UTC  {when}{who}")
