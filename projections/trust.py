"""The reciprocity game (SPEC §2): trust points per member and level, as of a date.

`TrustProjection` folds events into dated point awards (listening, money talks,
proposals, conflicts, co-owning) plus the raw facts whose points depend on the
as-of date: contributions by month and meeting attendance. `trust_report` does
that month and meeting arithmetic at query time over those rows, so a query
never replays the log and a past `--as-of` needs no history of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
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
    delete,
    func,
    or_,
    select,
    update,
)

from domain.events import (
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    PotEvent,
    PotOpened,
    ProposalCancelled,
    ProposalDecided,
    VoteCast,
    WithdrawalProposed,
)
from projections.queries import member_rows
from projections.runner import Slugs, insert_rows
from projections.tables import metadata

LEVELS = (1, 2, 3, 4, 5)

# Points per SPEC §2's table.
LISTENING = 1
ASK = OFFER = 5
RESPECT = 1
ALL_VOTED = 1
MISSED = -5
RESOLVED = 10
UNRESOLVED = -20
CO_OWN = 100

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
    # Calendar month as year * 12 + month - 1, so months subtract.
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

# Open proposals and their latest votes, until they are decided or cancelled.
trust_proposals = Table(
    "cp_trust_proposals",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("proposer", Text, nullable=False),
)
trust_votes = Table(
    "cp_trust_votes",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("proposal_no", Integer, primary_key=True),
    Column("member", Text, primary_key=True),
    Column("position", String(16), nullable=False),
)

TRUST_TABLES = (trust_pots, trust_awards, trust_contributions, trust_meetings, trust_proposals, trust_votes)

Award = tuple[str, int, int]  # member, level, points

# Built once: building a statement per event costs more than running it.
_insert_pot = trust_pots.insert()
_set_reversed = (
    update(trust_contributions)
    .where(trust_contributions.c.slug == bindparam("s"), trust_contributions.c.no == bindparam("b_no"))
    .values(reversed_on=bindparam("b_on"))
)
_insert_vote = trust_votes.insert()
_proposer = select(trust_proposals.c.proposer).where(
    trust_proposals.c.slug == bindparam("s"), trust_proposals.c.no == bindparam("b_no")
)
_votes_of = select(trust_votes.c.member, trust_votes.c.position).where(
    trust_votes.c.slug == bindparam("s"), trust_votes.c.proposal_no == bindparam("b_no")
)
_forget_votes = delete(trust_votes).where(
    trust_votes.c.slug == bindparam("s"), trust_votes.c.proposal_no == bindparam("b_no")
)
_forget_proposal = delete(trust_proposals).where(
    trust_proposals.c.slug == bindparam("s"), trust_proposals.c.no == bindparam("b_no")
)
_change_vote = (
    update(trust_votes)
    .where(
        trust_votes.c.slug == bindparam("s"),
        trust_votes.c.proposal_no == bindparam("b_no"),
        trust_votes.c.member == bindparam("m"),
    )
    .values(position=bindparam("p"))
)


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def step_points(nth: int) -> int:
    """Consistency points for the nth month contributed or meeting attended: 1, 3, then 5."""
    return 1 if nth == 1 else 3 if nth == 2 else 5


class TrustProjection:
    name = "trust"
    tables: tuple[Table, ...] = TRUST_TABLES

    def __init__(self) -> None:
        self._slugs = Slugs(trust_pots.c.pot_id, trust_pots.c.slug)

    def apply_all(self, conn: Connection, events: Sequence[PotEvent]) -> None:
        """Fold a batch with few statements: rows are inserted in one go at its end.

        Contributions (by far the most common event) and the proposals and votes of
        the batch are kept in memory; a proposal proposed and decided within the batch
        never touches the open-proposal tables at all.
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
                case WithdrawalProposed(proposal_no=no, actor=proposer):
                    batch.proposers[(slug, no)] = proposer
                case VoteCast(proposal_no=no, member=member, position=position):
                    batch.votes.setdefault((slug, no), {})[member] = position
                case ProposalDecided(proposal_no=no, outcome=outcome, all_voted=all_voted):
                    proposer, votes = self._close(conn, batch, slug, no)
                    awards = proposal_awards(proposer, votes, approved=outcome == "approved", all_voted=all_voted)
                    batch.awards += _award_rows(slug, event, awards)
                case ProposalCancelled(proposal_no=no):
                    self._close(conn, batch, slug, no)
                case GamePlayed(game="meeting"):
                    batch.meetings += [
                        {"slug": slug, "event_no": event.no, "member": m, "on": event.on, "attended": a}
                        for m, a in [(m, True) for m in event.participants] + [(m, False) for m in event.missed]
                    ]
                case GamePlayed():
                    batch.awards += _award_rows(slug, event, game_awards(event))
        batch.write(conn)

    @staticmethod
    def _close(conn: Connection, batch: _Batch, slug: str, no: int) -> tuple[str, list[tuple[str, str]]]:
        """A decided or cancelled proposal: its proposer and final votes, by member; then forget it."""
        key = (slug, no)
        latest = batch.votes.pop(key, {})
        proposer = batch.proposers.pop(key, None)
        if proposer is None:
            # Proposed in an earlier batch: its row and earlier votes are in the tables.
            where = {"s": slug, "b_no": no}
            proposer = str(conn.execute(_proposer, where).scalar_one())
            stored = {str(m): str(p) for m, p in conn.execute(_votes_of, where)}
            latest = {**stored, **latest}
            conn.execute(_forget_votes, where)
            conn.execute(_forget_proposal, where)
        # Sorted here, not by the database, so every backend numbers the awards alike.
        return proposer, sorted(latest.items())


