"""The hledger journal export: the pot's money movements as double-entry transactions.

One transaction per contribution, reversal and payout, by value date, with
account names hledger reads as plain names whatever a member is called.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TextIO

from domain import chain
from domain.events import ContributionRecorded, ContributionReversed, WithdrawalProposed
from domain.values import format_amount
from ledger.app import Ledger
from ledger.fileio import Exported
from projections.models import PotInfo
from projections.queries import MONEY_TYPES, history_items

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
    later one gets the next free " 2", " 3"…, announced in a comment where it first
    appears, so a re-export of a grown pot names everyone as before.
    """

    def __init__(self) -> None:
        self._of: dict[str, str] = {}
        self._taken: set[str] = set()

    def __call__(self, name: str, out: TextIO) -> str:
        found = self._of.get(name)
        if found is None:
            found = plain = account_name(name)
            n = 1
            while found in self._taken:
                n += 1
                found = f"{plain} {n}"
            if n > 1:
                out.write(f"\n; account {found} is {_plain(name)!r}: {plain} is taken by another name\n")
            self._of[name] = found
            self._taken.add(found)
        return found


def _description(text: str) -> str:
    # `;` would start a comment and `|` split payee from note.
    return _plain(text).replace(";", ",").replace("|", "/")


def export_journal(ledger: Ledger, info: PotInfo, out: TextIO) -> Exported:
    """An hledger journal: one transaction per contribution, reversal and payout, by value date."""
    # A payout's purpose is told by the proposal it pays, which moves no money itself.
    money_types = (*MONEY_TYPES, WithdrawalProposed.TYPE)
    cur = info.currency
    # A commodity directive with an explicit decimal mark, so `1.500 BHD` is never read as 1500.
    style = format_amount(1000 * 10**info.digits, info.digits) + ("" if info.digits else ".")
    out.write(
        f"; commonpot pot {info.slug} ({_plain(info.name)}) in {cur}, head digest {info.head[: chain.SHORT]}\n"
        f"; accounts: assets:pot, income:contributions:MEMBER, expenses:withdrawals:RECIPIENT\n"
        f"decimal-mark .\ncommodity {style} {cur}\n"
    )
    purposes: dict[int, str] = {}
    accounts = _Accounts()
    count, digest = 0, chain.GENESIS
    with ledger.read() as conn:
        for item, _delta in history_items(conn, info, types=money_types):
            kind, no, on = item["type"], item["no"], item["on"]
            amount = f"{item['amount']} {cur}"
            if kind == WithdrawalProposed.TYPE:
                purposes[int(item["proposal_no"])] = item["purpose"]
                continue
            if kind == ContributionRecorded.TYPE:
                head = f"contribution from {item['member']}"
                comment = item.get("note") or ""
                debit, credit = "assets:pot", f"income:contributions:{accounts(item['member'], out)}"
            elif kind == ContributionReversed.TYPE:
                head = f"reversal of contribution {item['contribution_no']} from {item['member']}"
                comment = item["reason"]
                debit, credit = f"income:contributions:{accounts(item['member'], out)}", "assets:pot"
            else:
                proposal_no = int(item["proposal_no"])
                head = f"payout of proposal {proposal_no} to {item['recipient']}"
                comment = purposes.get(proposal_no, "")
                debit, credit = f"expenses:withdrawals:{accounts(item['recipient'], out)}", "assets:pot"
            note = f"  ; {_plain(comment)}" if _plain(comment) else ""
            out.write(f"\n{on} ({no}) {_description(head)}{note}\n    {debit}  {amount}\n    {credit}  -{amount}\n")
            count, digest = count + 1, item["digest"]
    return Exported(count, digest[: chain.SHORT])
