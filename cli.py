"""`pot`: the command line. Parse, call the ledger, render text or JSON; nothing else.

Errors are one line on stderr starting `error: `; exit 1 when a rule refuses,
2 for bad input or usage (SPEC §4).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cli_reads import JSON, LARGEST_NUMBER, READS, Option, as_of, option_date

# Shared with `cli_quick`, which answers reads without click; the commands import them from here.
from cli_shared import Session as Session
from cli_shared import checked_today as checked_today
from cli_shared import console as console
from cli_shared import echo as echo
from cli_shared import emit_json as emit_json
from cli_shared import end_quietly_on_broken_pipe, fail_if_known
from cli_shared import fail as fail
from cli_shared import store_errors as store_errors
from cli_shared import store_problem as store_problem
from cli_shared import table as table
from domain.errors import PotError
from domain.values import parse_date

if TYPE_CHECKING:
    from domain.events import PotEvent


F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- the commands
# The commands by what a crew does with them: the heading `pot --help` shows, the module in
# cli_commands that holds them, and (command, name of its function there). Each module is
# imported on first use, so a command loads only what it needs.
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("The crew", "crew", (("init", "init"), ("member", "member"), ("members", "members"))),
    (
        "Money in",
        "money",
        (("contribute", "contribute"), ("reverse", "reverse"), ("pledge", "pledge"), ("pledges", "pledges")),
    ),
    (
        "Deciding together",
        "deciding",
        (
            ("propose", "propose"),
            ("vote", "vote"),
            ("close", "close"),
            ("cancel", "cancel"),
            ("pay", "pay"),
            ("proposals", "proposals"),
            ("proposal", "proposal"),
        ),
    ),
    ("Money back", "money_back", (("refund", "refund"), ("receipt", "receipt"))),
    (
        "Looking back",
        "looking_back",
        (
            ("balance", "balance"),
            ("history", "history"),
            ("replay", "replay"),
            ("reflect", "reflect"),
            ("triggers", "triggers"),
            ("report", "report_"),
        ),
    ),
    ("The crew's rules", "rules", (("propose-rule", "propose_rule"), ("rules", "rules"))),
    ("The game", "game", (("game", "game"), ("trust", "trust"))),
    ("Signing", "keys", (("key", "key"),)),
    ("The web app", "serving", (("serve", "serve"), ("invite", "invite"))),
    ("Reminders", "notify", (("notify", "notify"),)),
    (
        "The store",
        "store",
        (
            ("where", "where"),
            ("verify", "verify"),
            ("rebuild", "rebuild"),
            ("export", "export_"),
            ("import", "import_"),
            ("demo", "demo"),
            ("db", "database.db"),
        ),
    ),
)
COMMANDS = {command: (module, name) for _, module, commands in SECTIONS for command, name in commands}


class PotGroup(click.Group):
    """The `pot` group: loads each command from `cli_commands` on first use, and turns every
    failure into one `error:` line and SPEC's exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands under what a crew does with them, each with its help's whole first line."""
        for heading, _, commands in SECTIONS:
            rows = []
            for command, _ in commands:
                found = self.get_command(ctx, command)
                if found is not None:
                    rows.append((command, (found.help or "").strip().splitlines()[0]))
            with formatter.section(heading):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        from importlib import import_module

        module, name = COMMANDS[cmd_name]
        if "." in name:  # A command kept in a module of its own: "module.function".
            module, name = name.split(".")
        command = getattr(import_module(f"cli_commands.{module}"), name)
        if not isinstance(command, click.Command):
            raise TypeError(f"cli_commands.{module}.{name} is not a click command")
        return with_global_options(command)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            return end_quietly_on_broken_pipe()

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as e:
            # `pot` alone asks what it can do: the help, readable, as git and hledger answer.
            click.echo(e.ctx.get_help())
            sys.exit(0)
        except PotError as e:
            fail(str(e), e.exit_code)
        except click.UsageError as e:
            fail(e.format_message(), 2)
        except click.ClickException as e:
            fail(e.format_message(), e.exit_code)
        except click.Abort:
            fail("aborted", 1)
        except Exception as e:
            fail_if_known(e)  # A busy or unreachable store.
            raise
        sys.exit(result if isinstance(result, int) else 0)


# --------------------------------------------------------------------------- context
pass_session = click.make_pass_decorator(Session)


# Event and proposal numbers: from 1 to the largest a PostgreSQL INTEGER column holds,
# so a mistyped huge number is one usage error on every backend, never a driver's overflow.
class _Number(click.IntRange):
    """A whole number from 1; its help shows `N`, and only a refusal names the bounds."""

    name = "N"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return "N"

    def _describe_range(self) -> str:
        return ""  # In help: the largest is a database limit, not something a crew needs to read.

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.INT.convert(value, param, ctx)
        if not self.min <= number <= self.max:  # type: ignore[operator]
            self.fail(f"{number} is not in the range {self.min}<=x<={self.max}.", param, ctx)
        return number


NUMBER = _Number(1, LARGEST_NUMBER)


def confirm(s: Session, events: Sequence[PotEvent], *also: str) -> None:
    """Say what a command stored, in one style for every command: `event N: …` for each event, on one line.

    The words are the history's (projections.describe), with the currency after each amount.
    """
    from domain.events import payload
    from projections.describe import describe
    from projections.queries import public_fields

    said = [
        f"event {e.no}: "
        + describe({"actor": e.actor, "type": e.TYPE, **public_fields(payload(e), s.info.digits)}, s.info.currency)
        for e in events
    ]
    echo("; ".join([*said, *also]))


def parse_option_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    return None if value is None else option_date(value)


def as_option(f: F) -> F:
    """`--as NAME` after the command too (`pot vote 1 agree --as Bo`)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.ensure_object(Session).actor_name = value

    return click.option(
        "--as", "as_", metavar="NAME", expose_value=False, callback=callback, help="Act as this member."
    )(f)


