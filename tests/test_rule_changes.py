"""Rules changed by consent (SPEC §8): `pot propose-rule`, `pot rules`, and decisions under the rules of their day.

A rule-change proposal is numbered, listed and decided like a withdrawal; once
approved, `rules_changed` puts its rules in force with the decision. Every
proposal is decided, and replays, under the rules in force when it was made: a
CLI test changes the quorum mid-history and rebuilds, imports and verifies to the
same outcomes; a stateful Hypothesis test interleaves rule changes with
proposals, votes and closings against a plain model of that rule.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as count
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain.errors import PotError, Refused
from domain.events import RuleChangeProposed, RulesChanged, RuleSet
from domain.lawful import check_follows
from domain.pot import Pot, pot_id
from ledger import jsonl
from ledger.app import Ledger
from ledger.store import resolve
from projections.rules import rules_as_of
from tests.conftest import head, pot, refused
from tests.test_rules_once import ACTORS, PROPOSALS, TEXTS, TREASURER, Step, a_crew, forged, mostly, step

DAY = "2026-01-02"


def proposals(db: Path) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = pot(db, "proposals", "--json").json()
    return listed


def status_of(db: Path) -> dict[int, str]:
    return {p["no"]: p["status"] for p in proposals(db)}


# --------------------------------------------------------------------------- the commands
def test_propose_rule_prints_its_number_and_is_listed_with_the_rules_it_would_set(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose", "30", "--purpose", "paint", today=DAY).code == 0
    made = pot(crew, "--as", "Cy", "propose-rule", "--quorum", "0.75", "--voting-days", "10", "--purpose", "most of us")
    assert made.code == 0, made.err
    assert "(proposal 2)" in made.out
    assert "quorum 0.75, voting days 10" in made.out
    listed = proposals(crew)
    assert [p["no"] for p in listed] == [1, 2]
    assert listed[1]["amount"] == "0.00"
    assert listed[1]["rules"] == {"quorum": "0.75", "voting_days": 10}
    assert listed[1]["status"] == "open"
    # A withdrawal's JSON is as it was: no `rules` key.
    assert "rules" not in listed[0]
    shown = pot(crew, "proposal", "2", "--json").json()
    assert shown["rules"] == {"quorum": "0.75", "voting_days": 10}
    # Open for as long as a withdrawal made that day: the voting days in force (7).
    assert shown["closes"] == "2026-03-08"
    assert "most of us (sets quorum 0.75, voting days 10)" in pot(crew, "proposals").out
    assert pot(crew, "proposal", "2").out.startswith(
        "proposal 2 by Cy: a rule change for most of us (sets quorum 0.75, voting days 10)\n"
    )


def test_an_approved_rule_change_is_in_force_from_its_decision(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose-rule", "--signed-votes", "on", "--purpose", "sign it").code == 0
    for name in ("Ana", "Bo", "Cy"):
        assert pot(crew, "--as", name, "vote", "1", "agree").code == 0
    last = pot(crew, "--as", "Dee", "vote", "1", "agree")
    assert last.code == 0
    assert "proposal 1 approved" in last.out
    assert "rules in force from now (proposal 1): quorum 0.5, voting days 7, signed votes on" in last.out
    now = pot(crew, "rules", "--json").json()
    assert (now["quorum"], now["voting_days"], now["signed_votes"], now["proposal_no"]) == ("0.5", 7, True, 1)
    before = pot(crew, "rules", "--as-of", "2026-02-28", "--json").json()
    assert (before["signed_votes"], before["since_event"], before["proposal_no"]) == (False, 1, None)
    text = pot(crew, "rules")
    assert text.out.splitlines() == [
        "quorum 0.5, voting days 7, signed votes on",
        "in force since 2026-03-01 (event 12: proposal 1 approved)",
    ]
    assert pot(crew, "proposals", "--status", "approved", "--json").json()[0]["rules"] == {"signed_votes": True}


def test_a_rejected_rule_change_changes_nothing(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose-rule", "--quorum", "1", "--purpose", "everyone").code == 0
    assert pot(crew, "--as", "Cy", "vote", "1", "block", "--reason", "too strict").code == 0
    assert pot(crew, "--as", "Bo", "close", "1", today="2026-03-09").code == 0
    assert status_of(crew) == {1: "rejected"}
    assert pot(crew, "rules", "--json").json()["quorum"] == "0.5"


def test_signed_votes_turned_on_do_not_reach_a_proposal_made_before(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose", "10", "--purpose", "before").code == 0
    assert pot(crew, "--as", "Bo", "propose-rule", "--signed-votes", "on", "--purpose", "sign").code == 0
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", name, "vote", "2", "agree").code == 0
    # Proposal 1 was made when any vote counted: an unsigned vote on it is still taken.
    assert pot(crew, "--as", "Cy", "vote", "1", "agree").code == 0
    assert pot(crew, "--as", "Bo", "propose", "10", "--purpose", "after").code == 0
    refused(crew, "--as", "Cy", "vote", "3", "agree", code=1, says="takes signed votes only")
    assert pot(crew, "verify").code == 0


# --------------------------------------------------------------------------- refusals
def test_rule_changes_refused_leave_the_store_as_it_was(crew: Path) -> None:
    refused(crew, "--as", "Bo", "propose-rule", "--quorum", "1.5", "--purpose", "x", code=2, says="quorum '1.5'")
    refused(crew, "--as", "Bo", "propose-rule", "--quorum", "0.33333", "--purpose", "x", code=2, says="decimals")
    refused(
        crew, "--as", "Bo", "propose-rule", "--voting-days", "0", "--purpose", "x", code=2, says="between 1 and 365"
    )
    refused(crew, "--as", "Bo", "propose-rule", "--purpose", "x", code=2, says="sets at least one rule")
    refused(crew, "--as", "Bo", "propose-rule", "--quorum", "1", "--purpose", " ", code=2, says="purpose")
    refused(crew, "--as", "Eve", "propose-rule", "--quorum", "1", "--purpose", "x", code=2, says="not a member")
    refused(
        crew,
        "--as",
        "Bo",
        "propose-rule",
        "--quorum",
        "0.50",
        "--voting-days",
        "7",
        "--purpose",
        "x",
        code=1,
        says="nothing to change: the quorum is 0.5 and voting lasts 7 days already",
    )
    refused(crew, "--as", "Bo", "propose-rule", "--signed-votes", "off", "--purpose", "x", code=1, says="nothing")
    refused(crew, "rules", "--as-of", "2025-12-31", code=2, says="was not open yet")
    # One rule the same and another changed is a change.
    assert pot(crew, "--as", "Bo", "propose-rule", "--quorum", "0.5", "--voting-days", "3", "--purpose", "x").code == 0


def test_paying_or_cancelling_an_enacted_rule_change_is_refused(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose-rule", "--voting-days", "3", "--purpose", "faster").code == 0
    refused(crew, "--as", "Ana", "pay", "1", code=1, says="there is nothing to pay")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", name, "vote", "1", "agree").code == 0
    refused(crew, "--as", "Ana", "pay", "1", code=1, says="there is nothing to pay")
    refused(crew, "--as", "Bo", "cancel", "1", code=1, says="propose another rule change")
    # An open rule change is its proposer's to cancel, like any proposal.
    assert pot(crew, "--as", "Cy", "propose-rule", "--quorum", "1", "--purpose", "all").code == 0
    assert pot(crew, "--as", "Cy", "cancel", "2").code == 0
    assert status_of(crew) == {1: "approved", 2: "cancelled"}


# --------------------------------------------------------------------------- mid-history
def test_quorum_changed_mid_history_rebuilds_and_replays_to_the_same_outcomes(crew: Path, tmp_path: Path) -> None:
    """Issue 21: a test changes quorum mid-history, rebuilds, and gets the same outcomes."""
    assert pot(crew, "--as", "Ana", "contribute", "Ana", "100", today="2026-01-01").code == 0
    # Proposal 1 under quorum 0.5: two of four voting is enough.
    assert pot(crew, "--as", "Bo", "propose", "20", "--purpose", "before", today="2026-01-01").code == 0
    assert pot(crew, "--as", "Bo", "propose-rule", "--quorum", "1", "--purpose", "all", today="2026-01-01").code == 0
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", name, "vote", "2", "agree", today="2026-01-02").code == 0
    assert pot(crew, "rules", "--json").json()["quorum"] == "1"
    # Proposal 3 under quorum 1: the same two votes are not enough.
    assert pot(crew, "--as", "Bo", "propose", "20", "--purpose", "after", today="2026-01-03").code == 0
    for no in ("1", "3"):
        assert pot(crew, "--as", "Ana", "vote", no, "agree", today="2026-01-03").code == 0
        assert pot(crew, "--as", "Bo", "vote", no, "agree", today="2026-01-03").code == 0
        assert pot(crew, "--as", "Cy", "close", no, today="2026-01-20").code == 0
    assert status_of(crew) == {1: "approved", 2: "approved", 3: "rejected"}
    # Back to 0.5 later does not reopen or redecide anything.
    assert pot(crew, "--as", "Bo", "propose-rule", "--quorum", "0.5", "--purpose", "back", today="2026-01-21").code == 0
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", name, "vote", "4", "agree", today="2026-01-21").code == 0
    assert pot(crew, "--as", "Ana", "pay", "1", today="2026-01-22").code == 0
    before = proposals(crew)
    assert [p["status"] for p in before] == ["paid", "approved", "rejected", "approved"]
    history = pot(crew, "history", "--json").json()

    assert pot(crew, "rebuild").code == 0
    assert proposals(crew) == before
    assert pot(crew, "history", "--json").json() == history
    assert pot(crew, "verify").code == 0
    assert pot(crew, "rules", "--as-of", "2026-01-01", "--json").json()["quorum"] == "0.5"
    assert pot(crew, "rules", "--as-of", "2026-01-02", "--json").json()["quorum"] == "1"
    assert pot(crew, "rules", "--as-of", "2026-01-21", "--json").json()["quorum"] == "0.5"

    # What each proposal is decided under, by its event (the rules may change on the day it is made).
    proposed = ("withdrawal_proposed", "rule_change_proposed")
    made = [(i["proposal_no"], i["no"]) for i in pot(crew, "history", "--json").json() if i["type"] in proposed]
    ledger = Ledger(resolve(str(crew)))
    try:
        info = ledger.resolve_pot("maastricht-crew")
        with ledger.read() as conn:
            under = {no: rules_as_of(conn, info, None, before_event=event) for no, event in made}
    finally:
        ledger.close()
    assert {no: None if r is None else r.quorum for no, r in under.items()} == {1: "0.5", 2: "0.5", 3: "1", 4: "1"}

    # Its backup imports (every event passes the import's checks) and reads the same.
    backup = tmp_path / "backup.jsonl"
    assert pot(crew, "export", "--format", "jsonl", "-o", str(backup)).code == 0
    other = tmp_path / "restored.sqlite"
    imported = pot(other, "import", str(backup))
    assert imported.code == 0, imported.err
    assert proposals(other) == before
    assert head(other) == head(crew)


def test_an_import_refuses_rules_changed_that_no_approval_put_in_force(crew: Path) -> None:
    ledger = Ledger(resolve(str(crew)))
    try:
        state: Pot = ledger.app.repository.get(pot_id("maastricht-crew"))
    finally:
        ledger.close()
    forged = RulesChanged(
        originator_id=state.id,
        originator_version=state.version + 1,
        timestamp=state.modified_on,
        actor="Ana",
        on=date(2026, 1, 2),
        prev=state.state.head,
        proposal_no=1,
        quorum="0",
        voting_days=7,
    )
    with pytest.raises(Refused, match="rules change only with the approval"):
        check_follows(state, forged)


# --------------------------------------------------------------------------- each rule once
POSITIONS = ["agree", "abstain", "disagree", "block"]
RULE_STEPS = st.fixed_dictionaries(
    {
        "actor": ACTORS,
        "purpose": TEXTS,
        "quorum": st.one_of(st.none(), mostly(["0.75", "1", "0.5", "0.50"], ["2", "-1", "0.33333", "half", ""])),
        "voting_days": st.one_of(st.none(), mostly([3, 7, 14], [0, 366, -2])),
        "signed_votes": st.one_of(st.none(), st.booleans()),
    }
).map(lambda drawn: Step("propose_rules", drawn))
# Rule changes among the steps that decide them: votes, closings, cancellations, payouts, time passing.
DECIDING = st.one_of(
    step("vote", actor=ACTORS, proposal_no=PROPOSALS, position=st.sampled_from(POSITIONS), reason=TEXTS),
    step("everyone_votes", proposal_no=PROPOSALS, position=st.sampled_from(["agree", "agree", "block"])),
    step("close", actor=ACTORS, proposal_no=PROPOSALS),
    step("cancel", actor=ACTORS, proposal_no=PROPOSALS),
    step("pay", actor=TREASURER, proposal_no=PROPOSALS),
    step("wait", days=st.integers(1, 9)),
)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.one_of(RULE_STEPS, DECIDING), min_size=10, max_size=30))
def test_rule_changes_are_refused_alike_by_the_command_and_the_import(steps: list[Step]) -> None:
    """Each rule once (tests/test_rules_once.py): a refused rule change reads the same from a file; an accepted
    one, its decision and its `rules_changed` pass the import's checks; paying one is refused alike."""
    crew = a_crew()
    for s in steps:
        if s.command != "propose_rules":
            crew.attempt(s)
            continue
        a = s.args
        changes = RuleSet(quorum=a["quorum"], voting_days=a["voting_days"], signed_votes=a["signed_votes"])
        try:
            crew.pot.propose_rules(
                actor=a["actor"], purpose=a["purpose"], changes=changes, closes=None, today=crew.today
            )
        except PotError as refusal:
            count(f"propose_rules refused: {type(refusal).__name__}")
            assert crew.pot.pending_events == []
            event = forged(
                crew.mirror,
                RuleChangeProposed,
                a["actor"],
                crew.today,
                proposal_no=crew.mirror.proposal_count + 1,
                purpose=a["purpose"],
                closes=crew.today + timedelta(days=crew.mirror.state.voting_days),
                eligible=crew.mirror.current_names(),
                rules=changes,
            )
            crew.refused_alike(refusal, event)
        else:
            count("propose_rules accepted")
            crew.follow(crew.pot.collect_events())
    if any(isinstance(p.changes, RuleSet) and p.enacted for p in crew.pot.state.proposals.values()):
        count("a rule change came into force")


