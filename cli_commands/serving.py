"""`pot` commands for the crew's web app: serve it, and invite a member to sign in to it (SPEC §6)."""

from __future__ import annotations

import os

import click

from cli import Session, as_option, pass_session
from domain.errors import BadInput
from domain.values import parse_name

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


def _public_url() -> str:
    # `pot invite` builds links from the address the server tells members; it reads the same setting.
    return os.environ.get("POT_PUBLIC_URL", DEFAULT_PUBLIC_URL)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@click.option(
    "--public-url",
    metavar="URL",
    help=f"The address members open (behind HTTPS in production); invite links use it. [default: {DEFAULT_PUBLIC_URL}]",
)
@click.option(
    "--notify-every",
    metavar="MINUTES",
    type=click.IntRange(1, 1440),
    help="Also send due reminders (`pot notify`) every MINUTES, from one thread of this server.",
)
@pass_session
def serve(
    s: Session, host: str, port: int, workers: int, public_url: str | None, notify_every: int | None = None
) -> None:
    """Serve the crew's web app for every pot in the store.

    Example: pot --db crew.sqlite serve --public-url https://pot.example.org
    """
    import uvicorn

    from ledger.store import resolve

    url = (public_url or _public_url()).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"--public-url must start with http:// or https://, not {url!r}")
    resolve(s.db, create=False)  # A mistyped --db is one error line here, not a traceback in each worker.
    # Each worker process builds the app from these (uvicorn needs an import string for several workers).
    if s.db:
        os.environ["POT_DB"] = s.db
    os.environ["POT_PUBLIC_URL"] = url
    if notify_every is not None:
        _start_notifying(s.db, url, notify_every)
    click.echo(f"serving the crew's web app at {url} (listening on {host}:{port}, {workers} worker(s))", err=True)
    uvicorn.run(
        "web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        log_level="warning",
    )


@click.command()
@click.argument("member_name", metavar="MEMBER")
@click.option("--days", default=7, show_default=True, type=int, help="Days until the link expires.")
@click.option("--public-url", metavar="URL", help="The web app's address (default: POT_PUBLIC_URL or the local one).")
@as_option
@pass_session
def invite(s: Session, member_name: str, days: int, public_url: str | None) -> None:
    """Print a single-use link that lets a member set a passphrase and sign in (treasurers only).

    Example: pot --as Ana invite Bo
    """
    from web.actions import invite_url

    who = parse_name(member_name)
    made = s.ledger.invite(s.slug, actor=s.actor, name=who, days=days)
    link = invite_url(public_url or _public_url(), s.slug, made.invite.token)
    click.echo(f"invite for {made.name}, single use, expires {made.invite.expires_at:%Y-%m-%d %H:%M} UTC:")
    click.echo(link)


def _start_notifying(db: str | None, url: str, minutes: int) -> None:
    """The reminders' thread: in this process only, so several --workers still send from one place."""
    import sys
    import threading

    from ledger.notify import notify_every
    from ledger.notify_channels import Settings

    settings = Settings.from_env(os.environ, url)  # Misconfigured: one error line now, not a silent thread.

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    stop = threading.Event()
    thread = threading.Thread(
        target=notify_every, args=(db, settings, minutes, stop, say), name="pot-notify", daemon=True
    )
    thread.start()
