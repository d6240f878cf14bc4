"""The models of query results: the plain data each query returns, with SPEC §4's JSON field names.

`projections.queries` fills them; the CLI and the web render them as text, pages or JSON.
The models of other queries stand beside them (`projections.proposal_queries`,
`projections.rules`, `projections.trust_report`, …), so a read builds only its own.
They are frozen dataclasses, not pydantic models, so that a read whose views are caught
up loads nothing but the standard library and the database driver (issue 22).
`verify`'s report is kept apart (`projections.verification`), as no read builds it.
`as_json` turns any of them into SPEC §4's JSON: a field marked `hidden` is for
people (text, pages) and stays out of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from typing import Any, cast

# Field metadata: `HIDDEN` keeps a field out of the JSON; `JSON_NAME` gives it another name there;
# `OMIT_NONE` leaves it out when it is None (a key that did not exist before some version of SPEC).
HIDDEN, JSON_NAME, OMIT_NONE = "hidden", "json_name", "omit_none"


# A field for people (text, the web pages), not in SPEC §4's JSON: `field(default=…, metadata=HIDE)`.
HIDE = {HIDDEN: True}


def as_json(value: Any) -> Any:
    """SPEC §4's JSON of a query result: dates as ISO text, hidden fields left out, names as the SPEC spells them."""
    kind = type(value)
    if kind in _AS_THEY_ARE:
        return value
    plan = _PLANS.get(kind)
    if plan is None and is_dataclass(value) and not isinstance(value, type):
        plan = _PLANS[kind] = _plan(kind)
    if plan is not None:
        shown: dict[str, Any] = {}
        for name, json_name, omit_none in plan:
            item = getattr(value, name)
            if item is None and omit_none:
                continue
            shown[json_name] = as_json(item)
        return shown
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


_AS_THEY_ARE = frozenset({str, int, bool, type(None)})
# A model class -> its shown fields: (attribute, JSON name, left out when None), read off its metadata once.
_PLANS: dict[type, tuple[tuple[str, str, bool], ...]] = {}


def _plan(kind: type) -> tuple[tuple[str, str, bool], ...]:
    return tuple(
        (f.name, f.metadata.get(JSON_NAME, f.name), bool(f.metadata.get(OMIT_NONE)))
        for f in fields(kind)
        if not f.metadata.get(HIDDEN)
    )


def json_dict(value: Any) -> dict[str, Any]:
    """`as_json` of one query result: a JSON object."""
    return cast(dict[str, Any], as_json(value))


def to_dict(value: Any) -> dict[str, Any]:
    """Every field of a query result, hidden ones too, as they are (not as JSON)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


@dataclass(frozen=True, kw_only=True, slots=True)
class MemberShare:
    name: str
    contributed: str
    share_pct: str
    received: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BalanceReport:
    pot: str
    currency: str
    as_of: date
    balance: str
    contributed: str
    paid_out: str
    reserved: str
    available: str
    members: list[MemberShare]
    # What approved, unpaid proposals reserve beyond the balance ("0.00" when covered): `available` never
    # shows below zero, the shortfall is shown as such (issue 21). Text and web only, not in SPEC §4's JSON.
    shortfall: str = field(default="0", metadata=HIDE)


@dataclass(frozen=True, kw_only=True, slots=True)
class MemberRow:
    name: str
    role: str
    joined: date
    left: date | None


@dataclass(frozen=True, kw_only=True, slots=True)
class PotInfo:
    slug: str
    name: str
    currency: str
    digits: int
    quorum: str
    voting_days: int
    events: int
    head: str
