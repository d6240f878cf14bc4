"""`pot db`: what whoever administers a shared PostgreSQL store runs (the owner and writer roles)."""

from __future__ import annotations

import os

import click

from cli import Session, emit_json, json_option, pass_session

# Where `pot db setup` reads the writer's password, so it never appears in argv or shell history.
PASSWORD_ENV = "POT_WRITER_PASSWORD"  # noqa: S105 (the variable's name, not a password)


@click.group()
def db() -> None:
    """Set up a shared PostgreSQL store (run by whoever administers the database).

    Example: pot --db postgresql://postgres@db.example.org/crew db setup --writer pot_writer
    """


@db.command()
@click.option("--writer", required=True, metavar="ROLE", help="The role every `pot` signs in as.")
@click.option(
    "--owner",
    default="pot_owner",
    show_default=True,
    metavar="ROLE",
    help="The role that owns the tables (never signs in; only it may alter them).",
)
@click.option(
    "--no-password",
    is_flag=True,
    help=f"Set no password (the writer signs in another way, or keeps its own); else ${PASSWORD_ENV} or a prompt.",
)
@json_option
@pass_session
def setup(s: Session, writer: str, owner: str, no_password: bool, as_json: bool) -> None:
    """Make an owner role that owns the store's tables and a writer role that may only add and read.

    Run it with an administrator's --db URL, on a new store or an existing one
    (and again after upgrading pot). The writer may INSERT and SELECT events and
    snapshots and keep the views; it may not UPDATE, DELETE, TRUNCATE, ALTER,
    disable the triggers on, or DROP the events and snapshots tables.

    \b
    Example:
      POT_WRITER_PASSWORD=… pot --db 'postgresql://postgres@db.example.org/crew?schema=maastricht' \\
          db setup --writer pot_writer
    """
    from sqlalchemy.engine import make_url

    from ledger.roles import admin_store, parse_role, set_up_roles

    # Names and store first, so a typo is refused before anyone is asked for a password.
    parse_role(owner, "--owner")
    parse_role(writer, "--writer")
    store = admin_store(s.db)
    password: str | None = None
    if not no_password:
        password = os.environ.get(PASSWORD_ENV) or click.prompt(
            f"password for {writer}", hide_input=True, confirmation_prompt=True, err=True
        )
    done = set_up_roles(store, owner=owner, writer=writer, password=password)
    writer_url = make_url(store.location).set(username=writer, password=None).render_as_string()
    if as_json:
        return emit_json(
            {
                "schema": done.schema,
                "owner": done.owner,
                "writer": done.writer,
                "created": done.created,
                "password_set": done.password_set,
                "tables": done.tables,
                "views": done.views,
                "writer_db": writer_url,
            }
        )
    for role in done.created:
        click.echo(f"created role {role}")
    click.echo(
        f"schema {done.schema}: {done.owner} owns {', '.join(done.tables)} and {len(done.views)} view tables;"
        " only it may alter them or switch their triggers off"
    )
    click.echo(
        f"{done.writer} may add and read events and snapshots and keep the views"
        f" ({_password_note(done.password_set, done.writer in done.created)});"
        " it may not change, empty, alter or drop them"
    )
    click.echo(f"run pot as the writer: --db '{writer_url}' (its password in ~/.pgpass or the URL in POT_DB)")


def _password_note(password_set: bool, created: bool) -> str:
    if password_set:
        return "password set"
    return "no password: it signs in another way" if created else "password unchanged"
