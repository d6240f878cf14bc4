"""Interchange and audit: export a pot, check an export offline, import into a store.

Exports: JSON Lines (every event's canonical chain record plus its digest, enough
to re-verify the chain with nothing but this file), CSV of the audit trail for a
spreadsheet, and an hledger journal of the money movements. Imports: a bank
statement's contributions from CSV (atomic and idempotent), or a whole pot from
its JSON Lines export (the very same events, so the head digest is unchanged).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain import chain
from domain.errors import BadInput, PotError, Refused, Tampered
from domain.events import EVENT_TYPES, PotEvent, PotOpened, record_of
from domain.lawful import check_follows, check_opening
from domain.past import Contribution
from domain.pot import Pot, pot_id
from domain.values import format_amount, name_key, parse_amount, parse_date, parse_name, parse_text
from ledger.app import Ledger, StoredPast
from ledger.integrity import MIN_DIGEST_PREFIX, stored_events
from projections.queries import history_items
from projections.reports import PotInfo, VerifyReport

# The keys of one JSON Lines record: the canonical chain record and its digest.
RECORD_KEYS = ("no", "type", "at", "on", "actor", "prev", "fields")
LINE_KEYS = frozenset((*RECORD_KEYS, "digest"))

# Columns of a contributions statement; the first three are required.
CSV_COLUMNS = ("member", "amount", "on", "note", "ref")
CSV_REQUIRED = ("member", "amount", "on")

# Called as progress(phase, rows done, rows in total; 0 when unknown) while importing.
Progress = Callable[[str, int, int], None]
# Report progress every this many rows: often enough for a bar, rarely enough to cost nothing.
PROGRESS_EVERY = 1000
# Contributions stored per part of an import's one transaction: memory stays bounded by it.
CHUNK = 5000


@dataclass(frozen=True)
class Exported:
    events: int
    head: str


@dataclass(frozen=True)
class Imported:
    new: int
    already_recorded: int


# --------------------------------------------------------------------------- export
def _pot_events(ledger: Ledger, slug: str) -> Iterator[PotEvent]:
    """The pot's events as stored, in order; an unreadable row is tampering."""
    for stored in stored_events(ledger, slug):
        try:
            event: Any = ledger.app.mapper.to_domain_event(stored)
        except Exception as e:
            raise Tampered(f"stored event {stored.originator_version} cannot be read ({e}); run `pot verify`") from None
        if not isinstance(event, PotEvent):
            raise Tampered(f"stored event {stored.originator_version} is not a pot event; run `pot verify`")
        yield event


def export_jsonl(ledger: Ledger, slug: str, out: TextIO) -> Exported:
    """One line per event: its canonical chain record (SPEC §1 Integrity) plus `digest`."""
    count, digest = 0, chain.GENESIS
    for event in _pot_events(ledger, slug):
        record = record_of(event)
        digest = chain.digest(record)
        out.write(json.dumps({**record, "digest": digest}, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return Exported(count, digest[: chain.SHORT])


# Spreadsheets run cells starting with these as formulas; text cells get a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(ledger: Ledger, info: PotInfo, out: TextIO) -> Exported:
    """The audit trail with a header; amounts are decimal strings, `change` signed, `balance` running."""
    from projections.describe import describe

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["no", "on", "at", "type", "actor", "member", "amount", "change", "balance", "currency", "what", "digest"]
    )
    count, running, digest = 0, 0, chain.GENESIS
    with ledger.read() as conn:
        for item, delta in history_items(conn, info):
            running += delta
            member = item.get("member")
            writer.writerow(
                [
                    item["no"],
                    item["on"],
                    item["at"],
                    item["type"],
                    _cell(item["actor"]),
                    _cell(member) if isinstance(member, str) else "",
                    item.get("amount") or "",
                    format_amount(delta, info.digits) if delta else "",
                    format_amount(running, info.digits),
                    info.currency,
                    _cell(describe(item)),
                    item["digest"],
                ]
            )
            count, digest = count + 1, item["digest"]
    return Exported(count, digest[: chain.SHORT])


# Characters that hledger reads as syntax inside a posting (subaccounts, comments,
# virtual postings, prices, assertions, status marks): they become spaces.
_ACCOUNT_SYNTAX = re.compile(r"[:;()\[\]{}#@=*!|\"]")


def _plain(text: str) -> str:
    """One line of single-spaced text without control characters."""
    return " ".join("".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text).split())


