"""Money back and receipts on the web (SPEC §8): the refund API route and the receipt download."""

from __future__ import annotations

from pathlib import Path

from tests.web.conftest import Server
from tests.web.test_api import cli_ok, ok, refuses, stores_nothing

PDF = b"%PDF-1.4\n% receipt\n"


def paid_with_receipt(server: Server, tmp_path: Path) -> None:
    """Proposal 1 (60.00 to Bo) approved and paid with a PDF receipt, through the CLI."""
    cli_ok(server, "--as", "Bo", "propose", "60", "--purpose", "tickets", today="2026-01-02")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        cli_ok(server, "--as", name, "vote", "1", "agree", today="2026-01-02")
    receipt = tmp_path / "r.pdf"
    receipt.write_bytes(PDF)
    cli_ok(server, "--as", "Ana", "pay", "1", "--receipt", str(receipt), today="2026-01-03")


def test_a_treasurer_records_money_back_through_the_api(sqlite_server: Server, tmp_path: Path) -> None:
    paid_with_receipt(sqlite_server, tmp_path)
    ana, bo = sqlite_server.sign_in("Ana"), sqlite_server.sign_in("Bo")
    with stores_nothing(sqlite_server):
        refuses(bo.post("proposals/1/refunds", {"amount": "10", "reason": "x"}), 403, "only a treasurer")
        refuses(ana.post("proposals/1/refunds", {"amount": "60.01", "reason": "x"}), 409, "at most 60.00")
    done = ok(ana.post("proposals/1/refunds", {"amount": "15", "reason": "one ticket refunded"}), 201)
    assert set(done) == {"no"}
    assert ok(ana.get("balance"))["balance"] == "55.00"


def test_the_receipt_is_a_download_with_its_content_type(sqlite_server: Server, tmp_path: Path) -> None:
    paid_with_receipt(sqlite_server, tmp_path)
    cy = sqlite_server.sign_in("Cy")
    got = cy.get("proposals/1/receipt")
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    page = cy.http.get(f"/p/{cy.slug}/proposals/1/receipt")
    assert page.content == PDF
    refuses(cy.get("proposals/2/receipt"), 404, "no proposal 2")
