"""Issue 18, defect 3: a new member's name holds no comma, since commands list members as A,B.

A history an older `pot` recorded keeps the names it let in: its import still works.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import fingerprint, pot, refused
from tests.test_interchange import export, forged


@pytest.mark.parametrize("name", ["Bo,Cy", "Bo, Jr.", ",Bo"])
def test_a_comma_in_a_new_member_name_is_refused_and_stores_nothing(crew: Path, name: str) -> None:
    refused(crew, "--as", "Ana", "member", "add", name, code=2, says="contains a comma")


def test_a_comma_in_the_openers_name_is_refused(db: Path) -> None:
    result = pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana,Bo")
    assert result.code == 2
    assert "contains a comma" in result.err
    assert fingerprint(db) in {"no store", hashlib.sha256().hexdigest()}


def test_a_history_holding_a_name_with_a_comma_still_imports(crew: Path, tmp_path: Path) -> None:
    assert pot(crew, "--as", "Ana", "member", "add", "Zed").code == 0  # event 6, named nowhere else
    older = forged(export(crew, "jsonl", tmp_path / "pot.jsonl"), {6: {"fields.member": "Zed, Jr."}})
    fresh = tmp_path / "fresh.sqlite"
    result = pot(fresh, "import", "--format", "jsonl", str(older))
    assert result.code == 0, result.err
    names = [m["name"] for m in pot(fresh, "members", "--json").json()]
    assert names == ["Ana", "Bo", "Cy", "Dee", "Zed, Jr."]
    assert pot(fresh, "verify").code == 0
