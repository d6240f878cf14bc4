"""What every `pot` command shares, without click: the session, the writer, the error line, the tables.

`cli` (the click group) and `cli_quick` (the read path that never loads click, issue 22)
both run commands through these, so a command's output, its `error:` line and its exit
code are the same whichever of the two parsed its arguments.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, NoReturn

from domain.errors import BadInput, PotError
from domain.values import format_amount, parse_amount, parse_name

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.app import Ledger
    from ledger.reads import ViewReads
    from projections.models import PotInfo


# --------------------------------------------------------------------------- writing
# click.echo's: an ANSI escape sequence is taken out of what goes to a file or pipe, not a terminal.
_ANSI = r"\033\[[0-?]*[ -/]*[@-~]"


def echo(message: str = "", *, err: bool = False) -> None:
    """Write one line to stdout (or stderr) and flush, byte for byte as `click.echo(message)` does."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    out = f"{message}\n"
    if "\033" in out and not _isatty(stream):
        import re

        out = re.sub(_ANSI, "", out)
    stream.write(out)
    stream.flush()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


# --------------------------------------------------------------------------- errors
def fail(message: str, code: int) -> NoReturn:
    echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def fail_if_known(error: BaseException) -> None:
    """End with the `error:` line and exit code of a failure a crew can cause (a rule, bad input, a busy
    store); return for any other, which the caller re-raises."""
    if isinstance(error, PotError):
        fail(str(error), error.exit_code)
    if isinstance(error, Exception) and isinstance(error, store_errors()):
        fail(store_problem(error), 1)


def end_quietly_on_broken_pipe() -> int:
    """`pot export | head -1`: the reader has all it wants. End quietly, exit 0 (SPEC §1),
    with stdout pointed at nothing so Python's flush at exit does not complain."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


# A busy or unreachable store, as each layer that may have touched it says so: the driver's own
# (the quick read, `ledger.views`), the event store's and SQLAlchemy's.
_STORE_ERRORS = (
    ("sqlite3", "OperationalError"),
    ("eventsourcing.persistence", "OperationalError"),
    ("sqlalchemy.exc", "OperationalError"),
)


def store_errors() -> tuple[type[Exception], ...]:
    """The busy-store errors of the libraries this command loaded: one it never imported cannot have raised."""
    loaded = (getattr(sys.modules[module], name) for module, name in _STORE_ERRORS if module in sys.modules)
    return tuple(loaded)


def store_problem(error: Exception) -> str:
    """A database error in a crew's words: refused credentials apart from a busy or unreachable server."""
    import re

    # SQLAlchemy appends a link to its own docs, which tells a crew nothing.
    text = re.sub(r"\s*\(Background on this error at: [^)]*\)", "", str(error)).strip()
    if re.search(r"password authentication failed|no password supplied|role .* does not exist", text):
        return f"the database refused the user name or password in --db: {text}"
    return f"the store is busy or unreachable: {text}"


# --------------------------------------------------------------------------- the session
def checked_today(day: date) -> date:
    """`--today` may move today back (back-filling, tests), never past the machine's date."""
    real = date.today()
    if day > real:
        raise BadInput(f"--today {day} is after today's date ({real}): nothing may be dated in the future")
    return day


class Session:
    """What every command shares: global options and the ledger, opened on first use.

    Whoever makes it closes it (`close`): the click group when its context closes, the quick path
    when its read is done.
    """

    def __init__(self, db: str | None, pot: str | None, actor: str | None, today: date) -> None:
        self.db, self.pot_slug, self.actor_name, self.today = db, pot, actor, today
        self._ledger: Ledger | None = None
        self._reads: ViewReads | None = None
        self._info: PotInfo | None = None
        # Only commands that make pots (init, demo, import) may create a new store file.
        self.may_create = False
        # SPEC §7: sign with this key file, or not at all (otherwise with the actor's key here, if any).
        self.key_file: str | None = None
        self.no_sign = False

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            from ledger.app import Ledger
            from ledger.keys import LocalKeys
            from ledger.store import resolve

            self._ledger = Ledger(resolve(self.db, create=self.may_create))
            self._ledger.keyring = LocalKeys(_key_path(self.key_file), self.no_sign)
        return self._ledger

    def close(self) -> None:
        """Close the ledger, if a command opened it."""
        if self._ledger is not None:
            self._ledger.close()

    @property
    def reads(self) -> ViewReads:
        """The views' queries: on a SQLite store whose views are caught up, answered with `sqlite3` alone
        (`ledger.views`, issue 22); otherwise, and once the ledger is open, by the ledger."""
        if self._ledger is not None:
            return self._ledger
        if self._reads is None:
            from ledger.where import LOCK_TIMEOUT_SECONDS, is_database_url, sqlite_store

            if is_database_url(self.db):
                return self.ledger
            from ledger.views import QuickViews

            path = sqlite_store(self.db, create=self.may_create)
            self._reads = QuickViews(path, lambda: self.ledger, lock_timeout_seconds=LOCK_TIMEOUT_SECONDS)
        return self._reads

    @property
    def info(self) -> PotInfo:
        if self._info is None:
            self._info = self.reads.resolve_pot(self.pot_slug)
        return self._info

    @property
    def slug(self) -> str:
        return self.info.slug

    @property
    def actor(self) -> str:
        if not self.actor_name:
            import click  # Only the commands that act (never a quick read) ask who is acting.

            raise click.UsageError("say who you are: --as NAME (or set POT_AS)")
        return parse_name(self.actor_name, "--as name")

    def amount(self, text: str, what: str = "amount") -> int:
        try:
            return parse_amount(text, self.info.digits)
        except BadInput as e:
            # parse_amount already says "amount …"; name other fields (income) explicitly.
            raise BadInput(str(e) if what == "amount" else f"{what}: {e}") from None

    def money(self, minor: int) -> str:
        return format_amount(minor, self.info.digits)


def _key_path(text: str | None) -> Path | None:
    from pathlib import Path

    return None if text is None else Path(text).expanduser()


# --------------------------------------------------------------------------- rendering
def emit_json(data: Any) -> None:
    """SPEC §4's JSON of a query result (`projections.models.as_json`), or of plain data."""
    from projections.models import as_json

    echo(json.dumps(as_json(data), ensure_ascii=False, indent=2))


def console() -> Any:
    from rich.console import Console

    # Piped output is read by people and scripts alike: never truncate a cell.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=None, header_style="bold")
    numeric = numeric_columns()
    for column in columns:
        t.add_column(column, justify="right" if column in numeric else "left")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    console().print(t)


def numeric_columns() -> set[str]:
    """The columns a table right-aligns: numbers."""
    from domain.game import LEVEL_NAMES

    numeric = {"no", "contributed", "share %", "received", "amount", "agree", "abstain", "disagree", "block"}
    numeric |= {"balance", "total", "level", "pledged", "fulfilment %", "income %"}
    return numeric | {f"{level} {name}" for level, name in LEVEL_NAMES.items()}
