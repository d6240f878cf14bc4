"""The JSON Lines chain format: a pot's whole history in a file, and back.

`export_jsonl` writes one line per event: its canonical chain record (SPEC §1
Integrity) plus its digest, enough to re-verify the chain with nothing but the
file (`verify_file`). `import_jsonl` re-creates the pot from such a file in
another store: the very same events, checked as the commands would have checked
them, so the head digest is unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain import chain
from domain.errors import BadInput, PotError, Refused, Tampered
from domain.events import EVENT_TYPES, PotEvent, PotOpened, WithdrawalPaid, record_of
from domain.lawful import Unfoldable, follow
from domain.pot import Pot, pot_id
from domain.signing import Seen
from ledger import fileio
from ledger.app import Ledger
from ledger.fileio import Exported, utf8_lines
from ledger.integrity import DigestCheck, SignatureCheck, stored_events
from ledger.store import EVENTS_TABLE, SQLITE_COMPANIONS
from ledger.stored_past import StoredPast
from projections.verification import VerifyReport, Why

# The keys of one JSON Lines record: the canonical chain record and its digest.
RECORD_KEYS = ("no", "type", "at", "on", "actor", "prev", "fields")
LINE_KEYS = frozenset((*RECORD_KEYS, "digest"))
# SPEC §8 `export --with-receipts`: after a payout's line, a line `{"receipt": SHA-256, "base64": bytes}` carries
# the receipt its event names. Not an event and not chained (the payout's hash pins the bytes), so the plain
# export is unchanged and a file with receipts verifies its chain exactly as one without.
RECEIPT_KEYS = frozenset(("receipt", "base64"))


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


def export_jsonl(ledger: Ledger, slug: str, out: TextIO, *, with_receipts: bool = False) -> Exported:
    """One line per event: its canonical chain record (SPEC §1 Integrity) plus `digest`.

    `with_receipts`: each payout's receipt follows its line, as a receipt line (`RECEIPT_KEYS`).
    """
    count, digest = 0, chain.GENESIS
    for event in _pot_events(ledger, slug):
        record = record_of(event)
        digest = chain.digest(record)
        out.write(json.dumps({**record, "digest": digest}, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
        if with_receipts and isinstance(event, WithdrawalPaid) and event.receipt_sha256 is not None:
            data = ledger.receipts.get(event.receipt_sha256)
            if data is None:
                raise Tampered(f"the receipt of payout {event.no} is missing from the store: run `pot verify`")
            text = base64.b64encode(data).decode("ascii")
            out.write(json.dumps({"receipt": event.receipt_sha256, "base64": text}, separators=(",", ":")) + "\n")
    return Exported(count, digest[: chain.SHORT])


def _receipt_line(obj: dict[str, Any], line_no: int, no: int, receipts: dict[str, bytes]) -> None:
    """Keep a receipt line's bytes under the hash it names; a line that is not a receipt is refused."""
    sha, text = obj["receipt"], obj["base64"]
    try:
        if not isinstance(sha, str) or not isinstance(text, str):
            raise ValueError
        data = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise BrokenLine(line_no, no, "a receipt line holds a hash and base64 text") from None
    receipts[sha] = data


# --------------------------------------------------------------------------- the chain in a file
class BrokenLine(Tampered):
    """A JSON Lines export whose chain breaks at one line."""

    def __init__(self, line: int, no: int, problem: str) -> None:
        super().__init__(f"line {line} (event {no}): {problem}")
        self.line, self.no = line, no


