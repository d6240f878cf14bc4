"""Shared test helpers: run `pot` in-process, fingerprint a store, build a crew."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main

TODAY = "2026-03-01"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def pot(db: Path | str, *args: str, today: str | None = TODAY, input: str | None = None) -> Result:
    """Run `pot --db DB [--today T] ARGS…` in-process and capture its streams."""
    runner = CliRunner()
    prefix = ["--db", str(db)] + (["--today", today] if today else [])
    result = runner.invoke(main, [*prefix, *args], input=input, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def fingerprint(db: Path | str) -> str:
    """SHA-256 over every stored event row: equal before and after means nothing was stored."""
    path = Path(db)
    if not path.exists():
        return "no store"
    with sqlite3.connect(path) as conn:
        try:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
            ).fetchall()
        except sqlite3.OperationalError:
            return "no events table"
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(row).encode())
    return h.hexdigest()


def head(db: Path | str) -> str:
    """The pot's head digest as `pot verify --json` reports it."""
    return str(pot(db, "verify", "--json").json()["head"])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "crew.sqlite"


@pytest.fixture
def crew(db: Path) -> Path:
    """A pot 'maastricht-crew' in EUR: Ana (treasurer), Bo, Cy, Dee; nothing contributed."""
    assert pot(db, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01").code == 0
    for name in ("Bo", "Cy", "Dee"):
        assert pot(db, "--as", "Ana", "member", "add", name, today="2026-01-01").code == 0
    return db


def refused(db: Path, *args: str, code: int, says: str, today: str | None = TODAY) -> Result:
    """Run a command that must fail: exit `code`, one `error:` line containing `says`, store unchanged."""
    before = fingerprint(db)
    result = pot(db, *args, today=today)
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    assert says.lower() in lines[0].lower(), lines[0]
    assert result.out == ""
    assert fingerprint(db) == before, "a refused command changed the store"
    return result


Pot = Callable[..., Result]
