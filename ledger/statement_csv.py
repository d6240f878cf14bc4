"""The CSV bank-statement import: a statement's contributions, recorded all or none.

A statement has the header `member,amount,on[,note][,ref]`. Each row is parsed
and checked as `pot contribute` would check it; a row without a ref gets one
derived from its content, so importing the same file again adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path

from domain.errors import BadInput, PotError, Refused
from domain.past import Contribution
from domain.pot import Pot
from domain.values import name_key, parse_amount, parse_date, parse_name, parse_text
from ledger import fileio
from ledger.app import Ledger
from ledger.fileio import utf8_lines

# Columns of a contributions statement; the first three are required.
CSV_COLUMNS = ("member", "amount", "on", "note", "ref")
CSV_REQUIRED = ("member", "amount", "on")

# Called as progress(phase, rows done, rows in total; 0 when unknown) while importing.
Progress = Callable[[str, int, int], None]
# Report progress every this many rows: often enough for a bar, rarely enough to cost nothing.
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class Imported:
    """What a statement import did: rows recorded now, and rows whose ref was recorded before."""

    new: int
    already_recorded: int
    # The first new contribution's event number (the new ones follow it): 0 when none is new.
    first_no: int = 0


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    member: str
    amount_minor: int
    on: date
    note: str
    ref: str


def count_rows(path: Path) -> int:
    """Lines after the header: a cheap upper bound on the rows, for a progress bar."""
    with path.open("rb") as f:
        return max(sum(1 for _ in f) - 1, 0)


def _derived_ref(member: str, amount_minor: int, on: date, note: str, occurrence: int) -> str:
    """A ref from a row's content and how many identical rows came before it in the file.

    Importing the same file again derives the same refs, so nothing is added twice,
    while two identical rows in one file stay two contributions.
    """
    text = "\x1f".join((name_key(member), str(amount_minor), on.isoformat(), note, str(occurrence)))
    return "csv-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class _Occurrences:
    """How many times each row content has come up so far in one file.

    A statement without refs may run to a million rows, and a dict of their
    contents would grow with it: the counts live in SQLite's private temporary
    database instead, which spills to disk past a small cache.
    """

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None

    def count(self, content: str) -> int:
        """Count one more `content`; return how many times it has come up, this one included."""
        if self._db is None:
            self._db = sqlite3.connect("")  # "": private, temporary, deleted when closed.
            self._db.execute("CREATE TABLE seen (content TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
        found = self._db.execute(
            "INSERT INTO seen VALUES (?, 1) ON CONFLICT (content) DO UPDATE SET n = n + 1 RETURNING n", (content,)
        ).fetchone()
        return int(found[0])

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def _header(row: list[str]) -> list[str]:
    columns = [c.strip().lower() for c in row]
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    # Many banks export with semicolons (and decimal commas, refused row by row).
    if len(columns) == 1 and ";" in columns[0]:
        raise BadInput(
            f"line 1: the columns are separated by semicolons: pot reads commas ({','.join(CSV_COLUMNS)});"
            " save the statement as comma-separated, with a dot before the cents"
        )
    if unknown:
        raise BadInput(f"line 1: unknown column {unknown[0]!r}: the header is {','.join(CSV_COLUMNS)}")
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        raise BadInput(f"line 1: the header needs the column {missing[0]!r} ({','.join(CSV_COLUMNS)})")
    if len(set(columns)) != len(columns):
        raise BadInput("line 1: a column is named twice in the header")
    return columns


# Bad rows named in the one error line; past these, how many more.
NAMED_ROWS = 20


def _parse_rows(pot: Pot, path: Path, today: date) -> Iterator[_Row]:
    """Each row of a statement, parsed and checked on its own; at the end, one error naming every bad row."""
    digits = pot.state.digits
    bad: list[tuple[int, PotError]] = []
    # Only for rows without a ref: how many identical rows came before (see _derived_ref).
    with closing(_Occurrences()) as occurrences, path.open(encoding="utf-8-sig", newline="") as f:
        # strict: text after a closing quote, or a quote still open at the end of the file, is an error
        # rather than a guess (which would read the rows after an open quote as one long note).
        reader = csv.reader(f, strict=True)
        columns: list[str] | None = None
        # The last line of the row before: a row starts on the line after it, however many lines it spans.
        # The lambda reads it late on purpose: when the reader fails, it names the row it was reading.
        ended = 0
        for cells in _refusing_undecodable(reader, path, lambda: (ended + 1, reader.line_num)):  # noqa: B023
            # A row's problems are named by the line where it ends (as the reader counts); an open quote by
            # the line where its row starts.
            started, line = ended + 1, reader.line_num
            ended = line
            # Only a row spanning lines holds a line break (nearly every row is one line).
            spans_lines = line > started
            if spans_lines:
                # newline="" keeps a quoted field's line breaks as written: CRLF from Windows files
                # reads as LF, so a multi-line note is the same whichever line endings the file has.
                cells = [c.replace("\r\n", "\n") for c in cells]
            if not "".join(cells).strip():
                continue
            if columns is None:
                columns = _header(cells)
                continue
            if spans_lines:
                _refuse_swallowed_rows(cells, columns, started, digits)
            try:
                if len(cells) != len(columns):
                    raise BadInput(f"expected {len(columns)} fields, found {len(cells)}")
                row = dict(zip(columns, cells, strict=True))
                member = pot.current_member(parse_name(row["member"])).name
                minor = parse_amount(row["amount"], digits)
                on = parse_date(row["on"], "value date")
                if on > today:
                    raise BadInput(f"value date {on} is in the future (today is {today})")
                note = parse_text(row.get("note", ""), "note")
                given = parse_text(row.get("ref", ""), "ref", max_len=200, one_line=True)
            except PotError as e:
                # Read on, so the crew can fix every bad row at once; nothing is stored either way.
                bad.append((line, e))
                continue
            if given:
                ref = given
            else:
                seen = occurrences.count("\x1f".join((name_key(member), str(minor), on.isoformat(), note)))
                ref = _derived_ref(member, minor, on, note, seen)
            yield _Row(line, member, minor, on, note, ref)
    if columns is None:
        # Not even a header: most likely the wrong file, or an export that failed.
        raise BadInput(f"{path} is empty: a statement starts with the header member,amount,on[,note][,ref]")
    if bad:
        named = "; ".join(f"line {line}: {e}" for line, e in bad[:NAMED_ROWS])
        more = f"; and {len(bad) - NAMED_ROWS} more bad rows" if len(bad) > NAMED_ROWS else ""
        # Refused (exit 1) only when every bad row breaks a rule; any malformed row makes it bad input.
        kind = Refused if all(isinstance(e, Refused) for _, e in bad) else BadInput
        raise kind(f"{named}{more}; nothing was imported")


def _refusing_undecodable(
    rows: Iterable[list[str]], path: Path, lines: Callable[[], tuple[int, int]]
) -> Iterator[list[str]]:
    """The rows; a statement that is not UTF-8, or that the CSV reader cannot split, is refused as bad input.

    `lines` says on which line the row being read started and which line the reader had reached,
    to name them in the message.
    """
    try:
        yield from rows
    except UnicodeDecodeError:
        raise BadInput(
            f"line {_first_undecodable_line(path)}: the statement is not UTF-8 text; export or save it as UTF-8 CSV"
        ) from None
    except csv.Error as e:
        started, reached = lines()
        if "field limit" in str(e):
            # No column comes near the reader's limit (a note holds at most 500 characters): a
            # quote left open swallows the lines after it, or the file is not a statement.
            raise BadInput(
                f"line {reached}: a field is longer than {csv.field_size_limit()} characters"
                " (a note holds at most 500): is a quote left open?"
            ) from None
        if "unexpected end of data" in str(e):
            # The strict reader's word for a quoted field still open when the file ends.
            raise BadInput(
                f"line {started}: a quote opened on this line is never closed, so every line after it"
                f" (to line {reached}) would be one field: close the quote, or double a quote meant as text"
            ) from None
        if reached > started:
            raise BadInput(
                f"line {started}: a quoted field opened here closes on line {reached} with text after the"
                f" closing quote ({e}): is a quote left open on line {started}?"
            ) from None
        raise BadInput(f"line {reached}: not readable as CSV ({e})") from None


def _refuse_swallowed_rows(cells: list[str], columns: list[str], line: int, digits: int) -> None:
    """Refuse a quoted field with a line in it that reads as a statement row of its own.

    A note may span lines when quoted on purpose. But a quote left open and closed by
    chance at the end of a later line reads as valid CSV, with the rows in between
    hidden in one note: a line in a field whose amount and date columns hold an amount
    and a date is taken for such a row, since a note written by a person hardly has one.
    """
    at = {column: i for i, column in enumerate(columns)}
    breaks = 0
    for cell in cells:
        for k, text in enumerate(cell.split("\n")[1:], start=1):
            parts = text.split(",")
            if len(parts) > max(at["amount"], at["on"]) and _parses(parts, at, digits):
                raise BadInput(
                    f"line {line}: the quoted field swallows line {line + breaks + k}, which reads as a row"
                    f" of its own: is a quote left open on line {line}?"
                )
        breaks += cell.count("\n")


def _parses(parts: list[str], at: dict[str, int], digits: int) -> bool:
    try:
        parse_amount(parts[at["amount"]], digits)
        parse_date(parts[at["on"]], "value date")
    except PotError:
        return False
    return True


def _first_undecodable_line(path: Path) -> int:
    # A text file's decoding error does not say which line, so look again line by line.
    return next((no for no, text in utf8_lines(path) if text is None), 1)


def import_csv(
    ledger: Ledger, slug: str, *, actor: str, path: Path, today: date, progress: Progress | None = None
) -> Imported:
    """Record a statement's contributions: every new row, or none (one atomic save).

    A row whose ref is already recorded with the same member, amount and date is
    counted as already recorded; the same ref with other content refuses the file.
    The file is read, checked and stored a part at a time inside one transaction,
    so memory stays flat however long it is, and a bad row anywhere rolls back
    every part before it.
    """
    total = count_rows(path) if progress is not None else 0

    def record(pot: Pot) -> Imported:
        pot.acting_treasurer(actor, "import contributions")
        first_new = pot.version + 1
        new = already = done = 0
        with ledger.bulk_save(pot) as flush:
            for part in _parts(_parse_rows(pot, path, today), fileio.CHUNK):
                # One lookup for the part's refs, kept up to date as the part's rows are recorded.
                recorded = pot.recorded_refs(row.ref for row in part)
                for row in part:
                    earlier = recorded.get(row.ref)
                    if earlier is None:
                        recorded[row.ref] = _contribute(pot, actor, row, today)
                        new += 1
                    elif (name_key(earlier.member), earlier.amount_minor, earlier.on) == (
                        name_key(row.member),
                        row.amount_minor,
                        row.on,
                    ):
                        already += 1
                    else:
                        raise Refused(
                            f"line {row.line}: ref {row.ref!r} is already recorded as {_where(pot, earlier, first_new)}"
                            " with different content; nothing was imported"
                        )
                    done += 1
                    if progress is not None and done % PROGRESS_EVERY == 0:
                        progress("importing", done, total)
                flush()
        return Imported(new, already, first_new if new else 0)

    # On a conflict the whole file is read and checked again against the fresh pot.
    return ledger.change_in_parts(slug, record)


def _parts(rows: Iterator[_Row], size: int) -> Iterator[list[_Row]]:
    """Consecutive lists of `size` rows (the last may be shorter); itertools.batched from Python 3.12."""
    while part := list(islice(rows, size)):
        yield part


def _contribute(pot: Pot, actor: str, row: _Row, today: date) -> Contribution:
    try:
        no = pot.contribute(
            actor=actor,
            member=row.member,
            amount_minor=row.amount_minor,
            on=row.on,
            today=today,
            note=row.note,
            ref=row.ref,
        )
    except PotError as e:
        raise type(e)(f"line {row.line}: {e}") from None
    return Contribution(no, row.member, row.amount_minor, row.on, row.ref)


def _where(pot: Pot, earlier: Contribution, first_new: int) -> str:
    """Where a ref was first recorded: a stored event, or a line above in the same file."""
    if earlier.no >= first_new:
        return "an earlier line of this file"
    return f"event {earlier.no} ({earlier.member}, {pot.money(earlier.amount_minor)}, {earlier.on})"