def account_name(text: str) -> str:
    """A readable hledger account-name component for a member or recipient."""
    return " ".join(_ACCOUNT_SYNTAX.sub(" ", _plain(text)).split()) or "unnamed"


class _Accounts:
    """One account-name component per distinct name in a journal, first come in history order.

    `account_name` drops hledger's syntax, so "Kim*" and "Kim" would both become
    `Kim` and hledger would add their money up as one person's. The first of them
    (in event order, which never changes once written) keeps the plain name; each
    later one gets the next free " 2", " 3"…, announced in a comment where it first
    appears, so a re-export of a grown pot names everyone as before.
    """

    def __init__(self) -> None:
        self._of: dict[str, str] = {}
        self._taken: set[str] = set()

    def __call__(self, name: str, out: TextIO) -> str:
        found = self._of.get(name)
        if found is None:
            found = plain = account_name(name)
            n = 1
            while found in self._taken:
                n += 1
                found = f"{plain} {n}"
            if n > 1:
                out.write(f"\n; account {found} is {_plain(name)!r}: {plain} is taken by another name\n")
            self._of[name] = found
            self._taken.add(found)
        return found


def _description(text: str) -> str:
    # `;` would start a comment and `|` split payee from note.
    return _plain(text).replace(";", ",").replace("|", "/")


def export_journal(ledger: Ledger, info: PotInfo, out: TextIO) -> Exported:
    """An hledger journal: one transaction per contribution, reversal and payout, by value date."""
    money_types = ("contribution_recorded", "contribution_reversed", "withdrawal_proposed", "withdrawal_paid")
    cur = info.currency
    # A commodity directive with an explicit decimal mark, so `1.500 BHD` is never read as 1500.
    style = format_amount(1000 * 10**info.digits, info.digits) + ("" if info.digits else ".")
    out.write(
        f"; commonpot pot {info.slug} ({_plain(info.name)}) in {cur}, head digest {info.head[: chain.SHORT]}\n"
        f"; accounts: assets:pot, income:contributions:MEMBER, expenses:withdrawals:RECIPIENT\n"
        f"decimal-mark .\ncommodity {style} {cur}\n"
    )
    purposes: dict[int, str] = {}
    accounts = _Accounts()
    count, digest = 0, chain.GENESIS
    with ledger.read() as conn:
        for item, _delta in history_items(conn, info, types=money_types):
            kind, no, on = item["type"], item["no"], item["on"]
            amount = f"{item['amount']} {cur}"
            if kind == "withdrawal_proposed":
                purposes[int(item["proposal_no"])] = item["purpose"]
                continue
            if kind == "contribution_recorded":
                head = f"contribution from {item['member']}"
                comment = item.get("note") or ""
                debit, credit = "assets:pot", f"income:contributions:{accounts(item['member'], out)}"
            elif kind == "contribution_reversed":
                head = f"reversal of contribution {item['contribution_no']} from {item['member']}"
                comment = item["reason"]
                debit, credit = f"income:contributions:{accounts(item['member'], out)}", "assets:pot"
            else:
                proposal_no = int(item["proposal_no"])
                head = f"payout of proposal {proposal_no} to {item['recipient']}"
                comment = purposes.get(proposal_no, "")
                debit, credit = f"expenses:withdrawals:{accounts(item['recipient'], out)}", "assets:pot"
            note = f"  ; {_plain(comment)}" if _plain(comment) else ""
            out.write(f"\n{on} ({no}) {_description(head)}{note}\n    {debit}  {amount}\n    {credit}  -{amount}\n")
            count, digest = count + 1, item["digest"]
    return Exported(count, digest[: chain.SHORT])


