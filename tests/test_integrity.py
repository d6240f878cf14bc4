"""The hash chain and `pot verify`: tampering with stored rows is caught and named."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.integrity import DigestCheck
from tests.conftest import pot, refused


@pytest.fixture
def history(crew: Path) -> Path:
    """Ten events: the crew (5), four contributions, a reversal."""
    for member, amount in (("Ana", "10"), ("Bo", "20"), ("Cy", "30"), ("Dee", "40")):
        assert pot(crew, "--as", "Ana", "contribute", member, amount).code == 0
    assert pot(crew, "--as", "Ana", "reverse", "7", "--reason", "typo").code == 0
    return crew


def tamper(db: Path, sql: str, *params: object) -> None:
    """Edit the store behind the ledger's back, as someone with the file could."""
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER IF EXISTS stored_events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS stored_events_no_delete")
        conn.execute(sql, params)


def test_verify_passes_on_an_untouched_history_and_prints_the_head(history: Path) -> None:
    result = pot(history, "verify", "--json")
    assert result.code == 0
    report = result.json()
    assert report["ok"] is True
    assert report["events"] == 10
    assert report["first_bad"] is None
    assert len(report["head"]) == 16


def test_changing_an_amount_in_a_stored_event_is_named(history: Path) -> None:
    tamper(
        history,
        "UPDATE stored_events SET state = replace(state, '\"amount_minor\":2000', '\"amount_minor\":9000') "
        "WHERE originator_version = 7",
    )
    result = pot(history, "verify", "--json")
    assert result.code == 1
    assert result.json()["ok"] is False
    assert result.json()["first_bad"] == 7
    assert result.err.startswith("error: verify failed")


def test_a_byte_that_breaks_the_payload_is_named(history: Path) -> None:
    tamper(history, "UPDATE stored_events SET state = substr(state, 2) WHERE originator_version = 8")
    result = pot(history, "verify", "--json")
    assert result.code == 1
    assert result.json()["first_bad"] == 8


def test_deleting_a_middle_event_is_named(history: Path) -> None:
    tamper(history, "DELETE FROM stored_events WHERE originator_version = 6")
    report = pot(history, "verify", "--json").json()
    assert (report["ok"], report["first_bad"]) == (False, 6)


def test_deleting_the_last_event_is_named(history: Path) -> None:
    tamper(history, "DELETE FROM stored_events WHERE originator_version = 10")
    report = pot(history, "verify", "--json").json()
    assert (report["ok"], report["first_bad"]) == (False, 10)


def test_swapping_two_payloads_is_named(history: Path) -> None:
    with sqlite3.connect(history) as conn:
        a, b = (
            conn.execute("SELECT state FROM stored_events WHERE originator_version = ?", (v,)).fetchone()[0]
            for v in (6, 9)
        )
    tamper(history, "UPDATE stored_events SET state = ? WHERE originator_version = 6", b)
    tamper(history, "UPDATE stored_events SET state = ? WHERE originator_version = 9", a)
    report = pot(history, "verify", "--json").json()
    assert (report["ok"], report["first_bad"]) == (False, 6)


def test_the_store_is_append_only_from_sql(history: Path) -> None:
    with sqlite3.connect(history) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE stored_events SET topic = 'x' WHERE originator_version = 6")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM stored_events WHERE originator_version = 6")


def test_a_written_down_digest_proves_the_history_up_to_it(history: Path) -> None:
    written = pot(history, "verify", "--json").json()["head"]
    pot(history, "--as", "Ana", "contribute", "Bo", "5")
    assert pot(history, "verify", "--digest", written).code == 0
    assert "unchanged" in pot(history, "verify", "--digest", written).out
    result = pot(history, "verify", "--digest", "00000000deadbeef")
    assert result.code == 1
    assert "has changed" in result.err


