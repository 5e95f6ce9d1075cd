"""`flask --app aftercare rollups rebuild`: recompute the rollups from the entries and check-ins themselves."""

import click
from flask.cli import AppGroup

from ..db import db
from ..models import MoodDay
from ..models import PATIENT
from ..models import User
from . import points
from . import windows

rollups_cli = AppGroup("rollups", help="Recompute the rollups the charts, panel and cohort read.")
CHUNK = 200  # patients per transaction


@rollups_cli.command("rebuild")
def rebuild():
    """Recompute every patient's daily mood, mood-after-session (daily and by sealed month) and score-point rows.

    Safe to run at any time: each batch of patients is recomputed in one transaction, so a page
    sees either the old rows or the new ones.
    """
    ids = [user_id for (user_id,) in User.select(User.id).where(User.role == PATIENT).order_by(User.id).tuples()]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with db.atomic():
            MoodDay.delete().where(MoodDay.patient.in_(chunk)).execute()
            MoodDay.rebuild(chunk)
            windows.rebuild(chunk)
            points.refresh(chunk)
        click.echo(f"{start + len(chunk)} of {len(ids)} patients recomputed.")
    windows.seal()  # months that closed since the last look, summed for the clinic's figures
    click.echo("The rollups match the entries.")