def test_paying_a_rule_change_is_refused_alike_by_the_command_and_the_import() -> None:
    crew = a_crew()
    made = crew.pot.propose_rules(actor="Cy", purpose="all", changes=RuleSet(quorum="1"), closes=None, today=crew.today)
    crew.follow(crew.pot.collect_events())
    pay = Step("pay", {"actor": "Ana", "proposal_no": made})
    with pytest.raises(Refused, match="there is nothing to pay"):
        crew.pot.pay(actor="Ana", proposal_no=made, today=crew.today)
    crew.attempt(pay)  # refused, and the forged payout is refused by the import's checks with the same words
    crew.attempt(Step("everyone_votes", {"proposal_no": made, "position": "agree"}))
    assert crew.pot.state.quorum == "1"
    assert crew.mirror.state.quorum == "1"
    crew.attempt(pay)
    assert "pay: refused" in crew.seen


# --------------------------------------------------------------------------- stateful
SLUG = "rules-crew"
CREW = ["Ana", "Bo", "Cy", "Dee"]
QUORUMS = ["0", "0.25", "0.5", "0.75", "1"]


@dataclass
class ModelProposal:
    """A proposal as the model sees it: the quorum it is decided under is fixed when it is made."""

    quorum: Fraction
    closes: date
    rules: dict[str, Any] | None
    votes: dict[str, str] = field(default_factory=dict)
    status: str = "open"