# --------------------------------------------------------------------------- the chain in a file
class BrokenLine(Tampered):
    """A JSON Lines export whose chain breaks at one line."""

    def __init__(self, line: int, no: int, problem: str) -> None:
        super().__init__(f"line {line} (event {no}): {problem}")
        self.line, self.no = line, no


def _utf8_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """Each line of the file and its number, decoded on its own: None for a line that is not UTF-8.

    Text files decode in blocks, so a bad byte is reported without its line. A newline
    byte is never part of a multi-byte UTF-8 character, so each line decodes alone.
    """
    with path.open("rb") as f:
        for no, data in enumerate(f, start=1):
            if no == 1:
                # Windows editors save UTF-8 with a byte order mark; it is not part of the first line.
                data = data.removeprefix(codecs.BOM_UTF8)
            try:
                yield no, data.decode("utf-8")
            except UnicodeDecodeError:
                yield no, None


def _walk(path: Path) -> Iterator[tuple[int, dict[str, Any], str]]:
    """Each line's canonical record and digest, checked against the chain; raise at the first bad one."""
    running, expected = chain.GENESIS, 0
    for line_no, line in _utf8_lines(path):
        if line is None:
            raise BrokenLine(line_no, expected + 1, "not UTF-8 text")
        if not line.strip():
            continue
        expected += 1
        try:
            obj = json.loads(line)
        except ValueError:
            raise BrokenLine(line_no, expected, "not a JSON object") from None
        if not isinstance(obj, dict) or set(obj) != LINE_KEYS:
            keys = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
            raise BrokenLine(line_no, expected, f"expected the keys {', '.join(sorted(LINE_KEYS))}, found {keys}")
        if type(obj["no"]) is not int or obj["no"] != expected:
            raise BrokenLine(line_no, expected, f"numbered {obj['no']!r}: events must run 1, 2, 3… without gaps")
        if obj["prev"] != running:
            raise BrokenLine(line_no, expected, f"does not follow from event {expected - 1} (prev differs)")
        record = {k: obj[k] for k in RECORD_KEYS}
        try:
            recomputed = chain.digest(record)
        except UnicodeEncodeError:
            # JSON can escape a lone surrogate (\ud800), which is no character at all: not text pot wrote.
            raise BrokenLine(line_no, expected, "holds text that is not valid Unicode") from None
        if obj["digest"] != recomputed:
            raise BrokenLine(line_no, expected, "its digest does not match its content: the line was changed")
        running = recomputed
        yield line_no, record, recomputed


def verify_file(path: Path, digest_prefix: str | None = None) -> VerifyReport:
    """Recompute the hash chain of a JSON Lines export from the file alone, with no store."""
    count, head, first_bad, problem = 0, chain.GENESIS, None, None
    seen_prefix = False
    prefix = digest_prefix.strip().lower() if digest_prefix is not None else None
    try:
        for _line, _record, digest in _walk(path):
            count, head = count + 1, digest
            seen_prefix = seen_prefix or (prefix is not None and digest.startswith(prefix))
    except BrokenLine as e:
        first_bad, problem = e.no, str(e)
    if problem is None and count == 0:
        first_bad, problem = 1, "the file holds no events"
    if problem is None and prefix is not None:
        if len(prefix) < MIN_DIGEST_PREFIX:
            problem = f"give at least {MIN_DIGEST_PREFIX} characters of the digest"
        elif not seen_prefix:
            problem = f"no event in this file has digest {digest_prefix}: the history up to it has changed"
    return VerifyReport(
        ok=problem is None, events=count, head=head[: chain.SHORT], first_bad=first_bad, problem=problem
    )


