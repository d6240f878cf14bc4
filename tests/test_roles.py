"""PostgreSQL roles (issue 23, finding 3): the role `pot` signs in as cannot change or unguard what is stored.

Before `pot db setup`, a shared role owns the tables and switches the append-only
triggers off with one ALTER TABLE. After it, an owner role owns them and the
writer role that `pot` uses can add and read, run every command, and nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ledger.app import PotApplication
from tests.conftest import POSTGRES_URL, fingerprint, head, postgres_engine_for, postgres_store, pot, refused

EVENTS, SNAPSHOTS = "commonpot_events", "commonpot_snapshots"
# What the writer must never get to do to the events and snapshots tables.
FORBIDDEN = (
    "UPDATE {table} SET topic = topic",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "ALTER TABLE {table} DISABLE TRIGGER USER",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} ADD COLUMN forged text",
    "DROP TRIGGER {table}_no_update_delete ON {table}",
    "DROP TABLE {table}",
    "CREATE OR REPLACE FUNCTION pot_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "CREATE TABLE sneaky (x int)",
)


@dataclass
class Roles:
    admin: str  # the store's URL as the administrator (the test server's superuser)
    owner: str
    writer: str

    def url(self, role: str) -> str:
        return make_url(self.admin).set(username=role).render_as_string(hide_password=False)

    @property
    def as_writer(self) -> str:
        return self.url(self.writer)


def _admin_sql(*statements: str) -> None:
    with postgres_engine_for(POSTGRES_URL) as engine, engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


@pytest.fixture
def roles() -> Iterator[Roles]:
    """A fresh schema and two role names of its own (roles belong to the whole server: dropped afterwards)."""
    tag = uuid.uuid4().hex[:8]
    owner, writer = f"pot_test_owner_{tag}", f"pot_test_writer_{tag}"
    with postgres_store() as url:
        try:
            yield Roles(url, owner, writer)
        finally:
            for role in (writer, owner):
                exists = f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'"
                with postgres_engine_for(POSTGRES_URL) as engine, engine.begin() as conn:
                    if conn.execute(text(exists)).first():
                        conn.execute(text(f"DROP OWNED BY {role} CASCADE"))
                        conn.execute(text(f"DROP ROLE {role}"))


def setup(r: Roles, *extra: str) -> str:
    result = pot(r.admin, "db", "setup", "--writer", r.writer, "--owner", r.owner, "--no-password", *extra)
    assert result.code == 0, result.err
    return result.out


def try_as(url: str, statement: str) -> str | None:
    """Run one statement as the URL's role; the database's refusal, or None if it was allowed (rolled back)."""
    with postgres_engine_for(url) as engine, engine.connect() as conn:
        try:
            conn.execute(text(statement))
        except DBAPIError as e:
            return str(e.orig)
        finally:
            conn.rollback()
    return None


def crew_as_writer(db: str, tmp_path: Path) -> None:
    """A crew's whole life, run by the writer role: every kind of command that writes or reads."""

    def ok(*args: str, today: str = "2026-03-01") -> str:
        result = pot(db, *args, today=today)
        assert result.code == 0, (args, result.err)
        return result.out

    ok("init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-01-01")
    for name in ("Bo", "Cy"):
        ok("--as", "Ana", "member", "add", name, today="2026-01-01")
    ok("--as", "Ana", "contribute", "Ana", "40", "--ref", "a1")
    ok("--as", "Ana", "contribute", "Bo", "30")
    ok("--as", "Bo", "pledge", "Bo", "--monthly", "10")
    statement = tmp_path / "bank.csv"
    statement.write_text("member,amount,on,note,ref\nCy,5,2026-02-01,bank,b1\nBo,2.50,2026-02-02,bank,b2\n")
    ok("--as", "Ana", "import", str(statement))
    ok("--as", "Ana", "reverse", "5", "--reason", "typo")
    ok("--as", "Bo", "propose", "12", "--purpose", "tools")
    for name in ("Ana", "Bo", "Cy"):
        ok("--as", name, "vote", "1", "agree")
    ok("--as", "Ana", "pay", "1")
    assert '"balance": "' in ok("balance", "--json")
    for query in (("history",), ("members",), ("proposals",), ("pledges",), ("trust",), ("game",), ("replay",)):
        ok(*query)
    ok("export", "-o", str(tmp_path / "crew.jsonl"))
    ok("rebuild")
    ok("verify")


