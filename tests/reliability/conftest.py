"""The reliability suite's shared pieces: both backends, the heavy switch, and the figures printed at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_store

# What the suite did, printed after the run: processes, events, crashes, tamperings…
FIGURES: dict[str, int] = {}


def count(figure: str, n: int = 1) -> None:
    FIGURES[figure] = FIGURES.get(figure, 0) + n


def heavy(config: pytest.Config | None = None) -> bool:
    """`--heavy` or POT_HEAVY=1: sizes beyond the issue's (e.g. a 50,000-row import killed ten times)."""
    if os.environ.get("POT_HEAVY", "") not in ("", "0"):
        return True
    return bool(config is not None and config.getoption("--heavy", default=False))


@pytest.fixture
def is_heavy(request: pytest.FixtureRequest) -> bool:
    return heavy(request.config)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store on a SQLite file, then on a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield str(tmp_path / "shared.sqlite")
    else:
        with postgres_store() as url:
            yield url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for figure, n in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{figure:<48} {n:>10,}")
