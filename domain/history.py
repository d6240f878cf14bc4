"""What a pot's rules need from its stored past, beyond the pot's own state.

Two rules look back at single contributions: a reversal needs the contribution
it undoes, and a `ref` may be recorded only once per pot. Carrying every
contribution in the pot's state would make its snapshot grow with history, so
a pot with a million contributions would load in seconds. Instead the pot asks
a `History`: the ledger answers from the event store (one event by number) and
from an indexed table of refs. A pot keeps what it folded in this process
itself, so a pot built in memory from its first event needs no `History`; a
long import hands what it folded over to the `History` a part at a time, once
each part is stored (`keep`), so it never holds a whole file's contributions.
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


class History(Protocol):
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
