"""The ledger: one open store, and the typed application API every front end calls.

`Ledger` wraps the eventsourcing `Application` (events and snapshots) and a
SQLAlchemy engine on the same database (read models). Its commands
(`ledger.commands`) load the pot, let the domain decide, and save every new
event in one atomic `save()`; if another process saved first, the store's
optimistic concurrency refuses ours and the command runs again on fresh state.
Its queries (`ledger.reads`) first catch the views up from the event log, then
read the tables. This module holds the machinery both stand on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, project_aggregate
from eventsourcing.persistence import IntegrityError, MapperDeserialisationError
from sqlalchemy import Connection, text

from domain import chain
from domain.errors import BadInput, Refused, Tampered, UnknownPot
from domain.events import PotEvent, record_of
from domain.pot import Pot, pot_id
from ledger.catching_up import KeepsViews
from ledger.commands import Commands
from ledger.engines import (
    append_only_sqlite,
    create_view_tables,
    laid_out,
    mark_laid_out,
    sqlite_engine,
)
from ledger.reads import Reads
from ledger.roles import open_postgres
from ledger.store import Store, postgres_engine
from ledger.stored_past import StoredPast
from projections.core import CoreProjection
from projections.pledges import PledgesProjection
from projections.queries import current_member_row
from projections.reflections import ReflectionsProjection
from projections.runner import Projection
from projections.trust import TrustProjection

if TYPE_CHECKING:  # argon2 loads only when a command signs someone in.
    from ledger.accounts import Accounts, Invitation, SignedIn, WebSession
    from ledger.receipts import Receipts

T = TypeVar("T")

# Attempts at a command when other processes keep saving first.
RETRIES = 50
# Snapshot a pot every this many events, so loading a long-lived pot stays cheap.
SNAPSHOT_EVERY = 200
# The longest an invite link may live.
MAX_INVITE_DAYS = 90


# A pot's writer turn on PostgreSQL (`LedgerBase.writer_turn`), built once.
_ADVISORY_LOCK = text("SELECT pg_advisory_lock(:k)")
_ADVISORY_UNLOCK = text("SELECT pg_advisory_unlock(:k)")


class PotApplication(Application[UUID]):
    name = "commonpot"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Pot: SNAPSHOT_EVERY}
    # Tests set it low, so every command meets a pot loaded from a snapshot.
    snapshot_every: int = SNAPSHOT_EVERY

    # How many saves this application has made: views caught up before a save are caught up again.
    saves: int = 0

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        try:
            return super().save(*objs, **kwargs)
        finally:
            self.saves += 1

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """At most one snapshot per save, taken from the pot in memory.

        The library snapshots at every interval boundary a save crosses and reloads
        the aggregate from the store for each, which makes a 100,000-row import
        quadratic. The saved pot in memory is exactly what was just stored.
        """
        if self.snapshots is None:
            return
        for aggregate in processing_event.aggregates.values():
            if not isinstance(aggregate, Pot):
                continue
            versions = [e.originator_version for e in processing_event.events if e.originator_id == aggregate.id]
            every = self.snapshot_every
            if versions and (min(versions) - 1) // every != max(versions) // every:
                self.snapshots.put([Pot.Snapshot.take(aggregate)])


class LedgerBase(KeepsViews):
    """One open store: the event-sourced application, its views, and how a change is made safely."""

    def __init__(self, store: Store, *, server: bool = False) -> None:
        """`server`: a long-lived process (`pot serve`) that keeps its database connections open, and its pots."""
        self.store = store
        if store.kind == "sqlite":
            self.app = PotApplication(env=store.es_env)
            self.engine = sqlite_engine(store, pooled=server)
            self.reader = self.engine.execution_options(pot_read_only=True)
            # A store this version laid out has every view table and index: one PRAGMA instead of a
            # dozen schema queries on each open (every `pot` command opens once). The append-only
            # guards are checked on every open all the same, and put back if one was dropped.
            laid = laid_out(self.engine)
            if not laid:
                create_view_tables(self.engine)
            append_only_sqlite(self.engine)
            if not laid:
                mark_laid_out(self.engine)
        else:
            self.engine = postgres_engine(store)
            # One snapshot for every query of a read, as SQLite's WAL gives.
            self.reader = self.engine.execution_options(pot_read_only=True, isolation_level="REPEATABLE READ")
            # A server's event store skips the pool's check before each use (a round trip, two of them
            # inside every command's writer turn): the library's recorders retry a lost connection anyway.
            checked = {"POSTGRES_PRE_PING": "n"} if server else {}
            self.app = open_postgres(self.engine, store, lambda env: PotApplication(env={**env, **checked}))
        # A server's pots as its last command left them (slug -> the pot, and the version it was
        # read from the store at); None in a `pot` command, which loads its pot once anyway.
        self._kept: dict[str, tuple[Pot, int]] | None = {} if server else None
        self._read_at: dict[str, int] = {}
        # Inside `views_once`: what the reads are part of (a web request), and where the views were
        # last caught up for it (that scope, and the application's save count then).
        self._scope: object | None = None
        self._caught_up_for: tuple[object, int] | None = None
        # Inside a scope: one read transaction for all its reads (`_read`), begun when its catch-up
        # found the views current, and ended by its next catch-up or `end_scope_reads`.
        self._scope_conn: Connection | None = None
        self.projections: list[Projection] = [
            CoreProjection(),
            PledgesProjection(),
            ReflectionsProjection(),
            TrustProjection(),
        ]

    def keep_pots_with(self, other: LedgerBase) -> None:
        """Share `other`'s kept pots (a server's ledgers in one process): each is taken by one command at a time."""
        self._kept = other._kept

    def close(self) -> None:
        self.engine.dispose()
        self.app.close()

    @cached_property
    def receipts(self) -> Receipts:
        """The payouts' receipts (SPEC §8): a table beside the views, never rebuilt (ledger.receipts)."""
        from ledger.receipts import Receipts

        receipts = Receipts(self.engine, self.reader)
        receipts.create_table()
        return receipts

    # ------------------------------------------------------------------ changes
    def exists(self, slug: str) -> bool:
        try:
            self.app.repository.get(pot_id(slug))
        except AggregateNotFoundError:
            return False
        return True

    def load(self, slug: str) -> Pot:
        """The pot as its newest stored event leaves it, with its past attached; the caller owns it."""
        try:
            kept = self._take_kept(slug)
            if kept is not None:
                pot, self._read_at[slug] = kept
            else:
                pot = self.app.repository.get(pot_id(slug))
                self._read_at[slug] = pot.version
                self._check_head(pot)
        except AggregateNotFoundError:
            raise UnknownPot(f"there is no pot {slug!r} in this store") from None
        except MapperDeserialisationError as e:
            raise Tampered(f"a stored event cannot be read ({e}); run `pot verify`") from None
        pot.past = StoredPast(self, slug)
        return pot

    def _take_kept(self, slug: str) -> tuple[Pot, int] | None:
        """A server's kept pot, brought up to the store's newest event, and the version it was read at.

        Taken out of the keeping (a pot is used by one command at a time) and given back
        only by a command that saved it whole (`_keep`). One read brings the stored event
        it was built on and those other processes stored since: that event must still
        be the pot's head (`_check_head`'s test), and the newer ones are folded as a load
        folds those after a snapshot, each checked against the one before (`Pot.evolve`).
        None, and the pot is read from the store as any load reads it, when the store no
        longer holds what the kept pot was built on, or when it was kept for more than a
        snapshot interval.
        """
        kept = None if self._kept is None else self._kept.pop(slug, None)
        if kept is None:
            return None
        pot, read_at = kept
        if pot.version - read_at >= self.app.snapshot_every:
            return None
        stored = self.app.recorder.select_events(pot.id, gt=pot.version - 1)
        try:
            events = [self.app.mapper.to_domain_event(e) for e in stored]
        except MapperDeserialisationError:
            return None  # As below: a load from the store says what is wrong.
        if not events or events[0].originator_version != pot.version or not self._is_head(pot, events[0]):
            return None
        try:
            folded: Pot | None = project_aggregate(pot, events[1:])
        except Tampered:
            return None  # Let a load from the store decide what is wrong.
        return None if folded is None else (folded, read_at)

    def _keep(self, slug: str, pot: Pot) -> None:
        """Keep a server's pot for its next command: only one whose every event is stored."""
        if self._kept is not None and not pot.pending_events:
            pot.past = None
            self._kept[slug] = (pot, self._read_at.get(slug, pot.version))

    def _check_head(self, pot: Pot) -> None:
        """Refuse to act on a pot whose state is not the one its newest stored event leads to.

        A pot loaded from a snapshot with no event after it carries the snapshot's
        word for where the chain stands; the stored event at that number settles it
        (each later event's `prev` is checked as it is folded, in `Pot.evolve`).
        """
        found = self.app.recorder.select_events(pot.id, gt=pot.version - 1, lte=pot.version)
        if not self._is_head(pot, self.app.mapper.to_domain_event(found[0]) if found else None):
            raise Tampered(
                f"pot {pot.slug!r}: the state loaded for event {pot.version} does not match that stored event:"
                " a snapshot was changed; run `pot verify`"
            )

    @staticmethod
    def _is_head(pot: Pot, stored: object) -> bool:
        """Whether `stored` (the event at the pot's version, as read from the store) is the pot's head."""
        return isinstance(stored, PotEvent) and chain.digest(record_of(stored)) == pot.state.head

    def change(self, slug: str, decide: Callable[[Pot], T]) -> T:
        """Load the pot, let `decide` trigger events, save them in one atomic `save()`; retry on conflict.

        Every typed command is one `change`: `decide` calls the pot's command
        methods (which check the rules and trigger events) and returns what the
        caller should be told.
        """

        def decide_and_save(pot: Pot) -> T:
            result = decide(pot)
            self.app.save(pot)
            self._keep(slug, pot)
            return result

        return self.change_in_parts(slug, decide_and_save)

    def change_in_parts(self, slug: str, run: Callable[[Pot], T]) -> T:
        """Take this pot's writer turn, load the pot and `run`, which saves itself; retry on conflict.

        `change` saves once at the end; a long import saves its parts through
        `bulk_save` inside `run` instead. Writers to one pot take turns (a file
        lock on SQLite, an advisory lock on PostgreSQL), so eight busy processes
        queue instead of racing and starving one another. Optimistic concurrency
        stays the guarantee: if anything saved in between (an older `pot`, a
        writer that timed out), the save is refused and `run` decides again on
        fresh state.
        """
        # The scope's reads are done: its connection back in the pool, for the writer turn to take.
        self.end_scope_reads()
        for _attempt in range(RETRIES):
            with self.writer_turn(slug):
                pot = self.load(slug)
                loaded = pot.version
                try:
                    result = run(pot)
                except IntegrityError:
                    continue  # Another process saved first: decide again on fresh state.
            self.catch_up(stored=pot.version > loaded)
            return result
        raise Refused(f"pot {slug!r} is too busy: {RETRIES} attempts met concurrent changes; try again")

    @contextmanager
    def bulk_save(self, pot: Pot) -> Iterator[Callable[[], None]]:
        """One event-store transaction that a long command saves into in parts: all of it, or none.

        Yields `flush`, which stores the pot's pending events so far and lets them
        go (the pot hands the contributions among them to its past), so an
        import holds a few thousand events at a time however long its file.
        Leaving the block commits; an exception rolls every part back. Then one
        snapshot of the final state, not one per 200 events as `save` would take
        (each reloading the pot). The views are caught up first, before the write
        lock is taken, since checking a ref may need them. `Application.save`
        cannot spread one atomic save over several calls, so this uses the
        recorders' own insert step (eventsourcing 9.5: `_insert_events` on
        SQLite, `_insert_stored_events` with its table lock on PostgreSQL).
        """
        recorder: Any = self.app.recorder
        insert = recorder._insert_events if self.store.kind == "sqlite" else recorder._insert_stored_events
        stored = 0
        if isinstance(pot.past, StoredPast):
            pot.past.catch_up()
        with recorder.datastore.transaction(commit=True) as cursor:

            def flush() -> None:
                nonlocal stored
                # Not `collect_events()`: it pops from the front of the list, quadratic for a long batch.
                events = list(pot.pending_events)
                pot.pending_events.clear()
                if events:
                    insert(cursor, [self.app.mapper.to_stored_event(e) for e in events])
                    stored += len(events)
                    pot.release_recent()

            try:
                yield flush
                flush()
            finally:
                self.app.saves += 1
        if stored and self.app.snapshots is not None:
            # Taken from the pot in memory: it is exactly what was stored.
            self.app.snapshots.put([Pot.Snapshot.take(pot)])

    @contextmanager
    def writer_turn(self, slug: str) -> Iterator[None]:
        if self.store.kind == "sqlite":
            import fcntl

            # One lock file per store: SQLite has one writer at a time anyway.
            with open(f"{self.store.location}.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            return
        key = int.from_bytes(pot_id(slug).bytes[:8], "big", signed=True)
        # Autocommit: a session-level lock needs no transaction around it, and each BEGIN or COMMIT
        # would be one more round trip while every other writer of the pot waits for this one.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(_ADVISORY_LOCK, {"k": key})
            try:
                yield
            finally:
                conn.execute(_ADVISORY_UNLOCK, {"k": key})


class Ledger(Commands, Reads, LedgerBase):
    """The typed application API over one store: `ledger.contribute(...)`, `ledger.balance(...)`, …

    The CLI, the demo and the benchmarks call only these methods; nothing outside
    `ledger/` touches a `Pot`.
    """

    # ------------------------------------------------------------------ signing in (the web app)
    @cached_property
    def accounts(self) -> Accounts:
        """Passphrases, sessions and invites: tables beside the views, never events (SPEC §6)."""
        from ledger.accounts import Accounts

        accounts = Accounts(self.engine, self.reader)
        accounts.create_tables()
        return accounts

    def invite(self, slug: str, *, actor: str, name: str, days: int) -> Invitation:
        """A single-use sign-in link's token for a current member; only a treasurer may invite."""
        if not 1 <= days <= MAX_INVITE_DAYS:
            raise BadInput(f"an invite lasts from 1 to {MAX_INVITE_DAYS} days, not {days}")
        pot = self.load(slug)
        pot.acting_treasurer(actor, "invite members")
        member = pot.current_member(name)
        from ledger.accounts import Invitation

        return Invitation(member.name, self.accounts.invite(slug, member.name, days=days))

    def sign_in(self, slug: str, *, name: str, passphrase: str) -> SignedIn:
        """A new session for a current member whose passphrase matches (SPEC §6's throttle applies)."""
        return self._current(self.accounts.sign_in(slug, name, passphrase))

    def accept_invite(self, slug: str, *, token: str, passphrase: str) -> SignedIn:
        """Set the invited member's passphrase from their single-use link, and sign them in."""
        return self._current(self.accounts.accept_invite(slug, token, passphrase))

    def _current(self, session: WebSession) -> SignedIn:
        # The session was stored after this request's reads began: read it in a new transaction.
        self.end_scope_reads()
        found = self.signed_in(session.slug, session.token)
        if found is None:  # They left the pot: no session, and the same answer as a wrong passphrase.
            from ledger.accounts import SignInRefused

            raise SignInRefused("that name and passphrase do not match", 401)
        return found

    def signed_in(self, slug: str, token: str) -> SignedIn | None:
        """The current member behind a session cookie; a member who left loses their sessions."""
        # A member may still sign in to see `verify` name what is wrong; the views stop where it is.
        with self.read(even_if_views_fail=True) as db:
            # In a web request, in the same read transaction as the views (one round trip, not four).
            session = self.accounts.session(slug, token, reading=self._scope_conn)
            if session is None:
                return None
            row = current_member_row(db, slug, session.member)
        if row is None:
            self.accounts.end_sessions(slug, session.member)
            return None
        from ledger.accounts import SignedIn

        return SignedIn(row.name, row.role, session)