def _walk(path: Path, receipts: dict[str, bytes] | None = None) -> Iterator[tuple[int, dict[str, Any], str]]:
    """Each line's canonical record and digest, checked against the chain; raise at the first bad one.

    Receipt lines (`--with-receipts`) go into `receipts` by the hash they name, unchecked: whoever
    reads the payouts checks each against its event.
    """
    running, expected = chain.GENESIS, 0
    for line_no, line in utf8_lines(path):
        if line is None:
            raise BrokenLine(line_no, expected + 1, "not UTF-8 text")
        if not line.strip():
            continue
        expected += 1
        try:
            obj = json.loads(line)
        except ValueError:
            raise BrokenLine(line_no, expected, "not a JSON object") from None
        if isinstance(obj, dict) and set(obj) == RECEIPT_KEYS and receipts is not None:
            expected -= 1
            _receipt_line(obj, line_no, expected, receipts)
            continue
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
    """Check a JSON Lines export from the file alone, with no store: its chain, and that the commands
    could have recorded every event in it (the rules an import applies)."""
    count, head, first_bad, problem = 0, chain.GENESIS, None, None
    why: Why | None = None
    written_down = DigestCheck(digest_prefix)
    # The signatures are checked as `verify` checks a store's: each against the keys in force then.
    signatures = SignatureCheck()
    pot: Pot | None = None
    receipts: dict[str, bytes] = {}
    named: list[tuple[int, WithdrawalPaid]] = []
    lines = _walk(path, receipts)
    try:
        for line, record, digest in lines:
            count, head = count + 1, digest
            written_down.see(digest)
            try:
                event = _event_from(line, record, digest, pot.slug if pot is not None else None)
                signatures.check(pot, event)
                pot = follow(pot, event, signatures=False)
                signatures.chained(count, digest)
            except PotError as e:
                first_bad, problem, why = (
                    count,
                    f"line {line} (event {count}): could not have been recorded: {e}",
                    "rule",
                )
                break
            if isinstance(event, WithdrawalPaid) and event.receipt_sha256 is not None:
                named.append((line, event))
    except BrokenLine as e:
        first_bad, problem, why = e.no, str(e), "chain"
    # A file exported with its receipts (it holds any) must hold each payout's, with the bytes its hash names.
    bad_receipt = _receipt_problem(named, receipts) if receipts and problem is None else None
    if bad_receipt is not None:
        first_bad, problem, why = bad_receipt[0], bad_receipt[1], "receipt"
    if signatures.bad and (first_bad is None or signatures.bad[0] < first_bad):
        first_bad, problem, why = signatures.bad[0], signatures.first_problem, "signature"
    if problem is None and count == 0:
        first_bad, problem, why = 1, "the file holds no events", "chain"
    if problem is None:
        problem = written_down.problem("file")
        why = "digest" if problem else None
    return VerifyReport(
        ok=problem is None,
        events=count,
        head=head[: chain.SHORT],
        first_bad=first_bad,
        why=why,
        problem=problem,
        **signatures.counts(),
    )


def _receipt_problem(named: list[tuple[int, WithdrawalPaid]], receipts: dict[str, bytes]) -> tuple[int, str] | None:
    """The first payout whose receipt the file lacks or carries changed: (its event number, why)."""
    for line, paid in named:
        sha = paid.receipt_sha256
        data = receipts.get(sha) if sha is not None else None
        if data is None:
            return paid.no, f"line {line} (event {paid.no}): the receipt of payout {paid.no} is not in the file"
        if hashlib.sha256(data).hexdigest() != sha:
            return paid.no, (
                f"line {line} (event {paid.no}): the receipt of payout {paid.no} (proposal {paid.proposal_no})"
                " was changed: its bytes no longer hash to what the payout recorded"
            )
    return None


# --------------------------------------------------------------------------- import a whole pot
def _event_from(line: int, record: dict[str, Any], digest: str, slug: str | None) -> PotEvent:
    no, kind = record["no"], record["type"]
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise BrokenLine(line, no, f"unknown event type {kind!r}")
    if (cls is PotOpened) != (no == 1):
        raise BrokenLine(line, no, f"a pot's history starts with {PotOpened.TYPE}, and only once")
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
    receipts: dict[str, bytes] = {}
    named: list[tuple[int, WithdrawalPaid]] = []
    lines = _walk(path, receipts)
    first = next(lines, None)
    if first is None:
        raise BadInput(f"{path} holds no events")
    line, record, digest = first
    opened = _event_from(line, record, digest, None)
    if not isinstance(opened, PotOpened):  # _event_from refuses this already; this tells the type checker.
        raise BrokenLine(line, 1, f"a pot's history starts with {PotOpened.TYPE}")
    if ledger.exists(opened.slug):
        raise Refused(f"this store already holds pot {opened.slug!r}: import into another store")
    pot = _follow(None, opened, line)
    # So the pot can hand its contributions over a part at a time, as a loaded pot does.
    pot.past = StoredPast(ledger, pot.slug)
    count = 1
    # Each digest so far, for the `seen` of a signature (SPEC §7): an event already in the chain.
    digests = {digest: 1}
    try:
        with ledger.bulk_save(pot) as flush:
            for line, record, digest in lines:
                event = _event_from(line, record, digest, pot.slug)
                _follow(pot, event, line, digests.get)
                count += 1
                digests[digest] = count
                if isinstance(event, WithdrawalPaid) and event.receipt_sha256 is not None:
                    named.append((line, event))
                if count % fileio.CHUNK == 0:
                    flush()
            _keep_receipts(ledger, named, receipts)
    except IntegrityError:
        raise Refused(f"this store already holds pot {pot.slug!r}: import into another store") from None
    ledger.catch_up()
    return pot.slug, Exported(count, pot.state.head[: chain.SHORT])


