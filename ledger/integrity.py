"""`pot verify`: recompute the hash chain from what is stored, and re-fold the views.

Four kinds of evidence name the first bad event (`why` in the JSON): the chain
(a stored row that cannot be read or is out of sequence, an event whose `prev`
is not the digest recomputed for the event before it, or whose digest differs
from the one the audit-trail view recorded when it was new); the rules (an event
no command could have recorded, checked as an import checks a file); a snapshot
that is not the state the log gives at its version. Finally, every registered
projection's tables must equal a fresh fold of the log into an empty in-memory
database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Engine, Table, create_engine, select
from sqlalchemy.exc import SQLAlchemyError

from domain import chain
from domain.errors import PotError
from domain.events import SIGNABLE_EVENTS, PotEvent, WithdrawalPaid, record_of
from domain.lawful import check_signature, follow
from domain.pot import Pot, pot_id
from ledger.app import Ledger
from projections.models import PotInfo
from projections.runner import BATCH as FOLD_BATCH
from projections.runner import Projection
from projections.tables import history, metadata, pots
from projections.verification import VerifyReport, Why

PAGE = 1000
# The fewest characters of a digest `verify --digest` accepts (one rule, with parse_digest's).
MIN_DIGEST_PREFIX = chain.MIN_PREFIX


class DigestCheck:
    """A digest a member wrote down earlier (`verify --digest D`), looked for among a history's digests.

    `verify` (the store) and `verify_file` (an export) both feed it each digest as
    they recompute the chain, then ask it what, if anything, is wrong.
    """

    def __init__(self, given: str | None) -> None:
        self.given = given
        self._prefix = None if given is None else given.strip().lower()
        self._found = False
        # The event whose digest shares the longest start with the given one, for a typo's message.
        self._nearest: tuple[int, int] = (0, 0)  # (characters shared, event number)
        self._seen = 0

    def see(self, digest: str) -> None:
        self._seen += 1
        if self._prefix is None or self._found:
            return
        self._found = digest.startswith(self._prefix)
        # Characters in common from the start (not os.path.commonprefix: these are not paths).
        shared = next(
            (i for i, (a, b) in enumerate(zip(digest, self._prefix, strict=False)) if a != b), len(self._prefix)
        )
        if shared > self._nearest[0]:
            self._nearest = (shared, self._seen)

    def problem(self, where: str) -> str | None:
        """Why the digest does not vouch for this `where` ("history", "file"); None if it does or none was given.

        A digest found nowhere is most often a typo or a placeholder, and a crew told
        "the history has changed" would be alarmed for nothing: the message says
        both, and names an event whose digest starts the same way.
        """
        if self._prefix is None:
            return None
        if len(self._prefix) < MIN_DIGEST_PREFIX:
            return f"give at least {MIN_DIGEST_PREFIX} characters of the digest"
        if self._found:
            return None
        shared, no = self._nearest
        if shared >= MIN_DIGEST_PREFIX:
            return (
                f"digest {self.given} matches event {no}'s only in its first {shared} characters: check the rest"
                " for a typo; if it is exactly what was written down, the history up to it has changed"
            )
        return (
            f"no event in this {where} has digest {self.given}: check it for a typo; if it is exactly what"
            " was written down, the history up to it has changed"
        )


class SignatureCheck:
    """Every signature in a history, each against the keys in force just before its event (SPEC §7).

    `verify` (the store) and `verify_file` (an export) feed it each event with the pot
    before it, then the event's digest; unlike the rules, a bad signature does not stop
    the walk, so every one is named. The digests seen so far answer each `seen`.
    """

    def __init__(self) -> None:
        self.signed = 0
        self.unsigned = 0
        self.bad: list[int] = []
        self.first_problem: str | None = None
        self._digests: dict[str, int] = {}

    def check(self, pot: Pot | None, event: PotEvent) -> None:
        if pot is None or not isinstance(event, SIGNABLE_EVENTS):
            return
        try:
            check_signature(pot, event, self._digests.get)
        except PotError as e:
            self.bad.append(event.no)
            if self.first_problem is None:
                self.first_problem = f"event {event.no} has a bad signature: {e}"
            return
        if getattr(event, "signature", None) is None:
            self.unsigned += 1
        else:
            self.signed += 1

    def chained(self, no: int, digest: str) -> None:
        self._digests[digest] = no

    def counts(self) -> dict[str, Any]:
        return {"signed": self.signed, "unsigned": self.unsigned, "bad_signatures": list(self.bad)}


def stored_events(ledger: Ledger, slug: str) -> Iterator[StoredEvent]:
    after: int | None = None
    while True:
        page = ledger.app.recorder.select_events(pot_id(slug), gt=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].originator_version


def _recorded_digests(ledger: Ledger, slug: str) -> dict[int, str]:
    with ledger.reader.begin() as conn:
        return {
            int(no): str(d)
            for no, d in conn.execute(select(history.c.no, history.c.digest).where(history.c.slug == slug))
        }


def _fold(conn: Connection, folds: Sequence[Projection], batch: list[PotEvent]) -> None:
    """Fold the batch into every fresh projection, then empty it."""
    for fold in folds:
        fold.apply_all(conn, batch)
    batch.clear()


class _Failure(Exception):
    """The first bad event found, what kind of evidence names it, and why, in words."""

    def __init__(self, no: int, why: Why, problem: str) -> None:
        super().__init__(problem)
        self.no, self.why, self.problem = no, why, problem


def verify(ledger: Ledger, info: PotInfo, digest_prefix: str | None = None) -> VerifyReport:
    """Check a pot's whole history in one pass, naming the first bad event and what kind of evidence names it.

    The chain (each stored event is the one its successor committed to, and the one
    the views recorded), the rules (`domain.lawful.follow`: could the commands have
    recorded it, so a row inserted with the chain recomputed is still named), the
    snapshots (each equals the state the log gives at its version), then the views.
    """
    # An unreadable or unlawful new event is reported below, with its number: a forged history
    # may not even fold into the views (two members with one name breaks their keys).
    with suppress(PotError, SQLAlchemyError):
        ledger.catch_up()
    recorded = _recorded_digests(ledger, info.slug)
    snapshots = _stored_snapshots(ledger, info.slug)
    fresh = create_engine("sqlite://")
    metadata.create_all(fresh)
    # Fresh instances of every registered projection, folding into an empty database.
    folds = [type(p)() for p in ledger.projections]
    running, count, failure, problem = chain.GENESIS, 0, None, None
    written_down = DigestCheck(digest_prefix)
    signatures = SignatureCheck()
    pot: Pot | None = None
    # Folded a batch at a time, as the catch-up does, not one statement round per event.
    batch: list[PotEvent] = []
    try:
        with fresh.begin() as conn:
            for expected, stored in enumerate(stored_events(ledger, info.slug), start=1):
                count = expected
                event = _chained(ledger, stored, expected, running)
                running = chain.digest(record_of(event))
                if recorded.get(expected, running) != running:
                    raise _Failure(expected, "chain", f"event {expected} differs from when it was recorded")
                signatures.check(pot, event)
                try:
                    pot = follow(pot, event, signatures=False)
                except PotError as e:
                    raise _Failure(expected, "rule", f"event {expected} could not have been recorded: {e}") from None
                signatures.chained(expected, running)
                _compare_snapshot(ledger, snapshots.pop(expected, None), pot)
                _check_receipt(ledger, event)
                written_down.see(running)
                batch.append(event)
                if len(batch) == FOLD_BATCH:
                    _fold(conn, folds, batch)
            _fold(conn, folds, batch)
        if len(recorded) > count:
            raise _Failure(count + 1, "chain", f"event {count + 1} is missing from the store")
        if snapshots:
            beyond = min(snapshots)
            raise _Failure(beyond, "snapshot", f"a snapshot is stored for event {beyond}, which the log does not hold")
    except _Failure as e:
        failure = e
    if signatures.bad and (failure is None or signatures.bad[0] < failure.no):
        failure = _Failure(signatures.bad[0], "signature", signatures.first_problem or "a bad signature")
    if failure is None:
        problem = written_down.problem("history")
    if failure is None and problem is None:
        problem = _compare_views(ledger.engine, fresh, info.slug, [t for p in folds for t in p.tables])
    fresh.dispose()
    first_bad: int | None = None
    why: Why | None = None
    if failure is not None:
        first_bad, why, problem = failure.no, failure.why, failure.problem
    elif problem is not None:
        why = "view" if written_down.problem("history") is None else "digest"
    return VerifyReport(
        ok=problem is None,
        events=count,
        head=running[: chain.SHORT],
        first_bad=first_bad,
        why=why,
        problem=problem,
        **signatures.counts(),
    )


def _check_receipt(ledger: Ledger, event: PotEvent) -> None:
    """A payout's receipt (SPEC §8) must be in the store with exactly the bytes its hash names."""
    sha = getattr(event, "receipt_sha256", None)
    if not isinstance(event, WithdrawalPaid) or sha is None:
        return
    data = ledger.receipts.get(sha)
    if data is None:
        raise _Failure(
            event.no, "receipt", f"the receipt of payout {event.no} (proposal {event.proposal_no}) is missing"
        )
    if hashlib.sha256(data).hexdigest() != sha:
        raise _Failure(
            event.no,
            "receipt",
            f"the receipt of payout {event.no} (proposal {event.proposal_no}) was changed: its bytes no longer hash to"
            f" {sha[: chain.SHORT]}",
        )