def _award_rows(slug: str, event: PotEvent, awards: list[Award]) -> list[dict[str, Any]]:
    return [
        {"slug": slug, "event_no": event.no, "seq": i, "member": m, "level": lv, "points": p, "on": event.on}
        for i, (m, lv, p) in enumerate(awards)
    ]


class _Batch:
    """Rows one batch writes at its end, and the proposals and votes it has not written yet."""

    def __init__(self) -> None:
        # (slug, no) -> row, in event order; a reversal in the same batch edits its row here.
        self.contributions: dict[tuple[str, int], dict[str, Any]] = {}
        self.awards: list[dict[str, Any]] = []
        self.meetings: list[dict[str, Any]] = []
        # Proposals proposed in this batch and still open, and votes cast in it: (slug, no) -> …
        self.proposers: dict[tuple[str, int], str] = {}
        self.votes: dict[tuple[str, int], dict[str, str]] = {}

    def write(self, conn: Connection) -> None:
        insert_rows(conn, trust_contributions, list(self.contributions.values()))
        insert_rows(conn, trust_awards, self.awards)
        insert_rows(conn, trust_meetings, self.meetings)
        insert_rows(
            conn, trust_proposals, [{"slug": s, "no": n, "proposer": p} for (s, n), p in self.proposers.items()]
        )
        for (slug, no), latest in self.votes.items():
            for member, position in latest.items():
                # A vote may change an earlier one, cast in an earlier batch.
                if conn.execute(_change_vote, {"s": slug, "b_no": no, "m": member, "p": position}).rowcount == 0:
                    conn.execute(
                        _insert_vote, {"slug": slug, "proposal_no": no, "member": member, "position": position}
                    )


def proposal_awards(proposer: str, votes: list[tuple[str, str]], *, approved: bool, all_voted: bool) -> list[Award]:
    """Awards for a decided proposal, given each voter's final position."""
    agreed = [m for m, p in votes if p == "agree"]
    awards: list[Award] = [(proposer, 2, ASK)] + [(m, 2, OFFER) for m in agreed]
    if approved:
        # Asking and offering earn the respect bonus once, even for a proposer who agreed.
        awards += [(m, 2, RESPECT) for m in dict.fromkeys([proposer, *agreed])]
    if all_voted:
        awards += [(m, 1, ALL_VOTED) for m, _ in votes]
    return awards


def game_awards(event: GamePlayed) -> list[Award]:
    """Awards for every game but meetings, whose points depend on earlier meetings."""
    match event.game:
        case "listening":
            return [(m, 1, LISTENING) for m in event.participants]
        case "money":
            people = [event.asker, *event.offered] if event.asker else list(event.offered)
            return (
                ([(event.asker, 2, ASK)] if event.asker else [])
                + [(m, 2, OFFER) for m in event.offered]
                + [(m, 2, RESPECT) for m in dict.fromkeys(people)]
            )
        case "conflict":
            return [(m, 4, RESOLVED if event.resolved else UNRESOLVED) for m in event.participants]
        case "co-own":
            return [(m, 5, CO_OWN) for m in event.participants]
    return []


# --------------------------------------------------------------------------- the query
class Report(BaseModel):
    # Built on first use, so commands other than `trust` do not pay for it.
    model_config = ConfigDict(frozen=True, defer_build=True)


class MemberTrust(Report):
    name: str
    # Points per level, keyed "1" to "5" as in SPEC §4.
    points: dict[str, int]
    total: int
    # Highest level with a positive award; 0 when there is none yet.
    level: int


class CrewTrust(Report):
    total: int
    level: int


