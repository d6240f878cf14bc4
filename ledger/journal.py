"""The hledger journal export: the pot's money movements as double-entry transactions.

One transaction per contribution, reversal and payout, by value date, with
account names hledger reads as plain names whatever a member is called.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, TextIO

from domain import chain
from domain.events import ContributionRecorded, ContributionReversed, WithdrawalPaid, WithdrawalProposed
from domain.values import format_amount
from domain.vocabulary import MONEY_TYPES, PAYOUT_TYPES, WITHDRAWAL_REFUNDED
from ledger.app import Ledger
from ledger.fileio import Exported
from projections.models import PotInfo
from projections.queries import history_items

# Characters that hledger reads as syntax inside a posting (subaccounts, comments,
# virtual postings, prices, assertions, status marks): they become spaces.
_ACCOUNT_SYNTAX = re.compile(r"[:;()\[\]{}#@=*!|\"]")


def _plain(text: str) -> str:
    """One line of single-spaced text without control characters."""
    return " ".join("".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text).split())


def account_name(text: str) -> str:
    """A readable hledger account-name component for a member or recipient."""
    return " ".join(_ACCOUNT_SYNTAX.sub(" ", _plain(text)).split()) or "unnamed"


class _Accounts:
    """One account-name component per distinct name in a journal, first come in history order.

    `account_name` drops hledger's syntax, so "Kim*" and "Kim" would both become
    `Kim` and hledger would add their money up as one person's. The first of them
    (in event order, which never changes once written) keeps the plain name; each
    later one gets the next free " 2", " 3"…, announced in a comment beside its
    account declaration, so a re-export of a grown pot names everyone as before.
    """

    def __init__(self) -> None:
        self.of: dict[str, str] = {}
        self.notes: dict[str, str] = {}
        self._taken: set[str] = set()

    def add(self, name: str) -> None:
        if name in self.of:
            return
        found = plain = account_name(name)
        n = 1
        while found in self._taken:
            n += 1
            found = f"{plain} {n}"
        if n > 1:
            self.notes[found] = f"; account {found} is {_plain(name)!r}: {plain} is taken by another name"
        self.of[name] = found
        self._taken.add(found)


def _description(text: str) -> str:
    # `;` would start a comment and `|` split payee from note.
    return _plain(text).replace(";", ",").replace("|", "/")


INCOME, EXPENSES = "income:contributions", "expenses:withdrawals"


def _accounts(item: dict[str, Any], accounts: _Accounts) -> tuple[str, str, str, str]:
    """A money event's description, comment, debit and credit accounts."""
    kind = item["type"]
    if kind == ContributionRecorded.TYPE:
        member = accounts.of[item["member"]]
        return f"contribution from {item['member']}", item.get("note") or "", "assets:pot", f"{INCOME}:{member}"
    if kind == ContributionReversed.TYPE:
        member = accounts.of[item["member"]]
        head = f"reversal of contribution {item['contribution_no']} from {item['member']}"
        return head, item["reason"], f"{INCOME}:{member}", "assets:pot"
    if kind == WITHDRAWAL_REFUNDED:
        # Money back (SPEC §8) undoes part of the withdrawal's expense; the payout's transaction stays.
        head = f"money back of proposal {item['proposal_no']} from {item['recipient']}"
        return head, item["reason"], "assets:pot", f"{EXPENSES}:{accounts.of[item['recipient']]}"
    head = f"payout of proposal {item['proposal_no']} to {item['recipient']}"
    return head, "", f"{EXPENSES}:{accounts.of[item['recipient']]}", "assets:pot"


def export_journal(ledger: Ledger, info: PotInfo, out: TextIO) -> Exported:
    """An hledger journal, strict-clean (`hledger check -s ordereddates`): every account and the
    commodity declared, then one transaction per contribution, reversal and payout by value date."""
    # A payout's purpose is told by the proposal it pays, which moves no money itself.
    money_types = (*MONEY_TYPES, WithdrawalProposed.TYPE)
    cur = info.currency
    # A commodity directive with an explicit decimal mark, so `1.500 BHD` is never read as 1500.
    style = format_amount(1000 * 10**info.digits, info.digits) + ("" if info.digits else ".")
    out.write(
        f"; commonpot pot {info.slug} ({_plain(info.name)}) in {cur}, head digest {info.head[: chain.SHORT]}\n"
        f"; accounts: assets:pot, {INCOME}:MEMBER, {EXPENSES}:RECIPIENT\n"
        f"decimal-mark .\ncommodity {style} {cur}\n"
    )
    purposes: dict[int, str] = {}
    accounts = _Accounts()
    used: dict[str, None] = {"assets:pot": None}  # every account, in the order first used
    count, last_no, digest = 0, 0, chain.GENESIS
    with ledger.read() as conn:
        # First in event order, so account names never change as the pot grows.
        for item, _delta in history_items(conn, info, types=money_types):
            if item["type"] == WithdrawalProposed.TYPE:
                purposes[int(item["proposal_no"])] = item["purpose"]
                continue
            paid = item["type"] in PAYOUT_TYPES
            accounts.add(item["recipient"] if paid else item["member"])
            _head, _comment, debit, credit = _accounts(item, accounts)
            used.update({debit: None, credit: None})
        out.write("\n")
        for account in used:
            note = accounts.notes.pop(account.rpartition(":")[2], None)  # once, before its first use
            out.write(f"{note}\n" if note else "")
            out.write(f"account {account}\n")
        # Then the transactions by value date, stable by event number (hledger's ordereddates).
        for item, _delta in history_items(conn, info, types=MONEY_TYPES, by_value_date=True):
            head, comment, debit, credit = _accounts(item, accounts)
            if item["type"] == WithdrawalPaid.TYPE:
                comment = purposes.get(int(item["proposal_no"]), "")
            amount = f"{item['amount']} {cur}"
            note = f"  ; {_plain(comment)}" if _plain(comment) else ""
            on, no = item["on"], item["no"]
            out.write(f"\n{on} ({no}) {_description(head)}{note}\n    {debit}  {amount}\n    {credit}  -{amount}\n")
            count += 1
            if no > last_no:  # the newest event exported, whatever its value date
                last_no, digest = no, item["digest"]
    return Exported(count, digest[: chain.SHORT])