# --------------------------------------------------------------------------- import a whole pot
def _event_from(line: int, record: dict[str, Any], digest: str, slug: str | None) -> PotEvent:
    no, kind = record["no"], record["type"]
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise BrokenLine(line, no, f"unknown event type {kind!r}")
    if (cls is PotOpened) != (no == 1):
        raise BrokenLine(line, no, "a pot's history starts with pot_opened, and only once")
    fields = record["fields"]
    if not isinstance(fields, dict):
        raise BrokenLine(line, no, "fields must be a JSON object")
    if slug is None:
        slug = str(fields.get("slug"))
    data = {
        **fields,
        "originator_id": pot_id(slug),
        "originator_version": no,
        "timestamp": record["at"],
        "actor": record["actor"],
        "on": record["on"],
        "prev": record["prev"],
    }
    if cls is PotOpened:
        data["originator_topic"] = get_topic(Pot)
    try:
        event = cls.model_validate(data)
    except ValueError as e:
        raise BrokenLine(line, no, f"not a valid {kind} event ({' '.join(str(e).split())})") from None
    # Pydantic must give back exactly what was chained, or the head digest would move.
    if chain.digest(record_of(event)) != digest:
        raise BrokenLine(line, no, "cannot be re-created exactly as recorded")
    return event


def import_jsonl(ledger: Ledger, path: Path) -> tuple[str, Exported]:
    """Re-create a pot from its export: the same events, so the same balances, trust and head.

    Refused when the chain in the file is broken or the store already holds the pot.
    The events are stored a part at a time in one transaction: all of them or none.
    """
    lines = _walk(path)
    first = next(lines, None)
    if first is None:
        raise BadInput(f"{path} holds no events")
    line, record, digest = first
    opened = _event_from(line, record, digest, None)
    if not isinstance(opened, PotOpened):  # _event_from refuses this already; this tells the type checker.
        raise BrokenLine(line, 1, "a pot's history starts with pot_opened")
    if ledger._exists(opened.slug):
        raise Refused(f"this store already holds pot {opened.slug!r}: import into another store")
    try:
        check_opening(opened)
    except PotError as e:
        raise BrokenLine(line, 1, f"could not have been recorded: {e}") from None
    pot = _follow(None, opened, line)
    # So the pot can hand its contributions over a part at a time, as a loaded pot does.
    pot.past = StoredPast(ledger, pot.slug)
    count = 1
    try:
        with ledger.bulk_save(pot) as flush:
            for line, record, digest in lines:
                _follow(pot, _event_from(line, record, digest, pot.slug), line)
                count += 1
                if count % CHUNK == 0:
                    flush()
    except IntegrityError:
        raise Refused(f"this store already holds pot {pot.slug!r}: import into another store") from None
    ledger.catch_up()
    return pot.slug, Exported(count, pot.state.head[: chain.SHORT])


def _follow(pot: Pot | None, event: PotEvent, line: int) -> Pot:
    """Check one imported event against the pot so far, fold it in (the first creates the pot), queue it."""
    if pot is not None:
        try:
            check_follows(pot, event)
        except PotError as e:
            raise BrokenLine(line, event.no, f"could not have been recorded: {e}") from None
    try:
        folded: Pot = event.mutate(pot)  # type: ignore[assignment]
    except Exception as e:
        raise BrokenLine(line, event.no, f"cannot follow the events before it ({e!r})") from None
    if folded.state.balance_minor < 0:
        raise BrokenLine(line, event.no, "takes the balance below zero")
    folded.pending_events.append(event)
    return folded


# --------------------------------------------------------------------------- import contributions
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


