"""Issue 18: every command that stores an event confirms it one way, `event N: …`, naming what changed.

Also: a proposal above what is available is accepted with a warning on stderr, and a
yen amount with decimals is told it needs none.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import pot, refused


def said(db: Path, *args: str, today: str = "2026-03-01") -> str:
    result = pot(db, *args, today=today)
    assert result.code == 0, result.err
    assert result.err == "", result.err
    return result.out


def test_every_storing_command_confirms_the_event_number_and_what_changed(db: Path) -> None:
    opened = said(db, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01")
    assert opened == "events 1-2: opened pot maastricht-crew (Maastricht crew, EUR) with treasurer Ana\n"
    lines = {
        "add": said(db, "--as", "Ana", "member", "add", "Bo"),
        "add treasurer": said(db, "--as", "Ana", "member", "add", "Cy", "--treasurer"),
        "role": said(db, "--as", "Ana", "member", "role", "cy", "member"),
        "own money": said(db, "--as", "Ana", "contribute", "Ana", "50", "--note", "March"),
        "money": said(db, "--as", "Ana", "contribute", "Bo", "20"),
        "reverse": said(db, "--as", "Ana", "reverse", "7", "--reason", "twice"),
        "percent": said(db, "--as", "Bo", "pledge", "Bo", "--percent", "10"),
        "monthly": said(db, "--as", "Ana", "pledge", "Bo", "--monthly", "5"),
        "propose": said(db, "--as", "Bo", "propose", "20", "--purpose", "tea", "--to", "cy"),
        "vote": said(db, "--as", "Ana", "vote", "1", "agree"),
        "decide": (said(db, "--as", "Bo", "vote", "1", "agree"), said(db, "--as", "Cy", "vote", "1", "agree"))[1],
        "pay": said(db, "--as", "Ana", "pay", "1"),
        "game": said(db, "--as", "Ana", "game", "listening", "--with", "ana,BO"),
        "reflect": said(db, "--as", "Bo", "reflect", "16", "--feeling", "relieved"),
        "leave": said(db, "--as", "Bo", "member", "remove", "Bo"),
    }
    for what, line in lines.items():
        assert re.fullmatch(r"event \d+: .+\n", line), (what, line)
    assert lines["add"] == "event 3: Ana added Bo\n"
    assert lines["add treasurer"] == "event 4: Ana added Cy as treasurer\n"
    assert lines["role"] == "event 5: Ana made Cy a member\n"
    assert lines["own money"] == "event 6: Ana recorded 50.00 EUR from Ana (March)\n"
    assert lines["money"] == "event 7: Ana recorded 20.00 EUR from Bo\n"
    assert lines["reverse"] == "event 8: Ana reversed contribution 7 (20.00 EUR from Bo): twice\n"
    assert lines["percent"] == "event 9: Bo pledged 10.00% of their income from 2026-03\n"
    assert lines["monthly"] == "event 10: Ana set Bo's pledge to 5.00 EUR a month from 2026-03\n"
    assert lines["propose"] == "event 11: Bo proposed 20.00 EUR to Cy for tea (proposal 1)\n"
    assert lines["vote"] == "event 12: Ana voted agree on proposal 1\n"
    assert lines["decide"] == (
        "event 14: Cy voted agree on proposal 1; "
        "event 15: proposal 1 approved (3 agree, 0 abstain, 0 disagree, 0 block)\n"
    )
    assert lines["pay"] == "event 16: Ana paid 20.00 EUR to Cy (proposal 1)\n"
    assert lines["game"] == "event 17: Ana recorded a listening circle with Ana and Bo\n"
    assert lines["reflect"] == "event 18: Bo reflected on event 16: relieved\n"
    assert lines["leave"] == "event 19: Bo left the crew\n"


def test_cancelling_an_approved_proposal_says_what_it_released(db: Path) -> None:
    said(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01")
    said(db, "--as", "Ana", "contribute", "Ana", "30")
    said(db, "--as", "Ana", "propose", "20", "--purpose", "tea")
    said(db, "--as", "Ana", "vote", "1", "agree")
    assert said(db, "--as", "Ana", "cancel", "1") == (
        "event 7: Ana cancelled proposal 1; 20.00 EUR no longer reserved\n"
    )


def test_a_proposal_above_what_is_available_is_accepted_with_a_warning_on_stderr(db: Path) -> None:
    said(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01")
    said(db, "--as", "Ana", "contribute", "Ana", "382.50")
    result = pot(db, "--as", "Ana", "propose", "5000", "--purpose", "a van")
    assert result.code == 0
    assert result.out == "event 4: Ana proposed 5000.00 EUR for a van (proposal 1)\n"
    assert result.err == (
        "warning: 5000.00 EUR is more than the 382.50 EUR available now; it can be paid only once the pot holds it\n"
    )
    # Within what is available: no warning.
    assert pot(db, "--as", "Ana", "propose", "382.50", "--purpose", "tea").err == ""


def test_a_yen_amount_with_decimals_is_told_yen_has_none(db: Path) -> None:
    said(db, "init", "Tokyo crew", "--currency", "JPY", "--as", "Ana", today="2026-01-01")
    refused(db, "--as", "Ana", "contribute", "Ana", "100.5", code=2, says="this currency has no decimals")
    assert "more than 0" not in pot(db, "--as", "Ana", "contribute", "Ana", "100.5").err
