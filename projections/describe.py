"""One-line human descriptions of history items ("Bo proposed 120.00 for Dee's laptop repair")."""

from __future__ import annotations

from typing import Any

from domain import vocabulary as v
from domain.pledges import shown_percent


def describe(item: dict[str, Any], currency: str | None = None) -> str:
    """The item in one line: a multi-line note or purpose is joined with spaces, so columns stay aligned.

    With `currency`, amounts name it ("50.00 EUR"), as a command's confirmation does;
    the history and replay show the currency once, in their heading.
    """
    signed = f" (signed with key {item['signature']['key_id']})" if item.get("signature") else ""
    return " ".join(_sentence(item, currency).split()) + signed


def _sentence(item: dict[str, Any], currency: str | None) -> str:
    actor = item["actor"]
    kind = item["type"]
    note = f" ({item['note']})" if item.get("note") else ""
    if currency is not None:
        item = {**item, **{k: f"{item[k]} {currency}" for k in ("amount", "monthly") if item.get(k) is not None}}
    match kind:
        case v.POT_OPENED:
            return f"{actor} opened the pot {item['name']} in {item['currency']}"
        case v.MEMBER_JOINED:
            role = " as treasurer" if item["role"] == "treasurer" else ""
            if item["member"] == actor:
                return f"{actor} joined{role}"
            return f"{actor} added {item['member']}{role}"
        case v.MEMBER_LEFT:
            if item["member"] == actor:
                return f"{actor} left the crew"
            return f"{actor} removed {item['member']}"
        case v.ROLE_CHANGED:
            return f"{actor} made {item['member']} a {item['role']}"
        case v.CONTRIBUTION_RECORDED:
            # Always from whom, even from the treasurer who records it (issue 18).
            return f"{actor} recorded {item['amount']} from {item['member']}{note}"
        case v.CONTRIBUTION_REVERSED:
            return (
                f"{actor} reversed contribution {item['contribution_no']} "
                f"({item['amount']} from {item['member']}): {item['reason']}"
            )
        case v.WITHDRAWAL_PROPOSED:
            to = "" if item["recipient"] == actor else f" to {item['recipient']}"
            return f"{actor} proposed {item['amount']}{to} for {item['purpose']} (proposal {item['proposal_no']})"
        case v.VOTE_CAST:
            reason = f": {item['reason']}" if item.get("reason") else ""
            return f"{actor} voted {item['position']} on proposal {item['proposal_no']}{reason}"
        case v.PROPOSAL_DECIDED:
            return (
                f"proposal {item['proposal_no']} {item['outcome']} "
                f"({item['agree']} agree, {item['abstain']} abstain, "
                f"{item['disagree']} disagree, {item['block']} block)"
            )
        case v.PROPOSAL_CANCELLED:
            return f"{actor} cancelled proposal {item['proposal_no']}"
        case v.WITHDRAWAL_PAID:
            receipt = ", receipt kept" if item.get("receipt_sha256") else ""
            return f"{actor} paid {item['amount']} to {item['recipient']} (proposal {item['proposal_no']}{receipt})"
        case v.PLEDGE_SET:
            return _pledge(actor, item)
        case v.GAME_PLAYED:
            return _game(actor, item)
        case v.REFLECTION_NOTED:
            return f"{item['member']} reflected on event {item['event_no']}: {item['feeling']}{note}"
        case "withdrawal_refunded":
            return (
                f"{actor} recorded {item['amount']} back from {item['recipient']} "
                f"(proposal {item['proposal_no']}): {item['reason']}"
            )
        case "member_key_added":
            return f"{actor} registered signing key {item['key_id']}"
        case "member_key_revoked":
            return f"{actor} revoked signing key {item['key_id']}"
        case "rule_change_proposed":
            rules = rule_words(item["rules"])
            return f"{actor} proposed new rules ({rules}) for {item['purpose']} (proposal {item['proposal_no']})"
        case "rules_changed":
            return f"rules in force from now (proposal {item['proposal_no']}): {rule_words(item, every=True)}"
    return f"{actor}: {kind}"


def rule_words(rules: dict[str, Any], *, every: bool = False) -> str:
    """The rules set, in words: "quorum 0.75, voting days 10, signed votes on" (only those present)."""
    words = []
    if rules.get("quorum") is not None:
        words.append(f"quorum {rules['quorum']}")
    if rules.get("voting_days") is not None:
        words.append(f"voting days {rules['voting_days']}")
    # Every rule in force is shown; a rules_changed payload leaves signed_votes out while it is off
    # (events.payload's later defaults), so its absence there reads "off".
    if rules.get("signed_votes") is not None or every:
        words.append(f"signed votes {'on' if rules.get('signed_votes') else 'off'}")
    return ", ".join(words)


def _pledge(actor: str, item: dict[str, Any]) -> str:
    if item["kind"] == "none":
        whose = "their" if item["member"] == actor else f"{item['member']}'s"
        return f"{actor} ended {whose} pledge from {item['from_month']}"
    # Percentages always with two decimals, as `pledges` shows them ("10.00%").
    what = (
        f"{shown_percent(item['percent'])}% of their income"
        if item["kind"] == "percent"
        else f"{item['monthly']} a month"
    )
    if item["member"] == actor:
        return f"{actor} pledged {what} from {item['from_month']}"
    return f"{actor} set {item['member']}'s pledge to {what} from {item['from_month']}"


def _game(actor: str, item: dict[str, Any]) -> str:
    people = _names(item.get("participants") or [])
    match item["game"]:
        case "listening":
            return f"{actor} recorded a listening circle with {people}"
        case "money":
            return f"{actor} recorded a money talk: {item['asker']} asked, {_names(item['offered'])} offered"
        case "meeting":
            missed = f"; {_names(item['missed'])} missed it" if item.get("missed") else ""
            attended = f"{people} attended" if people else "nobody attended"
            return f"{actor} recorded a crew meeting: {attended}{missed}"
        case "conflict":
            ended = "resolved" if item.get("resolved") else "left without a resolution"
            return f"{actor} recorded a conflict between {people}, {ended}"
        case "co-own":
            return f"{actor} recorded that {people} now co-own an asset"
    return f"{actor} recorded a {item['game']} game"


def _names(names: list[str]) -> str:
    """`["Ana", "Bo", "Cy"]` as "Ana, Bo and Cy"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