def _keep_receipts(ledger: Ledger, named: list[tuple[int, WithdrawalPaid]], receipts: dict[str, bytes]) -> None:
    """Store the receipts a file carries (SPEC §8), each checked against its payout, before its events are saved.

    A file without receipt lines (a plain export) brings none: its payouts name receipts this store lacks,
    which `verify` reports, until they are imported from a file that carries them.
    """
    from ledger.receipts import checked

    if not receipts:
        return
    bad = _receipt_problem(named, receipts)
    if bad is not None:
        raise Tampered(bad[1])
    for line, paid in named:
        data = receipts[str(paid.receipt_sha256)]
        try:
            checked(data, f"the receipt of payout {paid.no}")
        except BadInput as e:
            raise BrokenLine(line, paid.no, str(e)) from None
        ledger.receipts.keep(data)


# Beside a SQLite store: what SQLite keeps while it is open, and the writers' lock file (`LedgerBase.writer_turn`).
STORE_COMPANIONS = (*SQLITE_COMPANIONS, ".lock")


@contextmanager
def no_store_left_if_refused(store_file: Path | None, close: Callable[[], None]) -> Iterator[None]:
    """Around an import into `store_file`: if that store is new and the import fails, remove what opening it made.

    Opening a store creates its tables, so a refused import into a new path would leave
    a store with tables and no events, which later reads as an empty pot store. Only files
    this import created are removed: nothing when the store or a companion of it was
    there before (a store that exists is never touched), and nothing when events are in
    it after all (another process's import into the same new path that got there first).
    `close` closes the ledger, so SQLite lets go of its files first. None (PostgreSQL):
    nothing to do, as a database is not created by `pot`.
    """
    fresh = store_file is not None and not any(_beside(store_file, x).exists() for x in ("", *STORE_COMPANIONS))
    try:
        yield
    except BaseException:
        if fresh and store_file is not None and store_file.exists():
            close()
            _remove_if_empty(store_file)
        raise


def _beside(store_file: Path, suffix: str) -> Path:
    return store_file.with_name(store_file.name + suffix)


def _remove_if_empty(store_file: Path) -> None:
    """Delete a store file and its companions, if it holds no events; leave it whole otherwise."""
    try:
        with closing_sqlite(store_file) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if EVENTS_TABLE in tables and conn.execute(f"SELECT 1 FROM {EVENTS_TABLE} LIMIT 1").fetchone():
                return
    except sqlite3.Error:
        return  # Not readable as we left it: not ours to judge, so not ours to delete.
    for suffix in ("", *STORE_COMPANIONS):
        with suppress(FileNotFoundError):
            _beside(store_file, suffix).unlink()


@contextmanager
def closing_sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a SQLite file (it creates nothing), closed at the end."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _follow(pot: Pot | None, event: PotEvent, line: int, seen: Seen | None = None) -> Pot:
    """Check one imported event against the pot so far, fold it in (the first creates the pot), queue it."""
    try:
        folded = follow(pot, event, seen=seen)
    except Unfoldable as e:
        raise BrokenLine(line, event.no, str(e)) from None
    except PotError as e:
        raise BrokenLine(line, event.no, f"could not have been recorded: {e}") from None
    folded.pending_events.append(event)
    return folded