class RulesModel:
    def __init__(self) -> None:
        self.quorum = Fraction(1, 2)
        self.voting_days = 3
        self.proposals: dict[int, ModelProposal] = {}

    def outcome(self, p: ModelProposal) -> str:
        positions = list(p.votes.values())
        agree, disagree, block = (positions.count(k) for k in ("agree", "disagree", "block"))
        needed = math.ceil(p.quorum * len(CREW))
        return "approved" if block == 0 and agree > disagree and len(positions) >= needed else "rejected"

    def decide(self, no: int) -> None:
        p = self.proposals[no]
        p.status = self.outcome(p)
        if p.status == "approved" and p.rules is not None:
            count("a rule change came into force")
            if "quorum" in p.rules:
                self.quorum = Fraction(p.rules["quorum"])
            if "voting_days" in p.rules:
                self.voting_days = p.rules["voting_days"]


class RulesBesideModel(RuleBasedStateMachine):
    """The ledger beside a model that decides each proposal under the rules of the day it was made."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.ledger = Ledger(resolve(str(Path(self.dir.name) / "pot.sqlite")))
        self.model = RulesModel()
        self.today = date(2026, 1, 1)

    def teardown(self) -> None:
        try:
            self.its_backup_restores_to_the_same_outcomes()
        finally:
            self.ledger.close()
            self.dir.cleanup()

    def its_backup_restores_to_the_same_outcomes(self) -> None:
        if not self.ledger.exists(SLUG):
            return
        backup = Path(self.dir.name) / "backup.jsonl"
        with backup.open("w", encoding="utf-8", newline="") as out:
            jsonl.export_jsonl(self.ledger, SLUG, out)
        restored = Ledger(resolve(str(Path(self.dir.name) / "restored.sqlite")))
        try:
            jsonl.import_jsonl(restored, backup)
            assert self._statuses(restored) == self._statuses(self.ledger)
            restored.rebuild_views(force=True)
            assert self._statuses(restored) == self._statuses(self.ledger)
        finally:
            restored.close()

    @staticmethod
    def _statuses(ledger: Ledger) -> dict[int, str]:
        return {p.no: p.status for p in ledger.proposals(ledger.resolve_pot(SLUG))}

    def attempt(self, expected_ok: bool, command: Any) -> Any:
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
            name="Rules crew",
            currency="EUR",
            quorum=Decimal("0.5"),
            voting_days=3,
            treasurer="Ana",
            today=self.today,
        )
        for name in CREW[1:]:
            self.ledger.add_member(SLUG, actor="Ana", name=name, treasurer=False, today=self.today)

    def _new(self, rules: dict[str, Any] | None) -> ModelProposal:
        return ModelProposal(
            quorum=self.model.quorum, closes=self.today + timedelta(days=self.model.voting_days), rules=rules
        )

    @rule(amount=st.integers(1, 500), who=st.sampled_from(CREW))
    def propose_withdrawal(self, amount: int, who: str) -> None:
        made = self.ledger.propose(
            SLUG, actor=who, amount_minor=amount, purpose="spend", recipient=None, closes=None, today=self.today
        )
        self.model.proposals[made.proposal_no] = self._new(None)
        assert made.proposal_no == len(self.model.proposals)

    @rule(
        who=st.sampled_from(CREW),
        quorum=st.none() | st.sampled_from(QUORUMS),
        days=st.none() | st.sampled_from([1, 3, 5]),
    )
    def propose_rule_change(self, who: str, quorum: str | None, days: int | None) -> None:
        rules: dict[str, Any] = {}
        if quorum is not None:
            rules["quorum"] = quorum
        if days is not None:
            rules["voting_days"] = days
        changes = (quorum is not None and Fraction(quorum) != self.model.quorum) or (
            days is not None and days != self.model.voting_days
        )
        made = self.attempt(
            changes,
            lambda: self.ledger.propose_rules(
                SLUG,
                actor=who,
                purpose="rules",
                quorum=None if quorum is None else Decimal(quorum),
                voting_days=days,
                today=self.today,
            ),
        )
        if made is not None:
            self.model.proposals[made.proposal_no] = self._new(rules)
            assert made.proposal_no == len(self.model.proposals)

    @precondition(lambda self: bool(self.model.proposals))
    @rule(
        data=st.data(), who=st.sampled_from(CREW), position=st.sampled_from(["agree", "abstain", "disagree", "block"])
    )
    def vote(self, data: st.DataObject, who: str, position: str) -> None:
        self.vote_on(data.draw(st.sampled_from(sorted(self.model.proposals))), who, position)

    def vote_on(self, no: int, who: str, position: str) -> None:
        p = self.model.proposals[no]
        ok = p.status == "open" and self.today <= p.closes
        repeat = p.votes.get(who) == position
        reason = "because" if position in ("disagree", "block") else ""
        done = self.attempt(
            ok,
            lambda: self.ledger.vote(
                SLUG, actor=who, proposal_no=no, position=position, reason=reason, today=self.today
            ),
        )
        if done is not None and not repeat:
            p.votes[who] = position
            if len(p.votes) == len(CREW):
                self.model.decide(no)

    @precondition(lambda self: any(p.status == "open" for p in self.model.proposals.values()))
    @rule(data=st.data())
    def everyone_agrees(self, data: st.DataObject) -> None:
        """The crew agrees on an open proposal, one vote at a time: the last vote decides it (often a rule change)."""
        no = data.draw(st.sampled_from(sorted(n for n, p in self.model.proposals.items() if p.status == "open")))
        for who in CREW:
            self.vote_on(no, who, "agree")

    @precondition(lambda self: bool(self.model.proposals))
    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        no = data.draw(st.sampled_from(sorted(self.model.proposals)))
        p = self.model.proposals[no]
        ok = p.status == "open" and self.today > p.closes
        done = self.attempt(ok, lambda: self.ledger.close_proposal(SLUG, actor="Cy", proposal_no=no, today=self.today))
        if done is not None:
            self.model.decide(no)

    @rule(days=st.integers(1, 4))
    def time_passes(self, days: int) -> None:
        self.today += timedelta(days=days)

    @invariant()
    def outcomes_and_rules_agree(self) -> None:
        if not self.ledger.exists(SLUG):
            return
        info = self.ledger.resolve_pot(SLUG)
        assert self._statuses(self.ledger) == {no: p.status for no, p in self.model.proposals.items()}
        now = self.ledger.rules(info)
        assert (Fraction(now.quorum), now.voting_days) == (self.model.quorum, self.model.voting_days)


RulesBesideModel.TestCase.settings = settings(
    max_examples=15, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestRulesBesideModel = RulesBesideModel.TestCase


class RulesFromSnapshotsBesideModel(RulesBesideModel):
    """The same with a snapshot at every other event: the rules of a proposal's day survive a snapshot."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger.app.snapshot_every = 2


RulesFromSnapshotsBesideModel.TestCase.settings = RulesBesideModel.TestCase.settings
TestRulesFromSnapshotsBesideModel = RulesFromSnapshotsBesideModel.TestCase
