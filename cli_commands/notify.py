"""`pot` commands for reminders (SPEC §8): `notify` sends what is due; `member email` sets where a member's go."""

from __future__ import annotations

import os

import click

from cli import Session, as_option, fail, pass_session
from domain.errors import BadInput
from domain.values import parse_name


def _public_url() -> str:
    from cli_commands.serving import DEFAULT_PUBLIC_URL

    return os.environ.get("POT_PUBLIC_URL", DEFAULT_PUBLIC_URL)


@click.command()
@click.option(
    "--public-url", metavar="URL", help="The web app's address, for links (default: POT_PUBLIC_URL or the local one)."
)
@pass_session
def notify(s: Session, public_url: str | None) -> None:
    """Send what is due, once each: new proposals, reminders, decisions, payouts.

    By e-mail (POT_SMTP_URL, POT_MAIL_FROM) and/or a webhook (POT_WEBHOOK_URL),
    for every pot in the store (or the one --pot names). Run it from cron every
    few minutes: nothing is sent twice, and what failed is tried again next time.

    \b
    Example:
      POT_SMTP_URL=smtp://pot:secret@mail.example.org:587 POT_MAIL_FROM=pot@example.org pot notify
    """
    from datetime import UTC, datetime

    from ledger.notify import notify as send_due
    from ledger.notify_channels import Settings

    settings = Settings.from_env(os.environ, public_url or _public_url())
    slugs = None if s.pot_slug is None else [s.slug]
    report = send_due(s.ledger, settings, slugs=slugs, today=s.today, now=datetime.now(UTC))
    for line in report.lines:
        click.echo(line)
    if report.failures:
        count = len(report.failures)
        fail(f"{count} notice(s) could not be sent and will be tried again next run: {report.failures[0]}", 1)
    if report.emails or report.webhooks:
        click.echo(f"sent {report.emails} e-mail(s) and {report.webhooks} webhook notice(s)")
    else:
        click.echo("nothing new to send")


@click.command("email")
@click.argument("name")
@click.argument("address", required=False)
@click.option("--remove", is_flag=True, help="Remove the address: no more mail to this member.")
@as_option
@pass_session
def member_email(s: Session, name: str, address: str | None, remove: bool) -> None:
    """Set your e-mail address for reminders, or remove it (a treasurer may remove anyone's).

    The address is not an event: it is never in the history or an export.

    \b
    Example:
      pot --as Bo member email Bo bo@example.org
      pot --as Bo member email Bo --remove
    """
    from ledger.contacts import remove_email, set_email

    who = parse_name(name)
    if remove == (address is not None):
        raise BadInput("give an ADDRESS to set, or --remove (not both)")
    if address is not None:
        done = set_email(s.ledger, s.slug, actor=s.actor, member=who, address=address)
        click.echo(f"{done.member}'s e-mail address for reminders is now {done.address}")
        return
    removed = remove_email(s.ledger, s.slug, actor=s.actor, member=who)
    if removed.changed:
        click.echo(f"removed {removed.member}'s e-mail address: no more reminders by e-mail")
    else:
        click.echo(f"{removed.member} had no e-mail address set")
