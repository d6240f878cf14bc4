"""The reciprocity game (SPEC §2) as plain arithmetic: points, streaks and levels.

Which event earns whom how many points at which level, how a run of months or
meetings scores, and how a member's level and the crew's follow from the points.
No I/O: `projections.trust` stores the facts and asks these functions for the
points. `check_game` says what shape each game takes, for `Pot.play_game` and
an import's checks alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from domain.errors import BadInput

if TYPE_CHECKING:  # Only the trust fold scores games; `pot trust` reads its tables and loads no event class.
    from domain.events import GamePlayed

# The five levels, by number and by name (`pot trust` and the report head their columns with them).
LISTENING, MONEY, CONSISTENCY, CONFLICT, CO_OWNERS = LEVELS = (1, 2, 3, 4, 5)
LEVEL_NAMES = {
    LISTENING: "listening",
    MONEY: "money",
    CONSISTENCY: "consistency",
    CONFLICT: "conflict",
    CO_OWNERS: "co-owners",
}

# Points per SPEC §2's table.
LISTENED = 1
ALL_VOTED = 1
ASK = OFFER = 5
RESPECT = 1
MISSED = -5
RESOLVED = 10
UNRESOLVED = -20
CO_OWN = 100

Award = tuple[str, int, int]  # member, level, points


def step_points(nth: int) -> int:
    """Consistency points for the nth month contributed or meeting attended: 1, 3, then 5."""
    return 1 if nth == 1 else 3 if nth == 2 else 5


def proposal_awards(proposer: str, votes: Sequence[tuple[str, str]], *, approved: bool, all_voted: bool) -> list[Award]:
    """Awards for a decided proposal, given each voter's final position (member, position)."""
    agreed = [m for m, p in votes if p == "agree"]
    awards: list[Award] = [(proposer, MONEY, ASK)] + [(m, MONEY, OFFER) for m in agreed]
    if approved:
        # Asking and offering earn the respect bonus once, even for a proposer who agreed.
        awards += [(m, MONEY, RESPECT) for m in dict.fromkeys([proposer, *agreed])]
    if all_voted:
        awards += [(m, LISTENING, ALL_VOTED) for m, _ in votes]
    return awards


def game_awards(event: GamePlayed) -> list[Award]:
    """Awards for every game but meetings, whose points depend on earlier meetings (`meeting_points`)."""
    match event.game:
        case "listening":
            return [(m, LISTENING, LISTENED) for m in event.participants]
        case "money":
            people = [event.asker, *event.offered] if event.asker else list(event.offered)
            return (
                ([(event.asker, MONEY, ASK)] if event.asker else [])
                + [(m, MONEY, OFFER) for m in event.offered]
                + [(m, MONEY, RESPECT) for m in dict.fromkeys(people)]
            )
        case "conflict":
            return [(m, CONFLICT, RESOLVED if event.resolved else UNRESOLVED) for m in event.participants]
        case "co-own":
            return [(m, CO_OWNERS, CO_OWN) for m in event.participants]
    return []


def consistency_points(contributed: Iterable[int], *, first_owed: int, complete_before: int) -> list[int]:
    """Points for a member's months, given the month indexes (domain.pledges) in which they contributed.

    Every contributed month earns 1, 3, then 5, in month order. A month without a
    contribution costs -5 when it is owed and complete: from `first_owed` (the first
    month they were a member for in full) up to, not including, `complete_before`
    (the first month not over yet, or not over before they left). Owing from joining
    rather than from a first contribution means never paying in scores no better
    than paying once and stopping. Contributed months from `complete_before` on
    are the caller's to leave out (months after the as-of date or after leaving).
    """
    given = set(contributed)
    months = sorted(given | set(range(first_owed, complete_before)))
    points, nth = [], 0
    for month in months:
        if month in given:
            nth += 1
            points.append(step_points(nth))
        else:
            points.append(MISSED)
    return points


def meeting_points(attendance: Iterable[bool]) -> list[int]:
    """Points for one member's meetings in date order: attending 1, 3, then 5; missing -5."""
    points, nth = [], 0
    for attended in attendance:
        if attended:
            nth += 1
            points.append(step_points(nth))
        else:
            points.append(MISSED)
    return points


class Scoreboard:
    """Points per member and level, and the levels at which each earned a positive award.

    A member's level is the highest level at which they earned a positive award
    (0 before any); the crew's is the lowest among its current members.
    """

    def __init__(self) -> None:
        self._points: dict[str, dict[int, int]] = defaultdict(lambda: dict.fromkeys(LEVELS, 0))
        self._positive: dict[str, set[int]] = defaultdict(set)

    def add(self, member: str, level: int, points: int, *, positive: bool | None = None) -> None:
        """Add points (a sum of awards); `positive` says whether any of them was above zero, if not just this one."""
        self._points[member][level] += points
        if points > 0 if positive is None else positive:
            self._positive[member].add(level)

    def add_all(self, member: str, level: int, each: Iterable[int]) -> None:
        for points in each:
            self.add(member, level, points)

    def points(self, member: str) -> dict[int, int]:
        """Points per level, every level present."""
        return dict(self._points[member]) if member in self._points else dict.fromkeys(LEVELS, 0)

    def level(self, member: str) -> int:
        return max(self._positive.get(member, ()), default=0)


def crew_level(levels: Iterable[int]) -> int:
    """The crew's level: the lowest of its current members' levels (0 for no members)."""
    return min(levels, default=0)


def check_game(
    game: str,
    people: tuple[str, ...],
    asker: str | None,
    offered: tuple[str, ...],
    missed: tuple[str, ...],
    resolved: bool | None,
) -> None:
    """The shape each game of SPEC §2 takes: who is in it, and how a conflict ended.

    `play_game` checks it before recording a game, and an import checks every
    recorded one (domain.lawful), so the two cannot drift apart.
    """
    match game:
        case "listening" | "co-own":
            if len(people) < 2:
                raise BadInput(f"a {game} game needs at least two members (--with)")
        case "money":
            if asker is None or not offered:
                raise BadInput("a money talk needs --asker and at least one --offered")
            if asker in offered:
                raise BadInput(f"{asker} cannot both ask and offer in the same money talk")
            if people:
                raise BadInput("a money talk names its people as --asker and --offered")
        case "meeting":
            if not people:
                raise BadInput("a meeting needs at least one member who attended (--attended)")
            if overlap := set(people) & set(missed):
                raise BadInput(f"{sorted(overlap)[0]} cannot both attend and miss the meeting")
        case "conflict":
            if len(people) < 2:
                raise BadInput("a conflict is between at least two members (--between)")
            if resolved is None:
                raise BadInput("say how the conflict ended: --resolved or --unresolved")
        case _:
            raise BadInput(f"unknown game {game!r}")
    if game != "money" and (asker is not None or offered):
        raise BadInput("only a money talk has an asker and offers")
    if game != "meeting" and missed:
        raise BadInput("only a meeting has members who missed it")
    if game != "conflict" and resolved is not None:
        raise BadInput("only a conflict ends resolved or unresolved")
