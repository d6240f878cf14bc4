"""Each rule once: the commands and the import's checks refuse the same things, with the same words.

Property (Hypothesis): a pot is built by its commands while a second pot is built
beside it the way a jsonl import builds one, checking every event with
`domain.lawful.check_follows` before folding it. Each step tries a command that
may well be refused (a stranger or a member who left acting, a member doing a
treasurer's work, too much money, a reversed contribution, a closed proposal, a
bad name, feeling or text…):

- accepted, each event it recorded passes the import's checks;
- refused, the event the command would have recorded (the same fields, chained
  to the pot's head) is refused by the import's checks with the same exception
  class and message, except for the rules an import leaves aside on purpose:
  those that depend on the day the command ran, and the funds rules, whose
  breach the import finds by the balance after folding (domain.lawful).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event as count
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import BadInput, InsufficientFunds, PotError
from domain.events import (
    GAMES,
    POSITIONS,
    ContributionRecorded,
    ContributionReversed,
    GamePlayed,
    MemberJoined,
    MemberLeft,
    PledgeSet,
    PotEvent,
    PotOpened,
    ProposalCancelled,
    ProposalDecided,
    ReflectionNoted,
    RoleChanged,
    VoteCast,
    WithdrawalPaid,
    WithdrawalProposed,
    WithdrawalRefunded,
)
from domain.lawful import check_follows, check_opening
from domain.pot import Pot

START = date(2026, 3, 1)
# The refusals an import leaves to the day a command ran (domain.lawful's docstring).
DAY_RULES = re.compile(
    r"is in the future|is in the past|a vote cannot be dated|voting on proposal \d+ closed on"
    r"|open for votes until|cannot be (paid|reversed) on|after the current month|money back cannot be dated"
    # SPEC §8's rules, which came after histories were recorded without them: commands only (domain.rules).
    r"|needs a reason|may not pay proposal \d+: they"
)


def mostly(good: list[Any], bad: list[Any]) -> st.SearchStrategy[Any]:
    """What a crew means to type, at least six times in seven; otherwise one of its mistakes."""
    return st.sampled_from(good * 6 * max(1, len(bad) // len(good)) + bad)


# Who acts or is named: the crew as it joined (members may leave on the way), Ana being the
# treasurer, a case variant, a stranger.
TREASURER = mostly(["Ana"], ["Bo", "Zed", "Cy"])
ACTORS = mostly(["Ana", "Bo", "Cy", "Dee"], ["Zed"])
NAMED = mostly(["Ana", "Bo", "Cy", "Dee", "bo", "ANA"], ["Zed"])
NEW_NAMES = mostly(["Eve", "Fin", " Gus ", "Ívar"], ["bo", "Cy", "", "   ", "Ha\x00l", "x" * 65])
TEXTS = mostly(["ok", "  padded  ", "two\nlines"], ["", "tab\there", "nul\x00", "x" * 501, "\ud800"])
LABELS = mostly([None, "R2", " R3 "], ["", "R1", "tab\tref", "x" * 201])
RECIPIENTS = mostly([None, "Bo", "dee", "The shop"], ["", "Sh\x00op", "two\nlines", "x" * 201])
FEELINGS = mostly(["glad", "Anxious", "élan"], ["two words", "", "x" * 33, "9lives"])
AMOUNTS = mostly([1, 250, 10_000, 20_000], [0, -5, 100_000_000_000, 100_000_000_001])
INCOMES = mostly([None, 100_000], [0, 100, 100_000_000_001])
MONTHS = mostly(["2026-01", "2026-03"], ["2026-13", "1899-12", "2027-01", "26-01"])
SHARES = mostly(["10", "7.50", 2_500], ["0", "150", "0.001", 0, -1, 10**11 + 1])
NUMBERS = st.integers(-1, 12)
PROPOSALS = mostly([1, 2, 3], [0, 4, 9])


@dataclass(frozen=True)
class Step:
    """One command to try: its name and arguments (`today` aside)."""

    command: str
    args: dict[str, Any]


def step(command: str, **args: st.SearchStrategy[Any]) -> st.SearchStrategy[Step]:
    return st.fixed_dictionaries(args).map(lambda drawn: Step(command, drawn))


STEPS = st.one_of(
    step("add_member", actor=TREASURER, name=NEW_NAMES, treasurer=st.booleans()),
    step("remove_member", actor=ACTORS, name=NAMED),
    step("change_role", actor=TREASURER, name=NAMED, treasurer=st.booleans()),
    step(
        "contribute",
        actor=TREASURER,
        member=NAMED,
        amount_minor=AMOUNTS,
        note=TEXTS,
        ref=LABELS,
        income_minor=INCOMES,
        back=st.integers(0, 3),
    ),
    step("reverse", actor=TREASURER, contribution_no=NUMBERS, reason=TEXTS),
    step("propose", actor=ACTORS, amount_minor=AMOUNTS, purpose=TEXTS, recipient=RECIPIENTS),
    step("vote", actor=ACTORS, proposal_no=PROPOSALS, position=st.sampled_from(POSITIONS), reason=TEXTS),
    # Every member votes alike, one command each: so proposals get decided, and paid.
    step("everyone_votes", proposal_no=PROPOSALS, position=st.sampled_from(["agree", "agree", "block"])),
    step("close", actor=ACTORS, proposal_no=PROPOSALS),
    step("cancel", actor=ACTORS, proposal_no=PROPOSALS),
    step("pay", actor=TREASURER, proposal_no=PROPOSALS),
    # SPEC §8 money back: at most what was paid, less what already came back.
    step("refund", actor=TREASURER, proposal_no=PROPOSALS, amount_minor=AMOUNTS, reason=TEXTS),
    # A payout, then money of it back at once: so refunds meet paid proposals, not only refusals.
    step("pay_then_refund", proposal_no=PROPOSALS, amount_minor=mostly([1, 250, 2_000], [0, 10**9]), reason=TEXTS),
    step(
        "set_pledge",
        actor=ACTORS,
        member=NAMED,
        share=SHARES,
        from_month=MONTHS,
    ),
    step(
        "play_game",
        actor=ACTORS,
        game=st.sampled_from(GAMES),
        participants=st.lists(NAMED, max_size=4, unique=True).map(tuple) | st.lists(NAMED, max_size=3).map(tuple),
        asker=st.one_of(st.none(), NAMED),
        offered=st.lists(NAMED, max_size=3, unique=True).map(tuple),
        missed=st.lists(NAMED, max_size=2, unique=True).map(tuple),
        resolved=st.one_of(st.none(), st.booleans()),
        back=st.integers(0, 3),
    ),
    step("reflect", actor=ACTORS, event_no=NUMBERS, feeling=FEELINGS, note=TEXTS),
    step("wait", days=st.integers(1, 9)),
)


class Beside:
    """A pot built by its commands, and the same pot built as an import builds it."""

    def __init__(self) -> None:
        self.today = START
        # What the steps met, for `pytest --hypothesis-show-statistics`.
        self.seen: set[str] = set()
        self.pot = Pot.open(
            slug="p",
            name="P",
            currency="EUR",
            digits=2,
            quorum=Decimal("0.5"),
            voting_days=7,
            treasurer="Ana",
            today=START,
        )
        opened, *joined = self.pot.collect_events()
        assert isinstance(opened, PotOpened)
        check_opening(opened)
        mirror = opened.mutate(None)
        assert isinstance(mirror, Pot)
        self.mirror: Pot = mirror
        self.follow(joined)

    def follow(self, events: Iterable[object]) -> None:
        """What an import does with each event: check it, fold it, keep the balance at zero or above."""
        for event in events:
            assert isinstance(event, PotEvent)
            check_follows(self.mirror, event)
            event.mutate(self.mirror)
            assert self.mirror.state.balance_minor >= 0
        assert self.mirror.state == self.pot.state

    def attempt(self, s: Step) -> None:
        if s.command == "wait":
            self.today += timedelta(days=s.args["days"])
            return
        if s.command == "pay_then_refund":
            self.attempt(Step("pay", {"actor": "Ana", "proposal_no": s.args["proposal_no"]}))
            self.attempt(Step("refund", {"actor": "Ana", **s.args}))
            return
        if s.command == "everyone_votes":
            for voter in self.pot.current_names():
                self.attempt(Step("vote", {"actor": voter, "reason": "as agreed", **s.args}))
            return
        try:
            run(self.pot, s, self.today)
        except PotError as refusal:
            self.seen.add(f"{s.command}: refused")
            assert self.pot.pending_events == [], "a refused command left events behind"
            self.refused_alike(refusal, would_record(self.mirror, s, self.today))
        else:
            self.seen.add(f"{s.command}: accepted")
            self.follow(self.pot.collect_events())

    def refused_alike(self, refusal: PotError, event: PotEvent) -> None:
        try:
            check_follows(self.mirror, event)
        except PotError as e:
            refused: PotError | None = e
        else:
            refused = None
        if refused is not None and (type(refused), str(refused)) == (type(refusal), str(refusal)):
            return
        if isinstance(refused, BadInput) and "is not as the pot records it" in str(refused):
            # The event as given holds a name or text spelled otherwise than the command would have
            # recorded it (`would_record` keeps the text as typed): the import refuses that before any rule.
            self.seen.add("refused by the import for its spelling")
            return
        # Only a rule the import leaves aside on purpose may tell them apart.
        left_aside = isinstance(refusal, InsufficientFunds) or DAY_RULES.search(str(refusal))
        assert left_aside, f"the import's checks say {refused or 'yes'} where the command said: {refusal}"
        self.seen.add(f"left to the import's balance check or to the day: {type(refusal).__name__}")
        if refused is not None:
            # The import, which leaves the day aside, meets a rule the command checks after it: an unsigned
            # vote where votes must be signed, say. Refused either way.
            assert not isinstance(refused, BadInput) or "is not as the pot records it" in str(refused), refused
        elif isinstance(refusal, InsufficientFunds):
            assert isinstance(event, ContributionReversed | WithdrawalPaid)
            # A payout may also wait for the proposals approved before it (issue 21), a rule of the commands.
            if "order of approval" not in str(refusal):
                assert event.amount_minor > self.mirror.state.balance_minor, "folded, it takes the balance below zero"


def run(pot: Pot, s: Step, today: date) -> None:
    """Call the command as a front end would, `today` being the day it runs."""
    a = dict(s.args)
    match s.command:
        case "contribute":
            pot.contribute(on=today - timedelta(days=a.pop("back")), today=today, **a)
        case "set_pledge":
            share = a.pop("share")
            percent, monthly = (Decimal(share), None) if isinstance(share, str) else (None, share)
            pot.set_pledge(percent=percent, monthly_minor=monthly, today=today, **a)
        case "play_game":
            pot.play_game(on=today - timedelta(days=a.pop("back")), today=today, **a)
        case "propose":
            pot.propose(closes=None, today=today, **a)
        case _:
            getattr(pot, s.command)(today=today, **a)


def would_record(pot: Pot, s: Step, today: date) -> PotEvent:
    """The event the command would have recorded, with its fields as given, as a forged file would hold it."""
    a = s.args
    match s.command:
        case "add_member":
            role = "treasurer" if a["treasurer"] else "member"
            return forged(pot, MemberJoined, a["actor"], today, member=a["name"], role=role)
        case "remove_member":
            return forged(pot, MemberLeft, a["actor"], today, member=a["name"])
        case "change_role":
            role = "treasurer" if a["treasurer"] else "member"
            return forged(pot, RoleChanged, a["actor"], today, member=a["name"], role=role)
        case "contribute":
            fields = {k: a[k] for k in ("member", "amount_minor", "note", "ref", "income_minor")}
            return forged(pot, ContributionRecorded, a["actor"], today - timedelta(days=a["back"]), **fields)
        case "reverse":
            no = a["contribution_no"]
            found = pot.contribution(no) if 1 <= no <= pot.version else None
            member, amount = (found.member, found.amount_minor) if found is not None else ("Ana", 1)
            fields = {"contribution_no": no, "member": member, "amount_minor": amount, "reason": a["reason"]}
            return forged(pot, ContributionReversed, a["actor"], today, **fields)
        case "propose":
            return forged(
                pot,
                WithdrawalProposed,
                a["actor"],
                today,
                proposal_no=pot.proposal_count + 1,
                amount_minor=a["amount_minor"],
                purpose=a["purpose"],
                recipient=a["actor"] if a["recipient"] is None else a["recipient"],
                closes=today + timedelta(days=pot.state.voting_days),
                eligible=pot.current_names(),
            )
        case "vote":
            fields = {"proposal_no": a["proposal_no"], "position": a["position"], "reason": a["reason"]}
            return forged(pot, VoteCast, a["actor"], today, member=a["actor"], **fields)
        case "close":
            live = pot.state.proposals.get(a["proposal_no"])
            decided = pot.decision(live) if live is not None else {"proposal_no": a["proposal_no"]}
            counts = {"outcome": "rejected", "eligible_count": 0, "all_voted": False}
            counts.update(dict.fromkeys(POSITIONS, 0))
            return forged(pot, ProposalDecided, a["actor"], today, **{**counts, **decided})
        case "cancel":
            return forged(pot, ProposalCancelled, a["actor"], today, proposal_no=a["proposal_no"])
        case "pay":
            live = pot.state.proposals.get(a["proposal_no"])
            amount, to = (live.amount_minor, live.recipient) if live is not None else (1, "Ana")
            return forged(
                pot, WithdrawalPaid, a["actor"], today, proposal_no=a["proposal_no"], amount_minor=amount, recipient=to
            )
        case "refund":
            payout = pot.state.payouts.get(a["proposal_no"])
            fields = {"proposal_no": a["proposal_no"], "amount_minor": a["amount_minor"], "reason": a["reason"]}
            to = payout.recipient if payout is not None else "Ana"
            return forged(pot, WithdrawalRefunded, a["actor"], today, recipient=to, **fields)
        case "set_pledge":
            share = a["share"]
            terms: dict[str, Any] = {"kind": "percent", "percent": share, "monthly_minor": None}
            if not isinstance(share, str):
                terms = {"kind": "monthly", "percent": None, "monthly_minor": share}
            return forged(pot, PledgeSet, a["actor"], today, member=a["member"], from_month=a["from_month"], **terms)
        case "play_game":
            fields = {k: a[k] for k in ("game", "participants", "asker", "offered", "missed")}
            # A front end's flag: only a conflict records how it ended.
            resolved = a["resolved"] if a["game"] == "conflict" else None
            on = today - timedelta(days=a["back"])
            return forged(pot, GamePlayed, a["actor"], on, resolved=resolved, **fields)
        case "reflect":
            fields = {"event_no": a["event_no"], "feeling": a["feeling"], "note": a["note"]}
            return forged(pot, ReflectionNoted, a["actor"], today, member=a["actor"], **fields)
    raise AssertionError(f"no event for {s.command}")


def forged(pot: Pot, cls: type[PotEvent], actor: str, on: date, **fields: Any) -> PotEvent:
    """An event as the pot's next one: numbered and chained to its head."""
    return cls(
        originator_id=pot.id,
        originator_version=pot.version + 1,
        timestamp=datetime.now(UTC),
        actor=actor,
        on=on,
        prev=pot.state.head,
        **fields,
    )


