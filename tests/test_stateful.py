"""The real ledger run beside a plain Python model of the pot (Hypothesis stateful testing).

After every step the ledger's balance view, proposals and event numbering must
agree with the model; a command succeeds exactly when the model says it should.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import partial
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import PotError
from ledger import fileio, jsonl, statement_csv
from ledger.app import Ledger
from ledger.commands import Proposed, Recorded
from ledger.store import resolve
from projections import proposal_queries, queries

SLUG = "model-crew"
NAMES = ["Ana", "Bo", "Cy", "Dee", "Eve", "Fin"]
POSITIONS = ["agree", "abstain", "disagree", "block"]
# SPEC §8: a block or disagree needs a reason; the same one each time, so the same vote again is a repeat.
REASON = "as we said"
# A small pool, so refs repeat: within a statement, across its parts, and against earlier contributions.
REFS = st.sampled_from(["R1", "R2", "R3", "R4"])


@dataclass
class ModelProposal:
    proposer: str
    amount: int
    eligible: list[str]
    closes: date
    votes: dict[str, str] = field(default_factory=dict)
    status: str = "open"
    # When it was approved, as a count of approvals: payouts go in this order (issue 21).
    approved: int = 0


class PotModel:
    """What the pot should be, in the plainest Python."""

    def __init__(self) -> None:
        self.members: dict[str, dict[str, object]] = {"Ana": {"role": "treasurer", "left": False}}
        self.contributions: dict[int, tuple[str, int, bool]] = {}
        # What each recorded ref stands for: member, amount and value date.
        self.refs: dict[str, tuple[str, int, date]] = {}
        self.proposals: dict[int, ModelProposal] = {}
        self.balance = 0
        self.events = 2  # pot_opened, member_joined(Ana)
        self.received: dict[str, int] = {}
        self.approvals = 0

    def current(self, name: str) -> bool:
        return name in self.members and not self.members[name]["left"]

    def decide(self, p: ModelProposal) -> None:
        # A member who left took their vote with them (SPEC §1 edge cases).
        still_here = [n for n in p.eligible if self.current(n)]
        latest = [p.votes[n] for n in still_here if n in p.votes]
        agree, disagree, block = latest.count("agree"), latest.count("disagree"), latest.count("block")
        needed = math.ceil(Fraction(1, 2) * len(still_here))
        p.status = "approved" if block == 0 and agree > disagree and len(latest) >= needed else "rejected"
        self.events += 1
        self.approvals += p.status == "approved"
        p.approved = self.approvals

    def complete(self, p: ModelProposal) -> bool:
        return all(n in p.votes for n in p.eligible if self.current(n))

    @property
    def reserved(self) -> int:
        return sum(p.amount for p in self.proposals.values() if p.status == "approved")

    def payable(self, p: ModelProposal) -> bool:
        """Approved, and the balance covers it once every proposal approved before it is paid (issue 21)."""
        before = sum(q.amount for q in self.proposals.values() if q.status == "approved" and q.approved < p.approved)
        return p.status == "approved" and p.amount <= self.balance - before

    def two_to_sign(self, treasurer: str, p: ModelProposal) -> bool:
        """SPEC §8: a treasurer may not pay their own proposal while another current treasurer could."""
        others = [n for n, m in self.members.items() if n != treasurer and m["role"] == "treasurer" and not m["left"]]
        return p.proposer != treasurer or not others


class LedgerBesideModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.ledger = Ledger(resolve(str(Path(self.dir.name) / "pot.sqlite")))
        self.model = PotModel()
        self.today = date(2026, 1, 1)
        # Statements are stored two rows a part, so every import of three rows or more spans parts.
        self.chunk, fileio.CHUNK = fileio.CHUNK, 2

    def teardown(self) -> None:
        try:
            self.its_backup_restores()
        finally:
            fileio.CHUNK = self.chunk
            self.ledger.close()
            self.dir.cleanup()

    def its_backup_restores(self) -> None:
        """Whatever the crew did, its jsonl export imports into an empty store: the import's checks
        (domain.lawful) refuse only histories no crew could have recorded, never this one."""
        if not hasattr(self, "ledger") or not self.ledger.exists(SLUG):
            return
        backup = Path(self.dir.name) / "backup.jsonl"
        with backup.open("w", encoding="utf-8", newline="") as out:
            exported = jsonl.export_jsonl(self.ledger, SLUG, out)
        restored = Ledger(resolve(str(Path(self.dir.name) / "restored.sqlite")))
        try:
            _slug, imported = jsonl.import_jsonl(restored, backup)
        finally:
            restored.close()
        assert imported == exported

    def attempt(self, expected_ok: bool, command: Callable[[], object]) -> object:
        """Run a command; it must succeed exactly when the model says so."""
        try:
            result = command()
        except PotError as e:
            refusal: PotError | None = e
        else:
            refusal = None
        assert (refusal is None) == expected_ok, f"ledger and model disagree; the ledger said: {refusal}"
        return result if refusal is None else None

    @initialize()
    def open_pot(self) -> None:
        self.ledger.open_pot(
            slug=SLUG,
            name="Model crew",
            currency="EUR",
            quorum=Decimal("0.5"),
            voting_days=3,
            treasurer="Ana",
            today=self.today,
        )
        for name in ("Bo", "Cy"):
            self.ledger.add_member(SLUG, actor="Ana", name=name, treasurer=False, today=self.today)
            self.model.members[name] = {"role": "member", "left": False}
            self.model.events += 1

    @rule()
    def a_day_passes(self) -> None:
        self.today += timedelta(days=1)

    @rule(name=st.sampled_from(NAMES), treasurer=st.booleans())
    def add_member(self, name: str, treasurer: bool) -> None:
        ok = name not in self.model.members
        self.attempt(
            ok, lambda: self.ledger.add_member(SLUG, actor="Ana", name=name, treasurer=treasurer, today=self.today)
        )
        if ok:
            self.model.members[name] = {"role": "treasurer" if treasurer else "member", "left": False}
            self.model.events += 1

    @rule(name=st.sampled_from(NAMES[1:]))
    def remove_member(self, name: str) -> None:
        ok = self.model.current(name)
        self.attempt(ok, lambda: self.ledger.remove_member(SLUG, actor="Ana", name=name, today=self.today))
        if ok:
            self.model.members[name]["left"] = True
            self.model.events += 1
            for p in self.model.proposals.values():
                if p.status == "open" and self.model.complete(p):
                    self.model.decide(p)

    @rule(name=st.sampled_from(NAMES), amount=st.integers(min_value=1, max_value=50_000), ref=st.none() | REFS)
    def contribute(self, name: str, amount: int, ref: str | None) -> None:
        ok = self.model.current(name) and ref not in self.model.refs
        no = self.attempt(
            ok,
            lambda: self.ledger.contribute(
                SLUG, actor="Ana", member=name, amount_minor=amount, on=self.today, today=self.today, ref=ref
            ),
        )
        if ok:
            self.record(name, amount, ref)
            assert isinstance(no, Recorded)
            assert no.no == self.model.events

    def record(self, name: str, amount: int, ref: str | None) -> None:
        self.model.events += 1
        self.model.contributions[self.model.events] = (name, amount, False)
        self.model.balance += amount
        if ref is not None:
            self.model.refs[ref] = (name, amount, self.today)

    @rule(data=st.data())
    def import_statement(self, data: st.DataObject) -> None:
        """A statement read in parts of two rows: all its new rows or none, repeated refs counted once."""
        here = [n for n in self.model.members if self.model.current(n)]
        # Current members and few amounts, so most statements import and refs often match;
        # now and then a row names anyone, so some statements are refused.
        row = st.tuples(st.sampled_from(here), st.sampled_from([500, 1_000]), REFS)
        rows = data.draw(st.lists(row, min_size=1, max_size=7), label="rows")
        if data.draw(st.integers(0, 9), label="a stranger's row") == 0:
            rows.insert(data.draw(st.integers(0, len(rows))), (data.draw(st.sampled_from(NAMES)), 500, "R9"))
        seen = dict(self.model.refs)
        new: list[tuple[str, int, str]] = []
        already, ok = 0, True
        for name, amount, ref in rows:
            if not self.model.current(name):
                ok = False
            elif ref not in seen:
                seen[ref] = (name, amount, self.today)
                new.append((name, amount, ref))
            elif seen[ref] == (name, amount, self.today):
                already += 1
            else:
                ok = False
        statement = Path(self.dir.name) / "statement.csv"
        lines = [f"{name},{amount // 100}.{amount % 100:02d},{self.today},{ref}" for name, amount, ref in rows]
        statement.write_text("\n".join(["member,amount,on,ref", *lines]) + "\n", encoding="utf-8")
        try:
            result = statement_csv.import_csv(self.ledger, SLUG, actor="Ana", path=statement, today=self.today)
        except PotError as e:
            refusal: PotError | None = e
        else:
            refusal = None
        assert (refusal is None) == ok, f"ledger and model disagree; the ledger said: {refusal}"
        if ok:
            assert (result.new, result.already_recorded) == (len(new), already)
            for name, amount, ref in new:
                self.record(name, amount, ref)

    @precondition(lambda self: self.model.contributions)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        no = data.draw(st.sampled_from(sorted(self.model.contributions)))
        name, amount, reversed_ = self.model.contributions[no]
        ok = not reversed_ and amount <= self.model.balance
        self.attempt(
            ok, lambda: self.ledger.reverse(SLUG, actor="Ana", contribution_no=no, reason="test", today=self.today)
        )
        if ok:
            self.model.contributions[no] = (name, amount, True)
            self.model.balance -= amount
            self.model.events += 1

    @rule(name=st.sampled_from(NAMES), amount=st.integers(min_value=1, max_value=80_000))
    def propose(self, name: str, amount: int) -> None:
        ok = self.model.current(name)
        no = self.attempt(
            ok,
            lambda: self.ledger.propose(
                SLUG,
                actor=name,
                amount_minor=amount,
                purpose="something",
                recipient=None,
                closes=None,
                today=self.today,
            ),
        )
        if ok:
            eligible = [n for n in self.model.members if self.model.current(n)]
            number = len(self.model.proposals) + 1
            assert isinstance(no, Proposed)
            assert no.proposal_no == number
            self.model.proposals[number] = ModelProposal(name, amount, eligible, self.today + timedelta(days=3))
            self.model.events += 1

    @precondition(lambda self: self.model.proposals)
    @rule(data=st.data(), position=st.sampled_from(POSITIONS))
    def vote(self, data: st.DataObject, position: str) -> None:
        # Mostly the latest proposal and its voters, so decisions happen; sometimes anyone.
        n = data.draw(
            st.sampled_from(sorted(self.model.proposals)[-2:]) | st.sampled_from(sorted(self.model.proposals))
        )
        p = self.model.proposals[n]
        name = data.draw(st.sampled_from(p.eligible) | st.sampled_from(NAMES))
        # Votes are taken through the closing day; after it only `close` decides.
        ok = p.status == "open" and self.model.current(name) and name in p.eligible and self.today <= p.closes
        self.attempt(
            ok,
            lambda: self.ledger.vote(
                SLUG, actor=name, proposal_no=n, position=position, reason=REASON, today=self.today
            ),
        )
        if ok:
            # The same vote again (position and reason) stores nothing (issue 18, defect 9).
            self.model.events += p.votes.get(name) != position
            p.votes[name] = position
            if self.model.complete(p):
                self.model.decide(p)

    @rule(data=st.data(), amount=st.integers(min_value=1, max_value=30_000))
    def a_proposal_is_decided_at_once(self, data: st.DataObject, amount: int) -> None:
        """A member proposes and every member votes straight away: the common case."""
        self.propose("Ana", amount)
        self.the_crew_votes(data, len(self.model.proposals))

    @precondition(
        lambda self: any(p.status == "open" and self.today <= p.closes for p in self.model.proposals.values())
    )
    @rule(data=st.data())
    def the_crew_votes(self, data: st.DataObject, n: int | None = None) -> None:
        """Every eligible member still here votes on one proposal open for votes, which decides it."""
        if n is None:
            votable = [n for n, p in self.model.proposals.items() if p.status == "open" and self.today <= p.closes]
            n = data.draw(st.sampled_from(votable))
        p = self.model.proposals[n]
        for name in [v for v in p.eligible if self.model.current(v)]:
            position = data.draw(st.sampled_from(POSITIONS))
            self.attempt(
                True,
                partial(
                    self.ledger.vote,
                    SLUG,
                    actor=name,
                    proposal_no=n,
                    position=position,
                    reason=REASON,
                    today=self.today,
                ),
            )
            self.model.events += p.votes.get(name) != position
            p.votes[name] = position
            if self.model.complete(p):
                break
        self.model.decide(p)

    @precondition(lambda self: self.model.proposals)
    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def close(self, data: st.DataObject, name: str) -> None:
        n = data.draw(st.sampled_from(sorted(self.model.proposals)))
        p = self.model.proposals[n]
        ok = self.model.current(name) and p.status == "open" and (self.today > p.closes or self.model.complete(p))
        self.attempt(ok, lambda: self.ledger.close_proposal(SLUG, actor=name, proposal_no=n, today=self.today))
        if ok:
            self.model.decide(p)

    @precondition(lambda self: self.model.proposals)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        n = data.draw(st.sampled_from(sorted(self.model.proposals)))
        p = self.model.proposals[n]
        # Open, or approved and not yet paid: cancelling releases its reserve (SPEC §1 edge cases).
        ok = p.status in ("open", "approved") and self.model.current(p.proposer)
        self.attempt(ok, lambda: self.ledger.cancel_proposal(SLUG, actor=p.proposer, proposal_no=n, today=self.today))
        if ok:
            p.status = "cancelled"
            self.model.events += 1

    @precondition(lambda self: self.model.proposals)
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        n = data.draw(st.sampled_from(sorted(self.model.proposals)))
        p = self.model.proposals[n]
        # Payouts go in order of approval, and Ana pays her own proposal only as the only treasurer.
        ok = self.model.payable(p) and self.model.two_to_sign("Ana", p)
        self.attempt(ok, lambda: self.ledger.pay(SLUG, actor="Ana", proposal_no=n, today=self.today))
        if ok:
            p.status = "paid"
            self.model.balance -= p.amount
            self.model.received[p.proposer] = self.model.received.get(p.proposer, 0) + p.amount
            self.model.events += 1

    @invariant()
    def views_agree_with_the_model(self) -> None:
        if not hasattr(self, "ledger"):
            return
        with self.ledger.read() as conn:
            info = queries.pot_info(conn, SLUG)
            if info is None:
                return
            report = queries.balance(conn, info, None, self.today)
            numbers = [item["no"] for item, _ in queries.history_items(conn, info)]
            statuses = {p.no: p.status for p in proposal_queries.proposal_rows(conn, info)}
        m = self.model
        assert report.balance == f"{Decimal(m.balance) / 100:.2f}"
        assert report.reserved == f"{Decimal(m.reserved) / 100:.2f}"
        # Available never shows below zero: the shortfall is shown as such (issue 21).
        assert report.available == f"{Decimal(max(m.balance - m.reserved, 0)) / 100:.2f}"
        assert report.shortfall == f"{Decimal(max(m.reserved - m.balance, 0)) / 100:.2f}"
        assert m.balance >= 0
        assert numbers == list(range(1, m.events + 1)), "event numbers are contiguous from 1"
        assert statuses == {n: p.status for n, p in m.proposals.items()}
        contributed = {
            name: sum(a for (who, a, rev) in m.contributions.values() if who == name and not rev) for name in m.members
        }
        assert {s.name: s.contributed for s in report.members} == {
            n: f"{Decimal(c) / 100:.2f}" for n, c in contributed.items()
        }
        assert {s.name: s.received for s in report.members} == {
            n: f"{Decimal(m.received.get(n, 0)) / 100:.2f}" for n in m.members
        }
        if sum(contributed.values()):
            assert sum(Decimal(s.share_pct) for s in report.members) == Decimal("100.00")


LedgerBesideModel.TestCase.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestLedgerBesideModel = LedgerBesideModel.TestCase


class LedgerFromSnapshotsBesideModel(LedgerBesideModel):
    """The same, with a snapshot at every other event: each command meets a pot loaded from one.

    The snapshot carries no contributions and only how ended proposals ended, so a
    reversal reads its contribution from the store and every refusal about an
    ended proposal comes from the snapshot's summary.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ledger.app.snapshot_every = 2


LedgerFromSnapshotsBesideModel.TestCase.settings = LedgerBesideModel.TestCase.settings
TestLedgerFromSnapshotsBesideModel = LedgerFromSnapshotsBesideModel.TestCase
