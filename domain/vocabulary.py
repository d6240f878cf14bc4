"""The pot's words, in the SPEC's spelling: event types and their plain words, roles, positions, statuses.

Everything else takes them from here: `domain.events` gives each event class its
`TYPE` and `WORD`, and the read side names types in its SQL without loading the
event classes (and pydantic with them), so a quick read stays quick (issue 22).
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["member", "treasurer"]
ROLES: tuple[Role, ...] = get_args(Role)
Position = Literal["agree", "abstain", "disagree", "block"]
Outcome = Literal["approved", "rejected"]
# Where a proposal stands (SPEC §4 `proposals --status`): open, then decided, then perhaps paid.
Status = Literal["open", "approved", "rejected", "cancelled", "paid"]
# The same words as tuples, in the SPEC's order, for choices, loops and SQL.
POSITIONS: tuple[Position, ...] = get_args(Position)
STATUSES: tuple[Status, ...] = get_args(Status)

# The SPEC's name of each kind of event (`history --type`, JSON `type`).
POT_OPENED = "pot_opened"
MEMBER_JOINED = "member_joined"
MEMBER_LEFT = "member_left"
ROLE_CHANGED = "role_changed"
CONTRIBUTION_RECORDED = "contribution_recorded"
CONTRIBUTION_REVERSED = "contribution_reversed"
WITHDRAWAL_PROPOSED = "withdrawal_proposed"
VOTE_CAST = "vote_cast"
PROPOSAL_DECIDED = "proposal_decided"
PROPOSAL_CANCELLED = "proposal_cancelled"
WITHDRAWAL_PAID = "withdrawal_paid"
PLEDGE_SET = "pledge_set"
GAME_PLAYED = "game_played"
REFLECTION_NOTED = "reflection_noted"
MEMBER_KEY_ADDED = "member_key_added"
MEMBER_KEY_REVOKED = "member_key_revoked"
WITHDRAWAL_REFUNDED = "withdrawal_refunded"
RULE_CHANGE_PROPOSED = "rule_change_proposed"
RULES_CHANGED = "rules_changed"

# The plain word people read for each type in `history`, `replay`, `triggers` and the report
# ("contribution", not "contribution_recorded"); `history --type` takes either. A key's
# registration and revocation have none: they show by their type.
WORDS: dict[str, str] = {
    POT_OPENED: "pot opened",
    MEMBER_JOINED: "member joined",
    MEMBER_LEFT: "member left",
    ROLE_CHANGED: "role change",
    CONTRIBUTION_RECORDED: "contribution",
    CONTRIBUTION_REVERSED: "reversal",
    WITHDRAWAL_PROPOSED: "proposal",
    VOTE_CAST: "vote",
    PROPOSAL_DECIDED: "decision",
    PROPOSAL_CANCELLED: "cancellation",
    WITHDRAWAL_PAID: "payout",
    PLEDGE_SET: "pledge",
    GAME_PLAYED: "game",
    REFLECTION_NOTED: "reflection",
    MEMBER_KEY_ADDED: "",
    MEMBER_KEY_REVOKED: "",
    WITHDRAWAL_REFUNDED: "money back",
    RULE_CHANGE_PROPOSED: "rule change proposal",
    RULES_CHANGED: "rules change",
}
TYPES_BY_WORD: dict[str, str] = {word: name for name, word in WORDS.items()}

# The events that move money into or out of the pot: a view of money sums exactly these.
CONTRIBUTION_TYPES = (CONTRIBUTION_RECORDED, CONTRIBUTION_REVERSED)
# Money of a payout that came back (SPEC §8) sums with the payouts, so `paid_out` and `received` are net.
PAYOUT_TYPES = (WITHDRAWAL_PAID, WITHDRAWAL_REFUNDED)
MONEY_TYPES = (*CONTRIBUTION_TYPES, *PAYOUT_TYPES)


def plain_word(type_: str) -> str:
    """The plain word people read for a SPEC event type; an unknown type as it is."""
    return WORDS.get(type_, type_)


def type_named(word: str) -> str | None:
    """The SPEC type a person means by `word`: the type itself or its plain word (any case), else None."""
    key = word.strip().lower()
    if key in WORDS:
        return key
    return TYPES_BY_WORD.get(" ".join(key.replace("_", " ").split()))