def _chained(ledger: Ledger, stored: StoredEvent, expected: int, running: str) -> PotEvent:
    """The stored event numbered `expected`, readable and following from the digest before it."""
    if stored.originator_version != expected:
        raise _Failure(expected, "chain", f"event {expected} is missing (found {stored.originator_version} next)")
    try:
        event: Any = ledger.app.mapper.to_domain_event(stored)
    except Exception as e:
        raise _Failure(expected, "chain", f"event {expected} cannot be read: {e}") from None
    if not isinstance(event, PotEvent):
        raise _Failure(expected, "chain", f"event {expected} is not a pot event")
    if event.prev != running:
        raise _Failure(expected, "chain", f"event {expected} does not follow from event {expected - 1}")
    return event


def _stored_snapshots(ledger: Ledger, slug: str) -> dict[int, StoredEvent]:
    """The pot's stored snapshots by the event number they were taken at."""
    if ledger.app.snapshots is None:
        return {}
    found: dict[int, StoredEvent] = {}
    after: int | None = None
    while page := ledger.app.snapshots.recorder.select_events(pot_id(slug), gt=after, limit=PAGE):
        found.update((s.originator_version, s) for s in page)
        after = page[-1].originator_version
    return found


def _compare_snapshot(ledger: Ledger, stored: StoredEvent | None, pot: Pot) -> None:
    """A snapshot must be exactly the state the log gives at its version, and match its own hash."""
    if stored is None:
        return
    no = stored.originator_version
    try:
        snapshot: Any = ledger.app.mapper.to_domain_event(stored)
    except Exception as e:
        raise _Failure(no, "snapshot", f"the snapshot at event {no} cannot be read: {e}") from None
    if not isinstance(snapshot, Pot.Snapshot):
        raise _Failure(no, "snapshot", f"the snapshot at event {no} is not a pot's")
    if snapshot.state.digest() != pot.state.digest():
        raise _Failure(no, "snapshot", f"the snapshot at event {no} differs from the state the log gives there")
    if snapshot.state_hash and snapshot.state_hash != snapshot.state.digest():
        raise _Failure(no, "snapshot", f"the snapshot at event {no} does not match its own hash")


