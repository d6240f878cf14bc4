"""Trust as of a date (SPEC §2): the query over the `trust` projection's tables, and its report.

`projections.trust` folds the events into dated point awards, contributions by
month and meeting attendance; this module reads those rows with plain SQL
(`projections.sql`) and asks `domain.game` for the points of months and meetings,
so a query never replays the log and a past `--as-of` needs no history of its own.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from domain.game import CONSISTENCY, LEVELS, Scoreboard, consistency_points, crew_level, meeting_points
from domain.pledges import complete_before, first_whole_month, month_index
from domain.values import name_key
from projections.queries import member_rows
from projections.sql import Rows, day


@dataclass(frozen=True, kw_only=True, slots=True)
class MemberTrust:
    name: str
    # Points per level, keyed "1" to "5" as in SPEC §4.
    points: dict[str, int]
    total: int
    # Highest level with a positive award; 0 when there is none yet.
    level: int


@dataclass(frozen=True, kw_only=True, slots=True)
class CrewTrust:
    total: int
    level: int


@dataclass(frozen=True, kw_only=True, slots=True)
class TrustReport:
    pot: str
    as_of: date
    members: list[MemberTrust]
    crew: CrewTrust


# The first month after `after` (up to `last`) in which the member has a contribution
# that counts on day `d`: made by then and not reversed by then (reversed contributions earn
# nothing from the day they are reversed). The covering index (slug, member, month, on,
# reversed_on) answers it with one seek.
_NEXT_MONTH = (
    "SELECT month FROM cp_trust_contributions"
    ' WHERE slug = ? AND member = ? AND month > ? AND month <= ? AND "on" <= ?'
    " AND (reversed_on IS NULL OR reversed_on > ?) ORDER BY month LIMIT 1"
)

# Everyone with a contribution, an award or a meeting dated by `d`: those the report may score as of then.
_SCORED_BY = " UNION ".join(
    f'SELECT member FROM {table} WHERE slug = ? AND "on" <= ?'
    for table in ("cp_trust_contributions", "cp_trust_awards", "cp_trust_meetings")
)


def trust_report(db: Rows, slug: str, as_of: date) -> TrustReport:
    """Every current member's points per level, total and level as of `as_of`, and the crew's."""
    # Former members are not shown, nor part of the crew's level: only current ones are scored.
    # A member whose back-dated money or games are dated before they joined is scored as of
    # then too, as `balance` counts their money (SPEC §1 edge cases); no month before joining costs.
    early = {name_key(str(name)) for (name,) in db.all(_SCORED_BY, *[slug, as_of] * 3)}
    crew = [m for m in member_rows(db, slug, as_of, with_keys=early) if m.left is None]
    scores = Scoreboard()

    for member, level, total, best in db.all(
        'SELECT member, level, SUM(points), MAX(points) FROM cp_trust_awards WHERE slug = ? AND "on" <= ?'
        " GROUP BY member, level",
        slug,
        as_of,
    ):
        scores.add(str(member), int(level), int(total), positive=int(best) > 0)

    last = month_index(as_of)
    for m in crew:
        months: list[int] = []
        # One index seek per contributed month, not a scan of every contribution.
        after = -1
        while (found := db.value(_NEXT_MONTH, slug, m.name, after, last, as_of, as_of)) is not None:
            after = int(found)
            months.append(after)
        points = consistency_points(
            months, first_owed=first_whole_month(m.joined), complete_before=complete_before(as_of)
        )
        scores.add_all(m.name, CONSISTENCY, points)

    attendance: dict[str, list[bool]] = defaultdict(list)
    joined = {m.name: m.joined for m in member_rows(db, slug)}
    for member, attended, on in db.all(
        'SELECT member, attended, "on" FROM cp_trust_meetings WHERE slug = ? AND "on" <= ? ORDER BY "on", event_no',
        slug,
        as_of,
    ):
        # SPEC §1 edge cases: a back-dated meeting missed before the member joined costs them nothing.
        if not attended and day(on) < joined.get(str(member), day(on)):
            continue
        attendance[str(member)].append(bool(attended))
    for member, seen in attendance.items():
        scores.add_all(member, CONSISTENCY, meeting_points(seen))

    rows = [_member_trust(scores, m.name) for m in crew]
    return TrustReport(
        pot=slug,
        as_of=as_of,
        members=rows,
        crew=CrewTrust(total=sum(r.total for r in rows), level=crew_level(r.level for r in rows)),
    )


def _member_trust(scores: Scoreboard, name: str) -> MemberTrust:
    points = scores.points(name)
    return MemberTrust(
        name=name,
        points={str(level): points[level] for level in LEVELS},
        total=sum(points.values()),
        level=scores.level(name),
    )
