"""Command-line tools for administrators: the first admin, and checking the audit chain."""

import re

import click
from flask.cli import AppGroup

from .. import accounts
from ..models import AuditEvent

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Check the audit log.")

HEAD_RE = re.compile(r"^([0-9a-f]{64}):([0-9]{1,19})$")


@users_cli.command("create-admin")
@click.option("--name", prompt="Name")
@click.option("--email", prompt="Email")
@click.password_option(help="Prompted for when not given.")
def create_admin(name, email, password):
    """Create the clinic's first administrator (only while none exists)."""
    if accounts.admin_exists():
        raise click.ClickException("An administrator already exists; add others from the admin pages.")
    problem = accounts.weak_password(password, email=email, name=name)
    if problem:
        raise click.ClickException(problem)
    try:
        user = accounts.create_first_admin(name=name, email=email, password=password, detail="command line")
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Administrator {user.email} created. Sign in to set up two-step verification.")


def _recorded_head(ctx, param, value):
    if value is None:
        return None
    match = HEAD_RE.match(value.strip().lower())
    if match is None:
        raise click.BadParameter(
            "write it as HASH:COUNT, as `audit verify` printed it (64 hex digits, a colon, a count)."
        )
    return match.group(1), int(match.group(2))


@audit_cli.command("verify")
@click.option(
    "--expect",
    metavar="HASH:COUNT",
    callback=_recorded_head,
    help="A head printed by an earlier run and kept elsewhere: check that the chain still contains it.",
)
def verify(expect):
    """Check that the audit log's hash chain is unbroken, and print its head to keep elsewhere (LOG-05)."""
    check = AuditEvent.verify_chain(expect)
    if check.broken is not None:
        where = {-1: "at a lane's head", -2: "in the seals that tie the lanes together"}.get(
            check.broken, f"at event {check.broken}"
        )
        raise click.ClickException(f"Audit chain broken {where} after {check.checked} intact event(s).")
    # Intact: seal what is there now, so the head printed covers every event.
    seal = AuditEvent.seal()
    click.echo(f"Audit chain intact: {check.checked} event(s), head {seal.hash}:{seal.total}")
    click.echo("Keep the head somewhere outside this server; `audit verify --expect HASH:COUNT` checks it later.")
    if expect is None:
        return
    if not check.expected_found:
        raise click.ClickException(
            f"The recorded head {expect[0]}:{expect[1]} is not in the chain: the log was rewritten "
            "since it was recorded, or the record is wrong."
        )
    click.echo(
        f"The recorded head {expect[0]}:{expect[1]} is still in the chain, covering its first {expect[1]} events."
    )
