"""`pot verify`: recompute the hash chain from what is stored, and re-fold the views.

Three kinds of evidence name the first bad event: a stored row that cannot be
read or is out of sequence; an event whose `prev` is not the digest recomputed
for the event before it; and an event whose recomputed digest differs from the
one the audit-trail view recorded when the event was new. Finally, every
registered projection's tables must equal a fresh fold of the log into an
empty in-memory database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from typing import Any

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Engine, Table, create_engine, select

from domain import chain
from domain.errors import PotError
from domain.events import PotEvent, record_of
from domain.pot import pot_id
from ledger.app import Ledger
from projections.models import PotInfo, VerifyReport
from projections.runner import BATCH as FOLD_BATCH
from projections.runner import Projection
from projections.tables import history, metadata, pots

PAGE = 1000
# The fewest characters of a digest `verify --digest` accepts: enough to name one event.
MIN_DIGEST_PREFIX = 8


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


def verify(ledger: Ledger, info: PotInfo, digest_prefix: str | None = None) -> VerifyReport:
    # An unreadable new event is reported below, with its number.
    with suppress(PotError):
        ledger.catch_up()
    recorded = _recorded_digests(ledger, info.slug)
    fresh = create_engine("sqlite://")
    metadata.create_all(fresh)
    # Fresh instances of every registered projection, folding into an empty database.
    folds = [type(p)() for p in ledger.projections]

    running, count, first_bad, problem = chain.GENESIS, 0, None, None
    written_down = DigestCheck(digest_prefix)
    # Folded a batch at a time, as the catch-up does, not one statement round per event.
    batch: list[PotEvent] = []
    with fresh.begin() as conn:
        for expected, stored in enumerate(stored_events(ledger, info.slug), start=1):
            count = expected
            if stored.originator_version != expected:
                first_bad, problem = expected, f"event {expected} is missing (found {stored.originator_version} next)"
                break
            try:
                event: Any = ledger.app.mapper.to_domain_event(stored)
            except Exception as e:
                first_bad, problem = expected, f"event {expected} cannot be read: {e}"
                break
            if not isinstance(event, PotEvent):
                first_bad, problem = expected, f"event {expected} is not a pot event"
                break
            if event.prev != running:
                first_bad, problem = expected, f"event {expected} does not follow from event {expected - 1}"
                break
            running = chain.digest(record_of(event))
            if recorded.get(expected, running) != running:
                first_bad, problem = expected, f"event {expected} differs from when it was recorded"
                break
            written_down.see(running)
            batch.append(event)
            if len(batch) == FOLD_BATCH:
                _fold(conn, folds, batch)
        _fold(conn, folds, batch)
    if first_bad is None and len(recorded) > count:
        first_bad, problem = count + 1, f"event {count + 1} is missing from the store"

    if first_bad is None:
        problem = written_down.problem("history")
    if first_bad is None and problem is None:
        problem = _compare_views(ledger.engine, fresh, info.slug, [t for p in folds for t in p.tables])
    fresh.dispose()
    return VerifyReport(
        ok=first_bad is None and problem is None,
        events=count,
        head=running[: chain.SHORT],
        first_bad=first_bad,
        problem=problem,
    )


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
