"""Reflections: the crew's feelings about money moments, folded into `cp_reflections`.

`ReflectionsProjection` folds `reflection_noted` events into its table;
`projections.replay` reads it, with the audit trail, for `replay` and `triggers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, Date, Index, Integer, String, Table, Text

from domain.events import PotEvent, PotOpened, ReflectionNoted
from projections.runner import Slugs, insert_rows
from projections.sql import REFLECTIONS
from projections.tables import metadata

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


class ReflectionsProjection:
    name = REFLECTIONS
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
