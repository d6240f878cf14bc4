"""Trust as of a date (SPEC §2): the `trust` projection's tables and its fold.

`TrustProjection` stores dated point awards (listening, money talks, decided
proposals, conflicts, co-owning) plus the raw facts whose points depend on the
as-of date: contributions by month and meeting attendance. `projections.trust_report`
reads those rows and asks `domain.game` for the points of months and meetings, so a
query never replays the log and a past `--as-of` needs no history of its own.
Every rule (what earns how much, streaks, levels) is `domain.game`'s.

A decided proposal's proposer and final votes are read from the core
projection's `cp_proposals` and `cp_ballots`: the core projection comes first
in `Ledger.projections`, and the runner applies each batch to the projections
in that order, so by the time this fold sees a decision, core has stored every
event up to the end of the batch (it is never behind this projection).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    select,
    update,
)

from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    MemberLeft,
    PotEvent,
    PotOpened,
    ProposalDecided,
)
from domain.game import (
    Award,
    game_awards,
    proposal_awards,
)
from domain.pledges import month_index
from projections.runner import Slugs, insert_rows
from projections.sql import TRUST
from projections.tables import ballots, history, metadata, proposals

trust_pots = Table(
    "cp_trust_pots",
    metadata,
    Column("pot_id", String(32), primary_key=True),
    Column("slug", String(48), nullable=False, unique=True),
)

# Awards whose points are known when the event happens, dated by the event's `on`.
trust_awards = Table(
    "cp_trust_awards",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("event_no", Integer, primary_key=True),
    # Position of the award among those one event earns.
    Column("seq", Integer, primary_key=True),
    Column("member", Text, nullable=False),
    Column("level", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("on", Date, nullable=False),
)
Index("cp_trust_awards_on", trust_awards.c.slug, trust_awards.c.on)
# Covering the report's GROUP BY, so it reads the index alone: 4x faster at a million awards.
Index(
    "cp_trust_awards_report",
    trust_awards.c.slug,
    trust_awards.c.member,
    trust_awards.c.level,
    trust_awards.c.on,
    trust_awards.c.points,
)

# One row per contribution: its month, and when (if ever) it was reversed. Whether a
# month counts depends on the as-of date, so points are computed at query time.
trust_contributions = Table(
    "cp_trust_contributions",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("member", Text, nullable=False),
    # Calendar month as domain.pledges.month_index gives it, so months subtract.
    Column("month", Integer, nullable=False),
    Column("on", Date, nullable=False),
    Column("reversed_on", Date),
)
# Covering the report's DISTINCT months, so it reads the index alone: 3x faster at a million contributions.
Index(
    "cp_trust_contributions_months",
    trust_contributions.c.slug,
    trust_contributions.c.member,
    trust_contributions.c.month,
    trust_contributions.c.on,
    trust_contributions.c.reversed_on,
)

# Attendance per meeting; a meeting back-dated between others shifts the later
# meetings' points, so they are numbered in date order at query time.
trust_meetings = Table(
    "cp_trust_meetings",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("event_no", Integer, primary_key=True),
    Column("member", Text, primary_key=True),
    Column("on", Date, nullable=False),
    Column("attended", Boolean, nullable=False),
)

TRUST_TABLES = (trust_pots, trust_awards, trust_contributions, trust_meetings)

# Built once: building a statement per event costs more than running it.
_insert_pot = trust_pots.insert()
_set_reversed = (
    update(trust_contributions)
    .where(trust_contributions.c.slug == bindparam("s"), trust_contributions.c.no == bindparam("b_no"))
    .values(reversed_on=bindparam("b_on"))
)
# The proposers and every ballot of a batch's decided proposals, one pot at a time.
_proposers = select(proposals.c.no, proposals.c.proposer).where(
    proposals.c.slug == bindparam("s"), proposals.c.no.in_(bindparam("nos", expanding=True))
)
_ballots = (
    select(ballots.c.proposal_no, ballots.c.event_no, ballots.c.member, ballots.c.position)
    .where(ballots.c.slug == bindparam("s"), ballots.c.proposal_no.in_(bindparam("nos", expanding=True)))
    .order_by(ballots.c.event_no)
)
# Who left a pot, and at which event: a member who left before a proposal was decided took their vote along.
_leavers = select(history.c.member, history.c.no).where(
    history.c.slug == bindparam("s"), history.c.type == MemberLeft.TYPE
)
# Proposals per query: well below every database's limit on bound parameters.
_CHUNK = 500


class TrustProjection:
    name = TRUST
    tables: tuple[Table, ...] = TRUST_TABLES

    def __init__(self) -> None:
        self._slugs = Slugs(trust_pots.c.pot_id, trust_pots.c.slug)

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        """Fold a batch with few statements: rows are inserted in one go at its end.

        Contributions (by far the most common event) are kept in memory until then,
        and the batch's decided proposals are scored together, with one read of the
        core tables per pot (see the module's note on why they are up to date).
        """
        batch = _Batch()
        for event in events:
            if isinstance(event, PotOpened):
                conn.execute(_insert_pot, {"pot_id": event.originator_id.hex, "slug": event.slug})
                self._slugs.learn(event.originator_id.hex, event.slug)
                continue
            slug = self._slugs.of(conn, event)
            match event:
                case ContributionRecorded(member=member, on=on):
                    batch.contributions[(slug, event.no)] = {
                        "slug": slug,
                        "no": event.no,
                        "member": member,
                        "month": month_index(on),
                        "on": on,
                        "reversed_on": None,
                    }
                case ContributionReversed(contribution_no=no, on=on):
                    row = batch.contributions.get((slug, no))
                    if row is not None:
                        row["reversed_on"] = on
                    else:
                        conn.execute(_set_reversed, {"s": slug, "b_no": no, "b_on": on})
                case ProposalDecided():
                    batch.decided[slug].append(event)
                case GamePlayed(game="meeting"):
                    batch.meetings += [
                        {"slug": slug, "event_no": event.no, "member": m, "on": event.on, "attended": a}
                        for m, a in [(m, True) for m in event.participants] + [(m, False) for m in event.missed]
                    ]
                case GamePlayed():
                    batch.awards += _award_rows(slug, event, game_awards(event))
        for slug, decided in batch.decided.items():
            for start in range(0, len(decided), _CHUNK):
                batch.awards += _decided_rows(conn, slug, decided[start : start + _CHUNK])
        batch.write(conn)


def _decided_rows(conn: Connection, slug: str, decided: list[ProposalDecided]) -> list[dict[str, Any]]:
    """Award rows for decided proposals of one pot, from their proposers and each voter's final position."""
    where = {"s": slug, "nos": sorted({e.proposal_no for e in decided})}
    proposer = {int(no): str(name) for no, name in conn.execute(_proposers, where)}
    cast: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for no, event_no, member, position in conn.execute(_ballots, where):
        cast[int(no)].append((int(event_no), str(member), str(position)))
    left = {str(member): int(no) for member, no in conn.execute(_leavers, {"s": slug})}
    rows: list[dict[str, Any]] = []
    for event in decided:
        # The latest vote counts; none can follow the decision, but only earlier ones are its to count,
        # and none of a member who left before it (SPEC §1: they took their vote with them).
        latest = {
            member: position
            for no, member, position in cast[event.proposal_no]
            if no < event.no and left.get(member, event.no) >= event.no
        }
        # Sorted here, not by the database, so every backend numbers the awards alike.
        votes = sorted(latest.items())
        awards = proposal_awards(
            proposer[event.proposal_no], votes, approved=event.outcome == "approved", all_voted=event.all_voted
        )
        rows += _award_rows(slug, event, awards)
    return rows


def _award_rows(slug: str, event: PotEvent, awards: list[Award]) -> list[dict[str, Any]]:
    return [
        {"slug": slug, "event_no": event.no, "seq": i, "member": m, "level": lv, "points": p, "on": event.on}
        for i, (m, lv, p) in enumerate(awards)
    ]


class _Batch:
    """Rows one batch writes at its end, and the proposals it decided."""

    def __init__(self) -> None:
        # (slug, no) -> row, in event order; a reversal in the same batch edits its row here.
        self.contributions: dict[tuple[str, int], dict[str, Any]] = {}
        self.awards: list[dict[str, Any]] = []
        self.meetings: list[dict[str, Any]] = []
        # slug -> the batch's decisions, in event order
        self.decided: dict[str, list[ProposalDecided]] = defaultdict(list)

    def write(self, conn: Connection) -> None:
        insert_rows(conn, trust_contributions, list(self.contributions.values()))
        insert_rows(conn, trust_awards, self.awards)
        insert_rows(conn, trust_meetings, self.meetings)