def _parse_rows(pot: Pot, path: Path, today: date) -> Iterator[_Row]:
    """Each row of a statement, parsed and checked on its own; raise at the first bad line."""
    digits = pot.state.digits
    # Only for rows without a ref: how many identical rows came before (see _derived_ref).
    with closing(_Occurrences()) as occurrences, path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        columns: list[str] | None = None
        for cells in _refusing_undecodable(reader, path, lambda: reader.line_num):
            line = reader.line_num
            # newline="" keeps a quoted field's line breaks as written: CRLF from Windows files
            # reads as LF, so a multi-line note is the same whichever line endings the file has.
            cells = [c.replace("\r\n", "\n") for c in cells]
            if not cells or all(not c.strip() for c in cells):
                continue
            if columns is None:
                columns = _header(cells)
                continue
            if len(cells) != len(columns):
                raise BadInput(f"line {line}: expected {len(columns)} fields, found {len(cells)}")
            row = dict(zip(columns, cells, strict=True))
            try:
                member = pot.current_member(parse_name(row["member"])).name
                minor = parse_amount(row["amount"], digits)
                on = parse_date(row["on"], "value date")
                if on > today:
                    raise BadInput(f"value date {on} is in the future (today is {today})")
                note = parse_text(row.get("note", ""), "note")
                given = parse_text(row.get("ref", ""), "ref", max_len=200, one_line=True)
            except PotError as e:
                raise type(e)(f"line {line}: {e}") from None
            if given:
                ref = given
            else:
                seen = occurrences.count("\x1f".join((name_key(member), str(minor), on.isoformat(), note)))
                ref = _derived_ref(member, minor, on, note, seen)
            yield _Row(line, member, minor, on, note, ref)
    if columns is None:
        # Not even a header: most likely the wrong file, or an export that failed.
        raise BadInput(f"{path} is empty: a statement starts with the header member,amount,on[,note][,ref]")


def _refusing_undecodable(rows: Iterable[list[str]], path: Path, line_num: Callable[[], int]) -> Iterator[list[str]]:
    """The rows; a statement that is not UTF-8, or that the CSV reader cannot split, is refused as bad input.

    `line_num` says which line the reader had reached, to name it in the message.
    """
    try:
        yield from rows
    except UnicodeDecodeError:
        raise BadInput(
            f"line {_first_undecodable_line(path)}: the statement is not UTF-8 text; export or save it as UTF-8 CSV"
        ) from None
    except csv.Error as e:
        if "field limit" in str(e):
            # No column comes near the reader's limit (a note holds at most 500 characters): a
            # quote left open swallows the lines after it, or the file is not a statement.
            raise BadInput(
                f"line {line_num()}: a field is longer than {csv.field_size_limit()} characters"
                " (a note holds at most 500): is a quote left open?"
            ) from None
        raise BadInput(f"line {line_num()}: not readable as CSV ({e})") from None


def _first_undecodable_line(path: Path) -> int:
    # A text file's decoding error does not say which line, so look again line by line.
    return next((no for no, text in _utf8_lines(path) if text is None), 1)


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
            for part in _parts(_parse_rows(pot, path, today), CHUNK):
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
        return Imported(new, already)

    # On a conflict the whole file is read and checked again against the fresh pot.
    return ledger.write(slug, record)


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


def guess_format(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in {".jsonl", ".ndjson"} else "csv"


def write_export(ledger: Ledger, info: PotInfo, fmt: str, output: Path | None, stdout: TextIO) -> Exported:
    """Write one export format to `output` (whole or not at all) or to `stdout`."""
    writers: dict[str, Callable[[TextIO], Exported]] = {
        "jsonl": lambda out: export_jsonl(ledger, info.slug, out),
        "csv": lambda out: export_csv(ledger, info, out),
        "journal": lambda out: export_journal(ledger, info, out),
    }
    write = writers[fmt]
    if output is None:
        return write(stdout)
    # Written beside the target and renamed at the end, so a failed export leaves no half file.
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            done = write(out)
        partial.replace(output)
    except OSError as e:
        # A missing folder, no permission, a full disk: the crew's to fix, as `report -o` says too.
        raise BadInput(f"cannot write {output}: {e.strerror or e}") from None
    finally:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
    return done
