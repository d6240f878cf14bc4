from __future__ import annotations

from pathlib import Path

from tests.conftest import pot


def test_a_crew_can_open_a_pot_add_members_and_see_the_balance(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "25.00", "--on", "2026-01-05", "--note", "January").code == 0
    report = pot(crew, "balance", "--json").json()
    assert report["balance"] == "25.00"
    assert [m["name"] for m in report["members"]] == ["Ana", "Bo", "Cy", "Dee"]
    assert [m["share_pct"] for m in report["members"]] == ["0.00", "100.00", "0.00", "0.00"]
