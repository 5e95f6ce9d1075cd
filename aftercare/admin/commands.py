"""Command-line tools for administrators: the first admin, and checking the audit chain."""

import click
from flask.cli import AppGroup
from peewee import IntegrityError

from ..db import db
from ..models import ADMIN
from ..models import AuditEvent
from ..models import normalize_email
from ..models import User
from ..passwords import hash_password
from ..passwords import password_problem

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Check the audit log.")


@users_cli.command("create-admin")
@click.option("--name", prompt="Name")
@click.option("--email", prompt="Email")
@click.password_option(help="Prompted for when not given.")
def create_admin(name, email, password):
    """Create the clinic's first administrator (only while none exists)."""
    if User.select().where(User.role == ADMIN).exists():
        raise click.ClickException("An administrator already exists; add others from the admin pages.")
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise click.ClickException(problem)
    try:
        with db.atomic():
            user = User.create(
                email=normalize_email(email), name=name.strip(), role=ADMIN, password_hash=hash_password(password)
            )
            AuditEvent.record("admin_created", actor=user, detail="command line")
    except IntegrityError:
        raise click.ClickException("That email already has an account.") from None
    click.echo(f"Administrator {user.email} created. Sign in to set up two-step verification.")


@audit_cli.command("verify")
def verify():
    """Check that the audit log's hash chain is unbroken."""
    checked, broken = AuditEvent.verify_chain()
    if broken is None:
        click.echo(f"Audit chain intact: {checked} event(s).")
        return
    where = "at the chain head" if broken == -1 else f"at event {broken}"
    raise click.ClickException(f"Audit chain broken {where} after {checked} intact event(s).")
