"""Shared test helpers: run `pot` in-process, fingerprint a store, build a crew."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cli import main

TODAY = "2026-03-01"

# Every `pot` a test starts runs cold and starts no warm process (cli_warm): a test compares one path at a
# time, and no test leaves a process behind. tests/test_warm.py turns it on where it is what is tested.
os.environ["POT_WARM"] = "0"


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
    if "://" in str(db):
        return _postgres_fingerprint(str(db))
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


def _postgres_fingerprint(url: str) -> str:
    from sqlalchemy import text

    with postgres_engine_for(url) as engine, engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('commonpot_events')")).scalar() is None:
            return "no events table"
        rows = conn.execute(
            text(
                "SELECT originator_id, originator_version, topic, state FROM commonpot_events ORDER BY notification_id"
            )
        ).fetchall()
    h = hashlib.sha256()
    for row in rows:
        h.update(repr((str(row[0]), row[1], row[2], bytes(row[3]))).encode())
    return h.hexdigest()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--heavy", action="store_true", help="Run tests/reliability at sizes beyond the issue's.")


# --------------------------------------------------------------------------- PostgreSQL
# The project's machines run a server here (trust auth); elsewhere tests skip, or fail under CI.
POSTGRES_URL = os.environ.get("POT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@cache
def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    import psycopg

    from ledger.store import resolve

    env = resolve(POSTGRES_URL).es_env
    try:
        with psycopg.connect(
            dbname=env["POSTGRES_DBNAME"],
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
    except Exception as e:
        return f"no PostgreSQL at POT_TEST_POSTGRES_URL={POSTGRES_URL} ({str(e).strip().splitlines()[0]})"
    return None


def require_postgres() -> None:
    """Skip with the reason when no server is reachable; fail instead when POT_REQUIRE_POSTGRES is set (CI)."""
    reason = postgres_unreachable()
    if reason is None:
        return
    if os.environ.get("POT_REQUIRE_POSTGRES"):
        pytest.fail(f"POT_REQUIRE_POSTGRES is set but {reason}")
    pytest.skip(reason)


@contextmanager
def postgres_engine_for(url: str) -> Iterator[Any]:
    """A SQLAlchemy engine on a `pot` store URL, its search path set to the store's schema."""
    from ledger.store import postgres_engine, resolve

    engine = postgres_engine(resolve(url))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_store() -> Iterator[str]:
    """A `pot --db` URL on a fresh schema of the test server, dropped afterwards."""
    from sqlalchemy import text

    require_postgres()
    schema = f"pot_test_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}schema={schema}"
    try:
        yield url
    finally:
        with postgres_engine_for(POSTGRES_URL) as engine, engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a SQLite file and on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "crew.sqlite")
    else:
        with postgres_store() as url:
            yield url


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


def refused(db: Path | str, *args: str, code: int, says: str, today: str | None = TODAY) -> Result:
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
