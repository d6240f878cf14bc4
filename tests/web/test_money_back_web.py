"""Money back and receipts on the web (SPEC §8): the refund API route and the receipt download."""

from __future__ import annotations

from pathlib import Path

from ledger.receipts import MAX_RECEIPT_BYTES
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


def approved(server: Server) -> None:
    cli_ok(server, "--as", "Bo", "propose", "60", "--purpose", "tickets", today="2026-01-02")
    for name in ("Ana", "Bo", "Cy", "Dee"):
        cli_ok(server, "--as", name, "vote", "1", "agree", today="2026-01-02")


def test_the_api_pays_with_a_receipt_and_refuses_what_is_not_one(sqlite_server: Server) -> None:
    approved(sqlite_server)
    ana = sqlite_server.sign_in("Ana")
    url = ana.api("proposals/1/pay-with-receipt")
    headers = {"X-CSRF-Token": ana.csrf}
    with stores_nothing(sqlite_server):
        fake = ana.http.post(url, files={"receipt": ("r.pdf", b"plain text\n", "application/pdf")}, headers=headers)
        refuses(fake, 422, "not a PDF, PNG or JPEG")
        big = PDF + b"\0" * (MAX_RECEIPT_BYTES + 1 - len(PDF))
        refuses(ana.http.post(url, files={"receipt": ("r.pdf", big)}, headers=headers), 422, "at most 10 MB")
        refuses(ana.http.post(url, files={"receipt": ("r.pdf", PDF)}), 403, "CSRF")
    done = ok(ana.http.post(url, files={"receipt": ("r.pdf", PDF)}, headers=headers))
    assert done["status"] == "paid"
    assert ana.get("proposals/1/receipt").content == PDF


def test_the_proposal_page_pays_with_a_receipt_links_it_and_records_money_back(sqlite_server: Server) -> None:
    approved(sqlite_server)
    ana = sqlite_server.sign_in("Ana")
    page = ana.http.get(f"/p/{ana.slug}/proposals/1")
    assert 'enctype="multipart/form-data"' in page.text
    assert 'type="file"' in page.text
    paid = ana.http.post(
        f"/p/{ana.slug}/proposals/1/pay-with-receipt",
        data={"csrf_token": ana.csrf},
        files={"receipt": ("receipt.pdf", PDF, "application/pdf")},
    )
    assert paid.status_code == 303, paid.text
    page = ana.http.get(f"/p/{ana.slug}/proposals/1")
    assert f'href="/p/{ana.slug}/proposals/1/receipt"' in page.text
    assert "Record money back" in page.text
    with stores_nothing(sqlite_server):
        over = ana.http.post(
            f"/p/{ana.slug}/proposals/1/refunds", data={"csrf_token": ana.csrf, "amount": "61", "reason": "x"}
        )
        assert over.status_code == 409
        assert "at most 60.00 can come back" in over.text
    back = ana.http.post(
        f"/p/{ana.slug}/proposals/1/refunds", data={"csrf_token": ana.csrf, "amount": "10", "reason": "one ticket"}
    )
    assert back.status_code == 303, back.text
    assert "Money back so far: <strong>10.00 EUR" in ana.http.get(f"/p/{ana.slug}/proposals/1").text
    # A member sees the receipt link, not the treasurer's form.
    bo_page = sqlite_server.sign_in("Bo").http.get(f"/p/{ana.slug}/proposals/1")
    assert "Download the receipt" in bo_page.text
    assert "Record money back" not in bo_page.text
