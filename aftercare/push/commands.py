"""`flask --app aftercare vapid generate`: the clinic's push key pair, written once."""

import click
from flask import current_app
from flask.cli import AppGroup

from . import vapid

vapid_cli = AppGroup("vapid", help="The clinic's web push (VAPID) keys.")


@vapid_cli.command("generate")
@click.option(
    "--subject",
    default="",
    help="Where push services can reach the clinic: mailto:it@example-clinic.org or an https URL.",
)
def generate(subject):
    """Write a VAPID key pair to instance/vapid.env once (never over an existing one) and print the settings."""
    subject = subject or current_app.config.get("VAPID_SUBJECT") or ""
    if subject and not vapid.SUBJECT_RE.match(subject):
        raise click.BadParameter("give a mailto: address or an https URL.", param_hint="--subject")
    path, created, settings = vapid.generate(current_app.instance_path, subject)
    if created:
        click.echo(f"Wrote a new key pair to {path} (readable only by you). aftercare reads it when")
        click.echo("the environment does not set these; in production, set them in the environment:")
    else:
        click.echo(f"{path} already holds a key pair; it was left as it is. Its settings:")
    click.echo("")
    for key in vapid.SETTINGS:
        click.echo(f"AFTERCARE_{key}={settings.get(key, '')}")
    click.echo("")
    click.echo(f"Public key (browsers subscribe with it): {settings.get('VAPID_PUBLIC_KEY', '')}")
    if not vapid.SUBJECT_RE.match(settings.get("VAPID_SUBJECT", "")):
        click.echo(
            "Reminders stay off until AFTERCARE_VAPID_SUBJECT is a mailto: address or an https URL "
            "(push services write there when something is wrong): set it in the environment.",
            err=True,
        )
