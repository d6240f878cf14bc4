"""The CSV audit export: the pot's audit trail as a spreadsheet, one row per event with a running balance."""

from __future__ import annotations

import csv
from typing import TextIO

from domain import chain
from domain.values import format_amount
from ledger.app import Ledger
from ledger.fileio import Exported
from projections.describe import describe
from projections.models import PotInfo
from projections.queries import history_items

# Spreadsheets run cells starting with these as formulas; text cells get a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(ledger: Ledger, info: PotInfo, out: TextIO) -> Exported:
    """The audit trail with a header; amounts are decimal strings, `change` signed, `balance` running."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["no", "on", "at", "type", "actor", "member", "amount", "change", "balance", "currency", "what", "digest"]
    )
    count, running, digest = 0, 0, chain.GENESIS
    with ledger.read() as conn:
        for item, delta in history_items(conn, info):
            running += delta
            member = item.get("member")
            writer.writerow(
                [
                    item["no"],
                    item["on"],
                    item["at"],
                    item["type"],
                    _cell(item["actor"]),
                    _cell(member) if isinstance(member, str) else "",
                    item.get("amount") or "",
                    format_amount(delta, info.digits) if delta else "",
                    format_amount(running, info.digits),
                    info.currency,
                    _cell(describe(item)),
                    item["digest"],
                ]
            )
            count, digest = count + 1, item["digest"]
    return Exported(count, digest[: chain.SHORT])
