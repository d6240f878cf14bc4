"""`pot`'s entry point: a read answered without loading click, or else the click group (issue 22).

Importing click alone takes longer than a whole quick read. So `pot` first tries to
read its arguments as one of the read commands (`cli_reads.READS`, the same table
the click commands are built from) with the global options `--db`, `--pot`, `--as` and
`--today`, before or after the command, as `--opt value` or `--opt=value`. It takes
only arguments it is sure click would take the same way; on anything else (help,
`--version`, an unknown or repeated option, a value that does not parse, a database
URL …) it declines, and `cli.main` parses the same arguments exactly as it always did,
so every parse error is click's. Once a read runs, its output and its `error:` line
come from the same body and the same error handling as through click (`cli_shared`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cli_reads import Read

# The group's options a read may give, before or after the command (cli.main's, and the hidden copies
# `cli.with_global_options` gives a command): the Session's field each sets, and its environment variable.
GLOBALS = {
    "--db": ("db", "POT_DB"),
    "--pot": ("pot", "POT_NAME"),
    "--as": ("actor", "POT_AS"),
    "--today": ("today", ""),
}


class Parsed:
    """A read command's arguments, as click would have taken them."""

    __slots__ = ("name", "options", "read", "session")

    def __init__(self, name: str, read: Read, session: dict[str, str], options: dict[str, Any]) -> None:
        self.name, self.read, self.session, self.options = name, read, session, options


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> Parsed | None:
    """The read `argv` asks for, or None when it is not one this path takes (click will say)."""
    from cli_reads import READS

    given: dict[str, str] = {}  # the global options, by the Session's field
    raw: dict[str, list[str]] = {}  # the command's own options, as text, by flag
    argument: list[str] = []
    read: Read | None = None
    name = ""
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if not token.startswith("-"):
            if read is None:
                if token not in READS:
                    return None
                name, read = token, READS[token]
            elif read.argument is not None and not argument:
                argument.append(token)
            else:
                return None  # click: an unexpected extra argument
            continue
        flag, equals, value = token.partition("=")
        option = None if read is None else next((o for o in read.options if o.flag == flag), None)
        if option is not None and option.is_flag:
            if equals or flag in raw:
                return None
            raw[flag] = []
            continue
        if option is None and flag not in GLOBALS:
            return None  # help, --version, --key, --no-sign, `--`, an unknown option: click's
        if not equals:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        if value.startswith("-"):
            return None
        if option is None:
            field = GLOBALS[flag][0]
            if field in given:
                return None
            given[field] = value
        else:
            if flag in raw and not option.multiple:
                return None
            raw.setdefault(flag, []).append(value)
    if read is None or (read.argument is not None and not argument):
        return None
    for field, variable in GLOBALS.values():
        if field not in given and variable and environ.get(variable):
            given[field] = environ[variable]
    if "://" in given.get("db", ""):
        return None  # A database server: the ledger's own path, through click.
    options: dict[str, Any] = {}
    try:
        if read.argument is not None:
            options[read.argument.dest] = read.argument.parse(argument[0])
        for option in read.options:
            texts = raw.get(option.flag)
            if option.is_flag:
                options[option.dest] = texts is not None
            elif option.multiple:
                options[option.dest] = tuple(texts or ())
            elif texts is None:
                options[option.dest] = None
            elif option.choices is not None:
                if texts[0] not in option.choices:
                    return None
                options[option.dest] = texts[0]
            else:
                options[option.dest] = texts[0] if option.parse is None else option.parse(texts[0])
    except Exception:
        return None  # A value click refuses: its message, not ours.
    return Parsed(name, read, given, options)


def answer(parsed: Parsed) -> int:
    """Run the read: its exit code, or `error:` and SPEC's exit code as the click group ends (`cli.PotGroup`)."""
    from cli_shared import Session, checked_today, echo, end_quietly_on_broken_pipe, fail, fail_if_known

    fields = parsed.session
    try:
        today = checked_today(_day(fields["today"])) if "today" in fields else date.today()
    except Exception:
        return -1  # click's message
    session = Session(fields.get("db"), fields.get("pot"), fields.get("actor"), today)
    try:
        parsed.read.body(session, **parsed.options)
    except BrokenPipeError:
        return end_quietly_on_broken_pipe()
    except (EOFError, KeyboardInterrupt):
        echo(err=True)  # as click does, before its Abort
        fail("aborted", 1)
    except Exception as e:
        fail_if_known(e)
        raise
    finally:
        session.close()
    return 0


def _day(text: str) -> date:
    from domain.values import parse_date

    return parse_date(text, "--today")


def takes(environ: Mapping[str, str]) -> bool:
    """Whether this process's streams and environment let a read be answered here as click would."""
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in environ):
        return False  # shell completion: click's
    for stream in (sys.stdout, sys.stderr):
        # click writes UTF-8 to a stream that says it is ASCII; this path would not.
        encoding = getattr(stream, "encoding", None)
        if stream is None or not encoding or _is_ascii(encoding):
            return False
    return True


def _is_ascii(encoding: str) -> bool:
    import codecs

    try:
        return codecs.lookup(encoding).name == "ascii"
    except LookupError:
        return False


def main() -> None:
    parsed = parse(sys.argv[1:], os.environ) if takes(os.environ) else None
    if parsed is not None:
        code = answer(parsed)
        if code >= 0:
            sys.exit(code)
    from cli import main as click_main

    click_main()


if __name__ == "__main__":  # pragma: no cover
    main()
