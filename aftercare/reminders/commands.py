"""`flask --app aftercare reminders work|dispatch|plan`: the worker that sends reminders, and planning by hand."""

import datetime as dt
import signal
import threading

import click
from flask.cli import AppGroup

from ..db import db
from . import planner
from .dispatcher import Dispatcher

reminders_cli = AppGroup("reminders", help="Send and plan push reminders.")


@reminders_cli.command("work")
@click.option("--idle", default=5.0, show_default=True, help="Seconds to wait when nothing is due.")
@click.option("--threads", default=4, show_default=True, help="Pushes in flight at once.")
@click.option("--batch", default=100, show_default=True, help="Reminders claimed at a time.")
@click.option(
    "--lease",
    default=120.0,
    show_default=True,
    help="Seconds a claimed batch is held; a worker that dies frees its batch after this.",
)
def work(idle, threads, batch, lease):
    """Send reminders as they fall due, until stopped (SIGTERM or Ctrl-C finish the batch in hand first)."""
    stop = threading.Event()

    def request_stop(signum, frame):
        click.echo("Stopping after the batch in hand.", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    dispatcher = Dispatcher(threads=threads, batch=batch, lease=dt.timedelta(seconds=lease))
    if dispatcher.problem:
        raise click.ClickException(dispatcher.problem)
    click.echo("Sending reminders as they fall due.")
    try:
        dispatcher.work(stop, idle_seconds=idle)
    finally:
        dispatcher.close()
    click.echo("Stopped.")


@reminders_cli.command("dispatch")
@click.option("--threads", default=4, show_default=True, help="Pushes in flight at once.")
def dispatch(threads):
    """Send everything due now, once (for cron), and say what happened."""
    dispatcher = Dispatcher(threads=threads)
    if dispatcher.problem:
        raise click.ClickException(dispatcher.problem)
    try:
        with db.connection_context():
            tally = dispatcher.run_once()
    finally:
        dispatcher.close()
    click.echo(f"Reminders: {tally}.")


@reminders_cli.command("plan")
def plan_all():
    """Plan every active patient's reminders again (after restoring a backup, or changing the rules)."""
    with db.connection_context():
        count = planner.plan_everyone()
    click.echo(f"Planned reminders for {count} patient(s).")