def a_crew() -> Beside:
    """Ana (treasurer), Bo, Cy and Dee; 500.00 in the pot; proposal 1 open."""
    crew = Beside()
    for name in ("Bo", "Cy", "Dee"):
        crew.attempt(Step("add_member", {"actor": "Ana", "name": name, "treasurer": False}))
    money = {"member": "Bo", "amount_minor": 50_000, "note": "", "ref": "R1", "income_minor": None, "back": 0}
    crew.attempt(Step("contribute", {"actor": "Ana", **money}))
    crew.attempt(Step("propose", {"actor": "Bo", "amount_minor": 10_000, "purpose": "tea", "recipient": None}))
    assert crew.pot.version == 7
    return crew


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(STEPS, min_size=20, max_size=50))
def test_the_import_refuses_what_the_commands_refuse_with_the_same_words(steps: list[Step]) -> None:
    crew = a_crew()
    for s in steps:
        crew.attempt(s)
    for seen in sorted(crew.seen):
        count(seen)


@pytest.mark.parametrize(
    "s",
    [
        Step("add_member", {"actor": "Ana", "name": "bo", "treasurer": False}),
        Step("add_member", {"actor": "Bo", "name": "Eve", "treasurer": False}),
        Step("add_member", {"actor": "Ana", "name": "Ha\x00l", "treasurer": False}),
        Step("reverse", {"actor": "Ana", "contribution_no": 2, "reason": "oops"}),
        Step("reverse", {"actor": "Ana", "contribution_no": 5, "reason": "  "}),
        Step("vote", {"actor": "Zed", "proposal_no": 1, "position": "agree", "reason": ""}),
        Step("pay", {"actor": "Ana", "proposal_no": 1}),
        Step("reflect", {"actor": "Cy", "event_no": 99, "feeling": "glad", "note": ""}),
        Step("reflect", {"actor": "Cy", "event_no": 3, "feeling": "two words", "note": ""}),
        Step("propose", {"actor": "Cy", "amount_minor": 100, "purpose": "x" * 501, "recipient": None}),
    ],
    ids=lambda s: s.command,
)
def test_some_refusals_read_alike_from_a_command_and_from_a_file(s: Step) -> None:
    """The property's usual suspects, each surely tried: every one is refused, and alike."""
    crew = a_crew()
    with pytest.raises(PotError):
        run(crew.pot, s, crew.today)
    crew.attempt(s)


def test_a_ref_recorded_twice_is_refused_alike_and_names_the_first() -> None:
    crew = a_crew()
    again = {"actor": "Ana", "member": "Cy", "amount_minor": 100, "note": "", "ref": "R1", "income_minor": None}
    says = r"ref 'R1' is recorded already, so this contribution is already recorded \(event 6\)"
    with pytest.raises(PotError, match=says):
        run(crew.pot, Step("contribute", {**again, "back": 0}), crew.today)
    crew.attempt(Step("contribute", {**again, "back": 0}))
