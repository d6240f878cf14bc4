"""Reflections and replay: the crew's feelings about money moments, and the history walked step by step.

`ReflectionsProjection` folds `reflection_noted` events into `cp_reflections`;
`replay` walks the audit trail with a running balance and the reflections each
event drew; `triggers` summarises reflections by event type and feeling. Both
read the tables only, never the event log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Connection, Date, Index, Integer, String, Table, Text, and_, func, select

from domain.events import PotEvent, PotOpened, ReflectionNoted
from domain.values import format_amount
from projections.describe import describe
from projections.models import PotInfo
from projections.queries import history_items
from projections.runner import Slugs, insert_rows
from projections.tables import history, metadata

# The slug of each pot, so this projection needs nothing from another one's tables
# (each projection catches up on its own, so another's rows may lag behind ours).
reflection_pots = Table(
    "cp_reflection_pots",
    metadata,
    Column("pot_id", String(32), primary_key=True),
    Column("slug", String(48), nullable=False),
)

reflections = Table(
    "cp_reflections",
    metadata,
    Column("slug", String(48), primary_key=True),
    # The reflection's own event number.
    Column("no", Integer, primary_key=True),
    # The event it is about.
    Column("event_no", Integer, nullable=False),
    Column("member", Text, nullable=False),
    Column("feeling", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("on", Date, nullable=False),
)
Index("cp_reflections_event", reflections.c.slug, reflections.c.event_no)

# Events listed by `triggers` as the ones that drew most reflections.
MOST = 5


class ReflectionsProjection:
    name = "reflections"
    tables: tuple[Table, ...] = (reflection_pots, reflections)

    def __init__(self) -> None:
        self._slugs = Slugs(reflection_pots.c.pot_id, reflection_pots.c.slug)

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        """Fold a batch: only pot openings and reflections matter here, the rest is skipped cheaply."""
        rows: list[dict[str, Any]] = []
        for event in events:
            if isinstance(event, PotOpened):
                self._slugs.learn(event.originator_id.hex, event.slug)
                conn.execute(reflection_pots.insert(), {"pot_id": event.originator_id.hex, "slug": event.slug})
            elif isinstance(event, ReflectionNoted):
                rows.append(
                    {
                        "slug": self._slugs.of(conn, event),
                        "no": event.no,
                        "event_no": event.event_no,
                        "member": event.member,
                        "feeling": event.feeling,
                        "note": event.note,
                        "on": event.on,
                    }
                )
        insert_rows(conn, reflections, rows)


# --------------------------------------------------------------------------- reports
class Reflection(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    member: str
    feeling: str
    note: str


class ReplayStep(BaseModel):
    """One event of a replay: the history item, its balance change, the balance after it."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    item: dict[str, Any]
    change_minor: int
    balance_after_minor: int
    reflections: list[Reflection]

    def contract(self, digits: int) -> dict[str, Any]:
        """The SPEC §4 `replay` JSON item: the `history` item plus `balance_after` and `reflections`."""
        return {
            **self.item,
            "balance_after": format_amount(self.balance_after_minor, digits),
            "reflections": [r.model_dump() for r in self.reflections],
        }


class TriggerEvent(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    no: int
    on: date
    type: str
    description: str
    reflections: int
    feelings: list[str]


class TriggersReport(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    pot: str
    reflections: int
    by_type: dict[str, int]
    by_feeling: dict[str, int]
    most: list[TriggerEvent]


# --------------------------------------------------------------------------- queries
def reflections_on(
    conn: Connection,
    slug: str,
    from_no: int | None = None,
    to_no: int | None = None,
    as_of: date | None = None,
) -> dict[int, list[Reflection]]:
    """Every reflection noted so far (or dated on or before `as_of`) about events from_no..to_no, by event."""
    query = select(reflections).where(reflections.c.slug == slug).order_by(reflections.c.no)
    if as_of is not None:
        query = query.where(reflections.c.on <= as_of)
    if from_no is not None:
        query = query.where(reflections.c.event_no >= from_no)
    if to_no is not None:
        query = query.where(reflections.c.event_no <= to_no)
    found: dict[int, list[Reflection]] = {}
    for r in conn.execute(query).mappings():
        found.setdefault(int(r["event_no"]), []).append(
            Reflection(member=r["member"], feeling=r["feeling"], note=r["note"])
        )
    return found


def replay(
    conn: Connection,
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
        earlier = and_(history.c.slug == info.slug, history.c.no < from_no)
        if as_of is not None:
            earlier = and_(earlier, history.c.on <= as_of)
        start = int(conn.execute(select(func.coalesce(func.sum(history.c.delta), 0)).where(earlier)).scalar_one())
    attached = reflections_on(conn, info.slug, from_no, to_no, as_of)
    running = start
    for item, delta in history_items(conn, info, from_no=from_no, to_no=to_no, until=as_of):
        running += delta
        yield ReplayStep(
            item=item,
            change_minor=delta,
            balance_after_minor=running,
            reflections=attached.get(int(item["no"]), []),
        )


def triggers(conn: Connection, info: PotInfo) -> TriggersReport:
    """Reflections counted by the type of event they are about and by feeling; the events that drew most."""
    rows = conn.execute(
        select(reflections.c.event_no, reflections.c.feeling, history.c.type)
        .join(history, and_(history.c.slug == reflections.c.slug, history.c.no == reflections.c.event_no))
        .where(reflections.c.slug == info.slug)
        .order_by(reflections.c.no)
    ).all()
    by_type: Counter[str] = Counter(str(r.type) for r in rows)
    by_feeling: Counter[str] = Counter(str(r.feeling) for r in rows)
    per_event: Counter[int] = Counter(int(r.event_no) for r in rows)
    feelings: dict[int, list[str]] = {}
    for r in rows:
        feelings.setdefault(int(r.event_no), []).append(str(r.feeling))
    # Most reflections first; among equals, the earlier event.
    top = sorted(per_event.items(), key=lambda kv: (-kv[1], kv[0]))[:MOST]
    most = []
    for no, count in top:
        item, _ = next(history_items(conn, info, from_no=no, to_no=no))
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
