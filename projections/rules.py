"""The pot's rules over time (SPEC §8): queries over the audit trail, no table of their own.

The rules in force on a day are those of the last `pot_opened` or `rules_changed`
event dated on or before it; a rule-change proposal's rules to set are in its own
history row. Both are read from `cp_history`, which every pot already has, so
adding rule changes needed no new table and no rebuild.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, TypeVar

from domain.vocabulary import POT_OPENED, RULE_CHANGE_PROPOSED, RULES_CHANGED
from projections.models import PotInfo
from projections.sql import BY_TYPE_IN_ORDER, Rows, day

if TYPE_CHECKING:
    from projections.proposal_queries import ProposalRow

Row = TypeVar("Row", bound="ProposalRow")


@dataclass(frozen=True, kw_only=True, slots=True)
class RulesReport:
    """The rules in force on a day (SPEC §8 `pot rules`), and the event that set them."""

    pot: str
    as_of: date | None
    quorum: str
    voting_days: int
    signed_votes: bool
    # The event that put them in force (1, the pot opened, or a rules_changed), its day, and its proposal.
    since_event: int
    since: date
    proposal_no: int | None


def rules_as_of(db: Rows, info: PotInfo, as_of: date | None, *, before_event: int | None = None) -> RulesReport | None:
    """The rules in force on `as_of` (None: now); None if the pot was not open yet that day.

    `before_event`: the rules in force when that event was recorded, e.g. a proposal's: what it is
    decided under (SPEC §8). A day is not enough there, as rules may change on the day it was made.
    """
    sql = 'SELECT no, "on", fields FROM cp_history WHERE slug = ? AND type IN (?, ?)'
    params: list[object] = [info.slug, POT_OPENED, RULES_CHANGED]
    if as_of is not None:
        sql += ' AND "on" <= ?'
        params.append(as_of)
    if before_event is not None:
        sql += " AND no < ?"
        params.append(before_event)
    last = db.first(sql + f" {BY_TYPE_IN_ORDER} DESC LIMIT 1", *params)
    if last is None:
        return None
    fields = json.loads(last["fields"])
    return RulesReport(
        pot=info.slug,
        as_of=as_of,
        quorum=fields["quorum"],
        voting_days=fields["voting_days"],
        # Left out of a stored payload while it is off (domain.events' later defaults).
        signed_votes=bool(fields.get("signed_votes", False)),
        since_event=last["no"],
        since=day(last["on"]),
        proposal_no=fields.get("proposal_no"),
    )


def with_rules(db: Rows, slug: str, rows: Sequence[Row]) -> list[Row]:
    """The proposals, each rule-change proposal with the rules it would set (only those it sets)."""
    sql = "SELECT fields FROM cp_history WHERE slug = ? AND type = ?"
    sets: dict[int, dict[str, str | int | bool]] = {}
    for (fields,) in db.all(sql, slug, RULE_CHANGE_PROPOSED):
        stored = json.loads(fields)
        sets[int(stored["proposal_no"])] = {k: v for k, v in stored["rules"].items() if v is not None}
    return [replace(r, rules=sets[r.no]) if r.no in sets else r for r in rows]
