"""A pot's past contributions: what two rules look up, without the state carrying them.

Two rules look back at single contributions: a reversal needs the contribution
it undoes, and a `ref` may be recorded only once per pot. Carrying every
contribution in the pot's state would make its snapshot grow with history, so
a pot with a million contributions would load in seconds. Instead the pot asks
its `PastContributions`: the ledger answers from the event store (one event by
number) and from an indexed table of refs (ledger.stored_past.StoredPast).

A pot keeps what it folded in this process (`RemembersContributions`), so a pot
built in memory from its first event needs no `PastContributions`; a long import
hands what it folded over a part at a time, once each part is stored (`keep`),
so it never holds a whole file's contributions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Contribution:
    """One recorded contribution, as the rules see it."""

    no: int
    member: str
    amount_minor: int
    on: date
    ref: str | None


class PastContributions(Protocol):
    """A pot's stored contributions, looked up one by one instead of held in memory."""

    def contribution(self, no: int) -> Contribution | None:
        """The contribution recorded as event `no`, or None if that event is not one."""
        ...

    def by_refs(self, refs: Collection[str]) -> dict[str, Contribution]:
        """The stored contributions recorded under any of these refs, by ref."""
        ...

    def keep(self, contributions: Iterable[Contribution]) -> None:
        """Answer for these too from now on: stored by this process, perhaps not yet committed."""
        ...


class RemembersContributions:
    """A base of `Pot`: single contributions looked up by number or ref, none of them in its state.

    The pot keeps those it folded in this process (never stored), from event
    number `_first` on; what came before is asked of `past`, which the ledger
    attaches when it loads a pot from a snapshot.
    """

    def _remember_from(self, first: int) -> None:
        self._first = first
        self._by_no: dict[int, Contribution] = {}
        self._by_ref: dict[str, Contribution] = {}
        self.past: PastContributions | None = None

    def _remember(self, contribution: Contribution) -> None:
        self._by_no[contribution.no] = contribution
        if contribution.ref is not None:
            self._by_ref[contribution.ref] = contribution

    def contribution(self, no: int) -> Contribution | None:
        """The contribution recorded as event `no`, or None if that event is not a contribution."""
        if no >= self._first:
            return self._by_no.get(no)
        return self._needed().contribution(no)

    def recorded_refs(self, refs: Iterable[str]) -> dict[str, Contribution]:
        """The contributions already recorded under any of these refs, by ref."""
        wanted = set(refs)
        found = {ref: c for ref in wanted if (c := self._by_ref.get(ref)) is not None}
        rest = wanted - found.keys()
        if rest and self._first > 1:
            found.update(self._needed().by_refs(rest))
        return found

    def _hand_over(self, next_no: int) -> None:
        """Give what was folded to `past`, once it is stored; keep from event `next_no` on."""
        if self.past is not None:
            self.past.keep(self._by_no.values())
            self._by_no.clear()
            self._by_ref.clear()
            self._first = next_no

    def _needed(self) -> PastContributions:
        if self.past is None:
            raise RuntimeError("this pot was loaded from a snapshot, and no past contributions are attached")
        return self.past