def test_a_digest_check_vouches_only_for_a_history_that_holds_the_digest() -> None:
    """The one check behind `verify --digest` (the store) and `verify --file --digest` (an export)."""
    digests = ["3f9a0c1e5b7d2a4f" + "0" * 48, "a1b2c3d4e5f60718" + "1" * 48]
    assert DigestCheck(None).problem("history") is None
    found = DigestCheck(" A1B2C3D4E5F6 ")
    for digest in digests:
        found.see(digest)
    assert found.problem("file") is None
    missing = DigestCheck("deadbeefdead")
    for digest in digests:
        missing.see(digest)
    assert missing.problem("file") == (
        "no event in this file has digest deadbeefdead: check it for a typo;"
        " if it is exactly what was written down, the history up to it has changed"
    )
    typo = DigestCheck("a1b2c3d4e5f6ffff")  # the first 12 characters of event 2's, then a slip
    for digest in digests:
        typo.see(digest)
    assert typo.problem("history") == (
        "digest a1b2c3d4e5f6ffff matches event 2's only in its first 12 characters: check the rest for a typo;"
        " if it is exactly what was written down, the history up to it has changed"
    )
    short = DigestCheck("3f9a")
    short.see(digests[0])
    assert short.problem("history") == "give at least 12 characters of the digest"


def test_a_view_that_drifted_from_the_log_fails_verify_until_rebuilt(history: Path) -> None:
    with sqlite3.connect(history) as conn:
        conn.execute("UPDATE cp_pots SET balance = balance + 1")
    result = pot(history, "verify")
    assert result.code == 1
    assert "cp_pots" in result.err
    assert pot(history, "rebuild").code == 0
    assert pot(history, "verify").code == 0


def test_digests_are_printed_in_history(history: Path) -> None:
    items = pot(history, "history", "--json").json()
    head = pot(history, "verify", "--json").json()["head"]
    assert items[-1]["digest"].startswith(head)
    assert len({i["digest"] for i in items}) == len(items)


@pytest.mark.parametrize(
    ("digest", "says"),
    [
        ("abc", "at least 12 hex characters"),
        ("0000000", "at least 12 hex characters"),
        # 8 characters (32 bits) were enough once; a forger could find a history that starts the same way.
        ("3f9a0c1e", "at least 12 hex characters"),
        ("zzzzzzzzzzzz", "not a digest"),
        ("3f9a 0c1e5b7d", "not a digest"),
        ("", "not a digest"),
        ("0" * 65, "at most 64"),
    ],
)
def test_a_malformed_digest_is_bad_input_not_a_failed_verify(
    history: Path, tmp_path: Path, digest: str, says: str
) -> None:
    exported = tmp_path / "pot.jsonl"
    assert pot(history, "export", "-o", str(exported)).code == 0
    refused(history, "verify", "--digest", digest, code=2, says=says)
    refused(history, "verify", "--file", str(exported), "--digest", digest, code=2, says=says)
    # Checked before anything else: even with no store at all, the digest is what is wrong.
    refused(tmp_path / "absent.sqlite", "verify", "--digest", digest, code=2, says=says)


def test_a_digest_written_in_capitals_or_with_spaces_around_still_proves(history: Path, tmp_path: Path) -> None:
    written = pot(history, "verify", "--json").json()["head"]
    exported = tmp_path / "pot.jsonl"
    assert pot(history, "export", "-o", str(exported)).code == 0
    for given in (written.upper(), f" {written[:12]} "):
        assert pot(history, "verify", "--digest", given).code == 0
        assert pot(history, "verify", "--file", str(exported), "--digest", given).code == 0


def test_rebuild_refuses_to_hide_a_changed_newest_event(history: Path) -> None:
    # The newest event has no successor whose `prev` vouches for it: only the head
    # digest the views recorded does, and a rebuild would overwrite that.
    tamper(
        history,
        'UPDATE stored_events SET state = replace(state, \'"reason":"typo"\', \'"reason":"gift"\') '
        "WHERE originator_version = 10",
    )
    assert pot(history, "verify", "--json").json()["first_bad"] == 10
    refused(history, "rebuild", code=1, says="event 10 differs from when it was recorded")
    assert pot(history, "verify", "--json").json()["first_bad"] == 10  # the evidence is still there

    forced = pot(history, "rebuild", "--force")
    assert forced.code == 0, forced.err
    # What --force means: the views now agree with the log as it is.
    assert pot(history, "verify").code == 0


def test_rebuild_refuses_when_the_newest_event_is_gone(history: Path) -> None:
    tamper(history, "DELETE FROM stored_events WHERE originator_version = 10")
    refused(history, "rebuild", code=1, says="event 10 is missing from the store")


def test_rebuild_mends_edited_views_over_an_untouched_log(history: Path) -> None:
    with sqlite3.connect(history) as conn:
        conn.execute("UPDATE cp_members SET contributed = 0")
    assert "run `pot rebuild`" in pot(history, "verify").err
    assert pot(history, "rebuild").code == 0
    assert pot(history, "verify").code == 0
