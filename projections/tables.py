"""The read-model tables, in the same database as the events.

Every table is keyed by the pot's slug, so one store holds many pots. Money is
integer minor units (BigInteger); dates are SQL dates; `at` timestamps are ISO
strings in UTC, because SQLite drops time-zone offsets.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

# How far each projection has read the notification log; updated in the same
# transaction as the rows it covers, so every event is applied exactly once.
positions = Table(
    "cp_positions",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("notification_id", BigInteger, nullable=False),
)

pots = Table(
    "cp_pots",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("pot_id", String(32), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("digits", Integer, nullable=False),
    Column("quorum", String(16), nullable=False),
    Column("voting_days", Integer, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("events", Integer, nullable=False),
    Column("head", String(64), nullable=False),
    Column("balance", BigInteger, nullable=False),
    Column("contributed", BigInteger, nullable=False),
    Column("paid_out", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
)

members = Table(
    "cp_members",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("joined", Date, nullable=False),
    Column("joined_no", Integer, nullable=False),
    Column("left", Date),
    Column("contributed", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False),
)

history = Table(
    "cp_history",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("on", Date, nullable=False),
    Column("type", String(32), nullable=False),
    Column("actor", Text, nullable=False),
    # The member the event is about (contributor, voter, recipient), for --member.
    Column("member", Text),
    # Signed change to the balance, in minor units.
    Column("delta", BigInteger, nullable=False),
    Column("fields", Text, nullable=False),
    Column("digest", String(64), nullable=False),
)
Index("cp_history_on", history.c.slug, history.c.on)
# The rarer events found by their type: rules in force, rule changes, members who left, proposals
# decided or cancelled, payouts. Without it each of those reads scans the pot's whole audit trail.
Index("cp_history_type", history.c.slug, history.c.type, history.c.no)

proposals = Table(
    "cp_proposals",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("no", Integer, primary_key=True),
    Column("event_no", Integer, nullable=False),
    Column("proposer", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("proposed_on", Date, nullable=False),
    Column("closes", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_on", Date),
    Column("approved", Boolean),
    Column("paid_on", Date),
)

ballots = Table(
    "cp_ballots",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("event_no", Integer, primary_key=True),
    Column("proposal_no", Integer, nullable=False),
    Column("member", Text, nullable=False),
    Column("position", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("on", Date, nullable=False),
)
Index("cp_ballots_proposal", ballots.c.slug, ballots.c.proposal_no)

# Every contribution that carries a `ref`, so the rule "a ref is recorded once per
# pot" is one indexed lookup instead of state every pot load would carry
# (domain.past). Only `reverse` looks up by number, and it reads the event store.
refs = Table(
    "cp_refs",
    metadata,
    Column("slug", String(48), primary_key=True),
    Column("ref", Text, primary_key=True),
    Column("no", Integer, nullable=False),
    Column("member", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("on", Date, nullable=False),
)

# The tables the `core` projection owns: cleared and refilled by `pot rebuild`.
CORE_TABLES = (pots, members, history, proposals, ballots, refs)
