"""Which notices `pot notify` owes in a pot now (SPEC §8 Reminders), sent or not.

Due, for each pot: a new proposal while it is open for votes, a reminder from
the day before its closing date to the members who have not voted, and a
decision or a payout recorded in the last `NEWS_DAYS` days (see ledger.notify).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from domain.events import EVENT_TYPES, ProposalDecided, WithdrawalPaid, WithdrawalProposed
from domain.values import name_key
from ledger.app import Ledger
from ledger.notify_channels import Settings
from projections.models import PotInfo

# Decisions and payouts recorded longer ago than this are old news, not notices.
NEWS_DAYS = 7
# The proposal events: a withdrawal, and a rule change where the pot knows that event (decided alike).
PROPOSAL_TYPES = tuple(t for t in (WithdrawalProposed.TYPE, "rule_change_proposed") if t in EVENT_TYPES)


@dataclass(frozen=True)
class Notice:
    """One thing to tell members: which event, what kind, to whom (names), and the words."""

    slug: str
    event_no: int
    kind: str  # "proposal", "reminder", "decision" or "payout"
    to: tuple[str, ...]
    subject: str
    text: str
    link: str
    data: dict[str, Any]

    def webhook_body(self) -> dict[str, Any]:
        return {
            "pot": self.slug,
            "kind": self.kind,
            "event": self.event_no,
            "to": list(self.to),
            "subject": self.subject,
            "text": self.text,
            "link": self.link,
            **self.data,
        }


def _one_line(text: str, limit: int = 80) -> str:
    """Text for a mail subject: one line (a header cannot hold a line break), not too long."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _recorded_since(item: dict[str, Any], since: datetime) -> bool:
    at = datetime.fromisoformat(str(item["at"]))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)) >= since


def due_notices(ledger: Ledger, info: PotInfo, settings: Settings, *, today: date, now: datetime) -> list[Notice]:
    """Every notice due in this pot now, sent or not (the bookkeeping skips what went out already)."""
    slug, pot, currency = info.slug, info.name, info.currency
    current = [m.name for m in ledger.members(slug) if m.left is None]
    is_current = {name_key(n) for n in current}
    proposals = {p.no: p for p in ledger.proposals(info)}
    made = {int(i["proposal_no"]): i for i in ledger.history(info, types=PROPOSAL_TYPES) if "proposal_no" in i}

    def link(no: int) -> str:
        return f"{settings.public_url}/p/{slug}/proposals/{no}"

    def what(no: int) -> str:
        row = proposals.get(no)
        item = made.get(no, {})
        purpose = row.purpose if row is not None else str(item.get("purpose", ""))
        amount = item.get("amount")
        if amount is None or item.get("type") != WithdrawalProposed.TYPE:
            return purpose
        to = item.get("recipient") or ""
        return f"{amount} {currency}{f' to {to}' if to else ''} for {purpose}"

    notices: list[Notice] = []
    for no, item in sorted(made.items()):
        row = proposals.get(no)
        if row is None or row.status != "open" or today > row.closes:
            continue
        eligible = tuple(n for n in item.get("eligible", ()) if name_key(n) in is_current)
        data = {"proposal": no, "closes": row.closes.isoformat(), "purpose": row.purpose}
        if eligible:
            notices.append(
                Notice(
                    slug,
                    int(item["no"]),
                    "proposal",
                    eligible,
                    f"[{_one_line(pot, 40)}] New proposal {no}: {_one_line(what(no))}",
                    f"{item['actor']} proposes {what(no)}.\n\nVotes are taken until {row.closes} (inclusive)."
                    f" Vote here:\n{link(no)}\n",
                    link(no),
                    data,
                )
            )
        if today >= row.closes - timedelta(days=1):
            voted = {name_key(b.member) for b in ledger.proposal(info, no).ballots}
            waiting = tuple(n for n in eligible if name_key(n) not in voted)
            if waiting:
                notices.append(
                    Notice(
                        slug,
                        int(item["no"]),
                        "reminder",
                        waiting,
                        f"[{_one_line(pot, 40)}] Proposal {no} closes {row.closes}: you have not voted yet",
                        f"Proposal {no}, {what(no)}, takes votes until {row.closes} (inclusive)."
                        f"\nNot voted yet: {', '.join(waiting)}.\n\nVote here:\n{link(no)}\n",
                        link(no),
                        data,
                    )
                )
    since = now - timedelta(days=NEWS_DAYS)
    everyone = tuple(current)
    for item in ledger.history(info, types=(ProposalDecided.TYPE, WithdrawalPaid.TYPE)):
        if not everyone or not _recorded_since(item, since):
            continue
        no = int(item["proposal_no"])
        if item["type"] == ProposalDecided.TYPE:
            counts = ", ".join(f"{p} {item[p]}" for p in ("agree", "abstain", "disagree", "block"))
            outcome = str(item["outcome"])
            subject = f"[{_one_line(pot, 40)}] Proposal {no} {outcome}: {_one_line(what(no), 60)}"
            text = (
                f"Proposal {no}, {what(no)}, was {outcome} on {item['on']}.\n"
                f"Votes: {counts} ({item['eligible_count']} could vote).\n\n{link(no)}\n"
            )
            data = {"proposal": no, "outcome": outcome}
            notices.append(Notice(slug, int(item["no"]), "decision", everyone, subject, text, link(no), data))
        else:
            paid = f"{item['amount']} {currency} to {item['recipient']}"
            subject = f"[{_one_line(pot, 40)}] Proposal {no} paid: {_one_line(paid, 60)}"
            text = f"{item['actor']} paid proposal {no}: {paid}, on {item['on']}.\n\n{link(no)}\n"
            data = {"proposal": no, "amount": item["amount"], "currency": currency, "recipient": item["recipient"]}
            notices.append(Notice(slug, int(item["no"]), "payout", everyone, subject, text, link(no), data))
    return notices