def _compare_views(engine: Engine, fresh: Engine, slug: str, tables: list[Table]) -> str | None:
    """Name the first view whose rows for this pot differ from the fresh fold."""
    with engine.connect() as live_conn, fresh.connect() as fresh_conn:
        for table in tables:
            query = select(table).where(table.c.slug == slug).order_by(*table.primary_key.columns)
            live = [tuple(r) for r in live_conn.execute(query)]
            again = [tuple(r) for r in fresh_conn.execute(query)]
            if live != again:
                return f"the view {table.name} differs from a fresh fold of the log: run `pot rebuild`"
    return None


def unrecorded_heads(ledger: Ledger) -> list[str]:
    """Each pot whose newest recorded event is no longer in the log as the views recorded it.

    Every other event is committed to by the `prev` of the event after it, in the
    log itself, so a change to it stays visible to `verify` after any rebuild. The
    newest one is committed to only by the head digest the views recorded, which a
    rebuild would overwrite: `pot rebuild` asks this first. One event per pot.
    """
    with ledger.reader.begin() as conn:
        heads = list(conn.execute(select(pots.c.slug, pots.c.events, pots.c.head).order_by(pots.c.slug)))
    problems = []
    for slug, no, head in heads:
        found = list(ledger.app.recorder.select_events(pot_id(slug), gt=no - 1, lte=no))
        if not found:
            problems.append(f"pot {slug}: event {no} is missing from the store")
            continue
        try:
            event: Any = ledger.app.mapper.to_domain_event(found[0])
        except Exception:
            problems.append(f"pot {slug}: event {no} cannot be read")
            continue
        if not isinstance(event, PotEvent) or chain.digest(record_of(event)) != head:
            problems.append(f"pot {slug}: event {no} differs from when it was recorded")
    return problems
