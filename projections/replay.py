"""Replay and triggers: the history walked step by step, and the moments that drew the crew's feelings.

`replay` walks the audit trail with a running balance and the reflections each
event drew; `triggers` summarises reflections by event type and feeling. Both
read the tables (plain SQL, `projections.sql`) only, never the event log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.values import format_amount
from projections.describe import describe
from projections.models import PotInfo, as_json
from projections.queries import history_items
from projections.sql import Rows

# Events listed by `triggers` as the ones that drew most reflections.
MOST = 5


@dataclass(frozen=True, kw_only=True, slots=True)
class Reflection:
    member: str
    feeling: str
    note: str


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplayStep:
    """One event of a replay: the history item, its balance change, the balance after it."""

    item: dict[str, Any]
    change_minor: int
    balance_after_minor: int
    reflections: list[Reflection]

    def contract(self, digits: int) -> dict[str, Any]:
        """The SPEC §4 `replay` JSON item: the `history` item plus `balance_after` and `reflections`."""
        return {
            **self.item,
            "balance_after": format_amount(self.balance_after_minor, digits),
            "reflections": [as_json(r) for r in self.reflections],
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerEvent:
    no: int
    on: date
    type: str
    description: str
    reflections: int
    feelings: list[str]


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggersReport:
    pot: str
    reflections: int
    by_type: dict[str, int]
    by_feeling: dict[str, int]
    most: list[TriggerEvent]


# --------------------------------------------------------------------------- queries
def reflections_on(
    db: Rows,
    slug: str,
    from_no: int | None = None,
    to_no: int | None = None,
    as_of: date | None = None,
) -> dict[int, list[Reflection]]:
    """Every reflection noted so far (or dated on or before `as_of`) about events from_no..to_no, by event."""
    sql = "SELECT event_no, member, feeling, note FROM cp_reflections WHERE slug = ?"
    params: list[object] = [slug]
    for condition, value in (('"on" <= ?', as_of), ("event_no >= ?", from_no), ("event_no <= ?", to_no)):
        if value is not None:
            sql += f" AND {condition}"
            params.append(value)
    found: dict[int, list[Reflection]] = {}
    for r in db.dicts(sql + " ORDER BY no", *params):
        found.setdefault(int(r["event_no"]), []).append(
            Reflection(member=r["member"], feeling=r["feeling"], note=r["note"])
        )
    return found


def replay(
    db: Rows,
    info: PotInfo,
    *,
    from_no: int | None = None,
    to_no: int | None = None,
    as_of: date | None = None,
) -> Iterator[ReplayStep]:
    """The history in event order with the balance after each event.

    With `as_of`, only events dated on or before it count, so the last balance
    equals `balance --as-of`. Starting `from_no` later, the balance starts from
    the events before it. Reflections are every one noted so far: the crew
    replays its past in the light of what it feels about it now. With `as_of`
    they too are events dated on or before it (SPEC §1), as in the report.
    """
    start = 0
    if from_no is not None and from_no > 1:
        earlier = "SELECT COALESCE(SUM(delta), 0) FROM cp_history WHERE slug = ? AND no < ?"
        if as_of is not None:
            start = int(db.value(earlier + ' AND "on" <= ?', info.slug, from_no, as_of))
        else:
            start = int(db.value(earlier, info.slug, from_no))
    attached = reflections_on(db, info.slug, from_no, to_no, as_of)
    running = start
    for item, delta in history_items(db, info, from_no=from_no, to_no=to_no, until=as_of):
        running += delta
        yield ReplayStep(
            item=item,
            change_minor=delta,
            balance_after_minor=running,
            reflections=attached.get(int(item["no"]), []),
        )


def triggers(db: Rows, info: PotInfo) -> TriggersReport:
    """Reflections counted by the type of event they are about and by feeling; the events that drew most."""
    rows = db.all(
        "SELECT r.event_no, r.feeling, h.type FROM cp_reflections r"
        " JOIN cp_history h ON h.slug = r.slug AND h.no = r.event_no WHERE r.slug = ? ORDER BY r.no",
        info.slug,
    )
    by_type: Counter[str] = Counter(str(kind) for _, _, kind in rows)
    by_feeling: Counter[str] = Counter(str(feeling) for _, feeling, _ in rows)
    per_event: Counter[int] = Counter(int(no) for no, _, _ in rows)
    feelings: dict[int, list[str]] = {}
    for no, feeling, _ in rows:
        feelings.setdefault(int(no), []).append(str(feeling))
    # Most reflections first; among equals, the earlier event.
    top = sorted(per_event.items(), key=lambda kv: (-kv[1], kv[0]))[:MOST]
    most = []
    for no, count in top:
        item, _ = next(history_items(db, info, from_no=no, to_no=no))
        most.append(
            TriggerEvent(
                no=no,
                on=date.fromisoformat(item["on"]),
                type=item["type"],
                description=describe(item),
                reflections=count,
                feelings=feelings[no],
            )
        )
    return TriggersReport(
        pot=info.slug,
        reflections=len(rows),
        by_type=_ranked(by_type),
        by_feeling=_ranked(by_feeling),
        most=most,
    )


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Counts, largest first, then by name, so JSON and text read the same every time."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
