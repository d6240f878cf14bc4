"""The typed queries of the application API: what a crew can look at, and the store's own chores.

`ViewReads` holds every query of the views: each reads the materialized tables
through `projections` on one consistent read (`read()`, given by whoever mixes it
in) and returns the report models SPEC §4's JSON is made of. The ledger's `read()`
catches the views up first; the CLI's quick read (`ledger.views`) answers from
them with `sqlite3` alone while they are caught up, with the same queries. Rules
about what may be asked (an `--as-of` that counts months may not be after today;
an event type must exist) live here once, for every front end. `Reads` adds the
chores that need the whole ledger: verify, rebuild, export, import, the report.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO, cast

from domain.errors import BadInput, NotFound, Tampered, UnknownPot
from domain.values import name_key
from domain.vocabulary import WORDS, type_named
from projections import queries

if TYPE_CHECKING:
    from pathlib import Path

    # Each query's module (and the models it builds) loads when that query is asked, so a quick
    # `pot balance` builds no proposal, rules or trust models (issue 22).
    from ledger.app import Ledger
    from ledger.app import LedgerBase as _Base
    from ledger.fileio import Exported
    from ledger.report import Written
    from ledger.statement_csv import Imported, Progress
    from projections.models import BalanceReport, MemberRow, PotInfo
    from projections.pledges_report import PledgesReport
    from projections.proposal_queries import ProposalDetail, ProposalRow
    from projections.replay import ReplayStep, TriggersReport
    from projections.rules import RulesReport
    from projections.sql import Rows
    from projections.trust_report import TrustReport
    from projections.verification import VerifyReport
else:
    _Base = object


def past_as_of(as_of: date | None, today: date, what: str) -> date:
    """An `--as-of` for figures that count months (missed ones, pledged ones): today or earlier.

    Months after today have not happened: counted, they would charge every member
    for contributions nobody could have made yet.
    """
    if as_of is not None and as_of > today:
        raise BadInput(f"--as-of {as_of} is after today ({today}): {what} counts months that have happened")
    return as_of or today


class ViewReads:
    """Queries over a pot's views. Mixed into `ledger.app.Ledger` and `ledger.views.QuickViews`."""

    if TYPE_CHECKING:
        # Given by the class it is mixed into (the ledger's catches the views up first).
        def read(self, *, even_if_views_fail: bool = False) -> AbstractContextManager[Rows]:
            """One consistent read of caught-up views (`even_if_views_fail`: as far as they got, see `resolve_pot`)."""

    # ------------------------------------------------------------------ pots and members
    def resolve_pot(self, slug: str | None, *, even_if_views_fail: bool = False) -> PotInfo:
        """The pot `--pot` names, or the only pot in the store.

        `verify` must name what is wrong even when the log holds an event the views
        cannot fold: it asks `even_if_views_fail`, and reads the views as far as they got.
        """
        with self.read(even_if_views_fail=even_if_views_fail) as conn:
            if slug is None:
                slugs = queries.pot_slugs(conn)
                if not slugs:
                    raise UnknownPot(
                        "this store holds no pot yet: open one with `pot init NAME --currency EUR --as YOU`"
                    )
                if len(slugs) > 1:
                    raise UnknownPot(f"this store holds {len(slugs)} pots ({', '.join(slugs)}): choose one with --pot")
                slug = slugs[0]
            info = queries.pot_info(conn, slug)
            if info is None:
                # The pot's name works too (`--pot "Maastricht crew"`), compared as member names are.
                named = [s for s, name in queries.pot_names(conn) if name_key(name) == name_key(slug)]
                info = queries.pot_info(conn, named[0]) if len(named) == 1 else None
            if info is None:
                held = ", ".join(queries.pot_slugs(conn)) or "no pot yet"
                raise UnknownPot(f"there is no pot {slug!r} in this store (by slug or name); it holds: {held}")
        return info

    def members(self, slug: str) -> list[MemberRow]:
        with self.read() as conn:
            return queries.member_rows(conn, slug)

    # ------------------------------------------------------------------ money and proposals
    def balance(self, info: PotInfo, *, as_of: date | None, today: date) -> BalanceReport:
        with self.read() as conn:
            return queries.balance(conn, info, as_of, today)

    def proposals(self, info: PotInfo, *, status: str | None = None) -> list[ProposalRow]:
        from projections import proposal_queries

        with self.read() as conn:
            return proposal_queries.proposal_rows(conn, info, status)

    def proposal(self, info: PotInfo, no: int) -> ProposalDetail:
        from projections import proposal_queries

        with self.read() as conn:
            found = proposal_queries.proposal_detail(conn, info, no)
        if found is None:
            raise NotFound(f"there is no proposal {no} in pot {info.slug!r}")
        return found

    def open_proposals(self, info: PotInfo) -> list[ProposalDetail]:
        """Every open proposal, oldest first, as `proposal` answers each, in one read."""
        from projections import proposal_queries

        with self.read() as conn:
            return proposal_queries.open_proposal_details(conn, info)

    def rules(self, info: PotInfo, *, as_of: date | None = None) -> RulesReport:
        """The rules in force now, or on `as_of` (SPEC §8): quorum, voting days, signed votes."""
        from projections.rules import rules_as_of

        with self.read() as conn:
            found = rules_as_of(conn, info, as_of)
        if found is None:
            raise BadInput(f"pot {info.slug!r} was not open yet on {as_of}: it had no rules then")
        return found

    def pledges(self, info: PotInfo, *, as_of: date | None, today: date) -> PledgesReport:
        from projections.pledges_report import pledges_report

        day = past_as_of(as_of, today, "pledges")
        with self.read() as conn:
            return pledges_report(conn, info, day)

    def trust(self, info: PotInfo, *, as_of: date | None, today: date) -> TrustReport:
        from projections.trust_report import trust_report

        day = past_as_of(as_of, today, "trust")
        with self.read() as conn:
            return trust_report(conn, info.slug, day)

    # ------------------------------------------------------------------ looking back
    def history(
        self,
        info: PotInfo,
        *,
        member: str | None = None,
        types: Sequence[str] = (),
        since: date | None = None,
        until: date | None = None,
    ) -> list[dict[str, Any]]:
        """The audit trail's items (SPEC §4 history), oldest first, filtered as `pot history` is."""
        # A plain word ("contribution") or the SPEC's type ("contribution_recorded") alike.
        named = [(t, type_named(t)) for t in types]
        unknown = [t for t, found in named if found is None]
        if unknown:
            raise BadInput(
                f"unknown event type {unknown[0]!r}: one of {', '.join(word for word in WORDS.values() if word)} "
                f"(or the types {', '.join(WORDS)})"
            )
        types = [found for _, found in named if found is not None]
        # One catch-up and one consistent read for the name and the items alike.
        with self.read() as conn:
            who = None if member is None else queries.canonical_member(conn, info.slug, name_key(member))
            if member is not None and who is None:
                raise NotFound(f"{member!r} is not a member of pot {info.slug!r}")
            return [
                item
                for item, _ in queries.history_items(
                    conn, info, member=who, types=tuple(types), since=since, until=until
                )
            ]

    def replay(
        self, info: PotInfo, *, from_no: int | None = None, to_no: int | None = None, as_of: date | None = None
    ) -> Iterator[ReplayStep]:
        """Each event with the balance after it and its reflections, streamed from one consistent read."""
        from projections.replay import replay

        if from_no is not None and to_no is not None and from_no > to_no:
            raise BadInput(f"--from {from_no} is after --to {to_no}")

        # Checked above before anything is streamed, so a refusal comes before any output.
        def steps() -> Iterator[ReplayStep]:
            with self.read() as conn:
                yield from replay(conn, info, from_no=from_no, to_no=to_no, as_of=as_of)

        return steps()

    def triggers(self, info: PotInfo) -> TriggersReport:
        from projections.replay import triggers

        with self.read() as conn:
            return triggers(conn, info)