def _set(
    attribute: str, parse: Callable[[str], object]
) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        session = ctx.find_object(Session)
        if value is not None and session is not None:
            setattr(session, attribute, parse(value))

    return callback


# The global options, accepted after the command too (`pot balance --db crew.sqlite`).
GLOBAL_AFTER = (
    ("--db", "db", str),
    ("--pot", "pot_slug", str),
    ("--as", "actor_name", str),
    ("--today", "today", lambda text: checked_today(parse_date(text, "--today"))),
    ("--key", "key_file", str),
)
# Flags among them: (flag, Session attribute).
GLOBAL_FLAGS_AFTER = (("--no-sign", "no_sign"),)


def with_global_options(command: click.Command) -> click.Command:
    """Give a command (and a group's subcommands) hidden copies of the global options it lacks."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_global_options(sub)
        return command
    have = {opt for param in command.params for opt in param.opts}
    for flag, attribute, parse in GLOBAL_AFTER:
        if flag not in have:
            command.params.append(
                click.Option([flag], expose_value=False, hidden=True, callback=_set(attribute, parse))
            )
    for flag, attribute in GLOBAL_FLAGS_AFTER:
        if flag not in have:
            command.params.append(
                click.Option(
                    [flag], is_flag=True, default=None, expose_value=False, hidden=True, callback=_set_flag(attribute)
                )
            )
    return command


def _set_flag(attribute: str) -> Callable[[click.Context, click.Parameter, bool | None], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool | None) -> None:
        session = ctx.find_object(Session)
        if value and session is not None:
            setattr(session, attribute, True)

    return callback


def as_of_option(f: F) -> F:
    """`--as-of DATE`: every event dated on or before DATE (SPEC §1 Dates)."""
    return click_option(as_of())(f)


def json_option(f: F) -> F:
    return click_option(JSON)(f)


def click_option(option: Option) -> Callable[[F], F]:
    """The click option of one declared in `cli_reads` (the table `cli_quick` parses too)."""
    if option.is_flag:
        return click.option(option.flag, option.dest, is_flag=True, help=option.help)
    if option.multiple:
        return click.option(option.flag, option.dest, multiple=True, metavar=option.metavar, help=option.help)
    return click.option(
        option.flag,
        option.dest,
        metavar=option.metavar,
        type=None if option.choices is None else click.Choice(option.choices),
        callback=None if option.parse is None else _parsed(option.parse),
        help=option.help,
    )


def read_command(name: str) -> click.Command:
    """The click command of a read (`cli_reads.READS`): its options from the one table `cli_quick` parses too,
    its help from its body's docstring, its body shared."""
    read = READS[name]

    def run(s: Session, **options: Any) -> None:
        read.body(s, **options)

    f: Callable[..., Any] = pass_session(run)
    for option in reversed(read.options):
        f = click_option(option)(f)
    if read.argument is not None:
        f = click.argument(read.argument.dest, metavar=read.argument.metavar, type=NUMBER)(f)
    return click.command(name, help=read.help)(f)


def _parsed(parse: Callable[[str], object]) -> Callable[[click.Context, click.Parameter, str | None], object]:
    def callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> object:
        return None if value is None else parse(value)

    return callback


# Amounts may start with "-": let them through to say "negative" rather than "no such option".
AMOUNT_ARGS = {"ignore_unknown_options": True}


# --------------------------------------------------------------------------- the group
@click.group(cls=PotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="POT_DB", metavar="URL_OR_PATH", help="SQLite file or database URL (env POT_DB).")
@click.option("--pot", "pot", envvar="POT_NAME", metavar="SLUG", help="Which pot, by slug or name (env POT_NAME).")
@click.option("--as", "actor", envvar="POT_AS", metavar="NAME", help="Act as this member (env POT_AS).")
@click.option("--today", metavar="DATE", callback=parse_option_date, help="Take this date as today (YYYY-MM-DD).")
@click.option("--key", "key_file", metavar="FILE", help="Sign with this key file (SPEC §7).")
@click.option("--no-sign", is_flag=True, help="Do not sign, even with a key on this machine.")
@click.version_option(package_name="commonpot", prog_name="pot")
@click.pass_context
def main(
    ctx: click.Context,
    db: str | None,
    pot: str | None,
    actor: str | None,
    today: date | None,
    key_file: str | None = None,
    no_sign: bool = False,
) -> None:
    """commonpot: a crew's shared money pot, decided by consent, audited by all.

    \b
    Example:
      pot --db crew.sqlite init "Maastricht crew" --currency EUR --as Ana
      pot --db crew.sqlite --as Ana contribute Ana 25 --note January
      pot --db crew.sqlite balance
    """
    ctx.obj = Session(db, pot, actor, checked_today(today) if today else date.today())
    ctx.call_on_close(ctx.obj.close)
    ctx.obj.key_file, ctx.obj.no_sign = key_file, no_sign


if __name__ == "__main__":  # pragma: no cover
    main()