class TrustReport(Report):
    pot: str
    as_of: date
    members: list[MemberTrust]
    crew: CrewTrust


def consistency_points(months: Iterable[int], last_month: int, joined_month: int | None = None) -> list[int]:
    """Points for each month from the first contributed one to `last_month`.

    Contributed months earn 1, 3, then 5; a month before `last_month` without a
    contribution costs -5, but only from `joined_month` on: a contribution
    back-dated before the member joined does not make them owe the months
    before they were a member (SPEC §2 "while a member"). `last_month` itself
    counts only if contributed.
    """
    given = sorted(set(m for m in months if m <= last_month))
    if not given:
        return []
    first_owed = given[0] if joined_month is None else max(given[0], joined_month)
    points, nth = [], 0
    for month in range(given[0], last_month + 1):
        if month in given:
            nth += 1
            points.append(step_points(nth))
        elif first_owed <= month < last_month:
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


# The first month after `after` (up to `last`) in which the member has a contribution
# that counts on day `d`: made by then and not reversed by then. The covering index
# (slug, member, month, on, reversed_on) answers it with one seek.
_next_month = (
    select(trust_contributions.c.month)
    .where(
        trust_contributions.c.slug == bindparam("s"),
        trust_contributions.c.member == bindparam("m"),
        trust_contributions.c.month > bindparam("after"),
        trust_contributions.c.month <= bindparam("last"),
        trust_contributions.c.on <= bindparam("d"),
        # Reversed contributions earn nothing from the day they are reversed.
        or_(trust_contributions.c.reversed_on.is_(None), trust_contributions.c.reversed_on > bindparam("d")),
    )
    .order_by(trust_contributions.c.month)
    .limit(1)
)


def trust_report(conn: Connection, slug: str, as_of: date) -> TrustReport:
    """Every current member's points per level, total and level as of `as_of`, and the crew's."""
    crew = member_rows(conn, slug, as_of)
    # A member's months and meetings stop counting when they leave; missed months count from joining.
    ends = {m.name: m.left or as_of for m in crew}
    joins = {m.name: month_index(m.joined) for m in crew}
    tally = _Tally()

    for member, level, total, best in conn.execute(
        select(
            trust_awards.c.member,
            trust_awards.c.level,
            func.sum(trust_awards.c.points),
            func.max(trust_awards.c.points),
        )
        .where(trust_awards.c.slug == slug, trust_awards.c.on <= as_of)
        .group_by(trust_awards.c.member, trust_awards.c.level)
    ):
        tally.add(str(member), int(level), int(total), positive=int(best) > 0)

    months: dict[str, list[int]] = defaultdict(list)
    last = month_index(as_of)
    for m in crew:
        # One index seek per contributed month, not a scan of every contribution.
        after = -1
        while True:
            found = conn.execute(_next_month, {"s": slug, "m": m.name, "after": after, "last": last, "d": as_of})
            month = found.scalar()
            if month is None:
                break
            months[m.name].append(int(month))
            after = int(month)
    for member, given in months.items():
        for points in consistency_points(given, month_index(ends.get(member, as_of)), joins.get(member)):
            tally.add(member, 3, points, positive=points > 0)

    attendance: dict[str, list[bool]] = defaultdict(list)
    for member, attended in conn.execute(
        select(trust_meetings.c.member, trust_meetings.c.attended)
        .where(trust_meetings.c.slug == slug, trust_meetings.c.on <= as_of)
        .order_by(trust_meetings.c.on, trust_meetings.c.event_no)
    ):
        attendance[str(member)].append(bool(attended))
    for member, seen in attendance.items():
        for points in meeting_points(seen):
            tally.add(member, 3, points, positive=points > 0)

    rows = [tally.member(m.name) for m in crew if m.left is None]
    return TrustReport(
        pot=slug,
        as_of=as_of,
        members=rows,
        crew=CrewTrust(total=sum(r.total for r in rows), level=min((r.level for r in rows), default=0)),
    )


class _Tally:
    """Points per member and level, and the levels at which each earned a positive award."""

    def __init__(self) -> None:
        self.points: dict[str, dict[int, int]] = defaultdict(lambda: dict.fromkeys(LEVELS, 0))
        self.positive: dict[str, set[int]] = defaultdict(set)

    def add(self, member: str, level: int, points: int, *, positive: bool) -> None:
        self.points[member][level] += points
        if positive:
            self.positive[member].add(level)

    def member(self, name: str) -> MemberTrust:
        points = self.points[name]
        return MemberTrust(
            name=name,
            points={str(level): points[level] for level in LEVELS},
            total=sum(points.values()),
            level=max(self.positive[name], default=0),
        )