class Reads(ViewReads, _Base):
    """The views' queries, and the commands that keep the store itself. Mixed into `ledger.app.Ledger`."""

    @property
    def _ledger(self) -> Ledger:
        """This object as the whole `Ledger` it is always mixed into, for the modules that take one."""
        return cast("Ledger", self)

    # ------------------------------------------------------------------ integrity
    def verify(self, info: PotInfo, *, digest: str | None = None) -> VerifyReport:
        """Recompute the chain and re-fold the views (SPEC §1 Integrity); `digest` is a parsed prefix."""
        from ledger.integrity import verify

        return verify(self._ledger, info, digest)

    def rebuild_views(self, *, force: bool = False) -> int:
        """Rebuild every view from the log; refused when it would hide a changed newest event."""
        from ledger.integrity import unrecorded_heads

        changed = unrecorded_heads(self._ledger)
        if changed and not force:
            raise Tampered(
                f"{changed[0]}: a rebuild would make the views agree with the changed log and hide that."
                " Run `pot verify`, restore the store from a backup, or rebuild anyway with --force"
            )
        return self.rebuild()

    # ------------------------------------------------------------------ interchange
    def export(
        self, info: PotInfo, fmt: str, output: Path | None, stdout: TextIO, *, with_receipts: bool = False
    ) -> Exported:
        from ledger.interchange import write_export

        return write_export(self._ledger, info, fmt, output, stdout, with_receipts=with_receipts)

    def import_jsonl(self, path: Path) -> tuple[str, Exported]:
        from ledger.jsonl import import_jsonl

        return import_jsonl(self._ledger, path)

    def import_statement(
        self, slug: str, *, actor: str, path: Path, today: date, progress: Progress | None = None
    ) -> Imported:
        from ledger.statement_csv import import_csv

        return import_csv(self._ledger, slug, actor=actor, path=path, today=today, progress=progress)

    def write_report(self, info: PotInfo, *, as_of: date | None, today: date, output: Path) -> Written:
        from ledger.report import write_report

        if as_of is not None:
            past_as_of(as_of, today, "the report's trust")
        return write_report(self._ledger, info.slug, as_of, today, output)