def test_before_setup_the_shared_role_switches_the_guard_off_and_after_it_cannot(roles: Roles) -> None:
    """The attack as found: the role every `pot` uses owns the tables. `db setup --writer` that same role ends it."""
    shared = roles.as_writer
    schema = make_url(roles.admin).query["schema"]
    _admin_sql(f"CREATE ROLE {roles.writer} LOGIN", f'CREATE SCHEMA "{schema}" AUTHORIZATION {roles.writer}')
    assert pot(shared, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    assert pot(shared, "--as", "Ana", "contribute", "Ana", "20").code == 0
    assert try_as(shared, f"ALTER TABLE {EVENTS} DISABLE TRIGGER USER") is None  # the hole

    before = fingerprint(shared)
    setup(roles)
    assert fingerprint(shared) == before
    for table in (EVENTS, SNAPSHOTS):
        for statement in FORBIDDEN:
            assert try_as(shared, statement.format(table=table)) is not None, statement
    assert fingerprint(shared) == before
    assert pot(shared, "--as", "Ana", "contribute", "Ana", "5").code == 0
    assert pot(shared, "verify").code == 0


def test_the_writer_runs_a_crews_commands_and_cannot_change_unguard_or_drop_what_is_stored(
    roles: Roles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PotApplication, "snapshot_every", 3)  # so the writer stores snapshots too
    out = setup(roles)
    assert f"created role {roles.writer}" in out
    crew_as_writer(roles.as_writer, tmp_path)
    with postgres_engine_for(roles.admin) as engine, engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {SNAPSHOTS}")).scalar()

    before, digest = fingerprint(roles.as_writer), head(roles.as_writer)
    refusals = {}
    for table in (EVENTS, SNAPSHOTS):
        for statement in FORBIDDEN:
            refusals[statement.format(table=table)] = try_as(roles.as_writer, statement.format(table=table))
    allowed = [statement for statement, refusal in refusals.items() if refusal is None]
    assert allowed == []
    # The database's own refusal (privilege or ownership), not only the triggers.
    assert all(
        "permission denied" in refusal or "must be owner" in refusal
        for refusal in refusals.values()
        if refusal is not None
    ), refusals
    assert fingerprint(roles.as_writer) == before
    assert head(roles.as_writer) == digest
    assert pot(roles.as_writer, "verify").code == 0


def test_the_writer_imports_a_whole_pot_from_its_export_into_another_set_up_store(roles: Roles, tmp_path: Path) -> None:
    setup(roles)
    crew_as_writer(roles.as_writer, tmp_path)
    with postgres_store() as other_url:
        other = Roles(other_url, roles.owner, roles.writer)
        setup(other)
        result = pot(other.as_writer, "import", "--format", "jsonl", str(tmp_path / "crew.jsonl"))
        assert result.code == 0, result.err
        assert head(other.as_writer) == head(roles.as_writer)


def test_setup_again_after_an_upgrade_is_harmless_and_keeps_the_writer_working(roles: Roles, tmp_path: Path) -> None:
    setup(roles)
    assert pot(roles.as_writer, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    before = fingerprint(roles.as_writer)
    out = setup(roles)
    assert "created role" not in out
    assert fingerprint(roles.as_writer) == before
    assert pot(roles.as_writer, "--as", "Ana", "contribute", "Ana", "5").code == 0


def test_a_role_that_could_unguard_the_store_is_refused_as_writer(roles: Roles) -> None:
    _admin_sql(f"CREATE ROLE {roles.writer} LOGIN CREATEROLE")
    refused(
        roles.admin,
        "db",
        "setup",
        "--writer",
        roles.writer,
        "--owner",
        roles.owner,
        "--no-password",
        code=1,
        says="may create roles",
    )
    # Nothing was granted: the transaction that would have made the owner was rolled back.
    with postgres_engine_for(POSTGRES_URL) as engine, engine.connect() as conn:
        assert conn.execute(text(f"SELECT 1 FROM pg_roles WHERE rolname = '{roles.owner}'")).first() is None


def test_a_writer_on_a_store_nobody_set_up_is_told_to_ask_the_administrator(roles: Roles) -> None:
    _admin_sql(f"CREATE ROLE {roles.writer} LOGIN")
    refused(roles.as_writer, "init", "Crew", "--currency", "EUR", "--as", "Ana", code=1, says="db setup")


def test_the_writers_password_is_read_from_the_environment_not_argv(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POT_WRITER_PASSWORD", "correct horse battery")
    result = pot(roles.admin, "db", "setup", "--writer", roles.writer, "--owner", roles.owner, "--json")
    assert result.code == 0, result.err
    assert result.json()["password_set"] is True
    with postgres_engine_for(POSTGRES_URL) as engine, engine.connect() as conn:
        stored = conn.execute(text(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{roles.writer}'")).scalar()
    assert str(stored).startswith("SCRAM-SHA-256$")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--writer", "Bad-Name"), "--writer"),
        (("--writer", "pg_signal_backend"), "--writer"),
        (("--writer", "same", "--owner", "same"), "two different roles"),
    ],
)
def test_bad_role_names_are_refused(roles: Roles, args: tuple[str, ...], says: str) -> None:
    refused(roles.admin, "db", "setup", *args, "--no-password", code=2, says=says)


def test_db_setup_is_for_postgresql_only(tmp_path: Path) -> None:
    refused(tmp_path / "crew.sqlite", "db", "setup", "--writer", "w", "--no-password", code=2, says="PostgreSQL")
    assert not (tmp_path / "crew.sqlite").exists()


def test_the_writer_signs_members_in_to_the_web_app_and_cannot_alter_the_sign_in_tables(
    roles: Roles, tmp_path: Path
) -> None:
    """`pot serve` runs as the writer: invites, passphrases and sessions work; the tables stay the owner's."""
    from ledger.app import Ledger
    from ledger.store import resolve

    setup(roles)
    crew_as_writer(roles.as_writer, tmp_path)
    link = pot(roles.as_writer, "--as", "Ana", "invite", "Bo").out.strip().splitlines()[-1]
    ledger = Ledger(resolve(roles.as_writer))
    try:
        slug = ledger.resolve_pot(None).slug
        signed = ledger.accept_invite(slug, token=link.rsplit("/", 1)[-1], passphrase="a long enough phrase")
        assert (signed.name, signed.role) == ("Bo", "member")
        for _ in range(2):  # a failed sign-in is a row numbered by a sequence the writer must use
            with pytest.raises(Exception, match="do not match"):
                ledger.sign_in(slug, name="Bo", passphrase="wrong wrong wrong")
        assert ledger.sign_in(slug, name="bo", passphrase="a long enough phrase").name == "Bo"
    finally:
        ledger.close()
    assert try_as(roles.as_writer, "ALTER TABLE web_sessions ADD COLUMN x int") is not None
    assert try_as(roles.as_writer, "DROP TABLE web_credentials") is not None
