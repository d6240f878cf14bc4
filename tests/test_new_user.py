"""What a new user trips on (issue 18), each as the person typed it."""

from __future__ import annotations

import shlex
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import SECTIONS, main
from tests.conftest import fingerprint, pot, refused


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), prog_name="pot", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_pot_alone_prints_the_help_on_many_lines_and_exits_0() -> None:
    code, out, err = run()
    assert code == 0, err
    assert err == ""
    assert out.startswith("Usage: pot")
    assert len(out.splitlines()) > 30
    # Grouped by what a crew does, each command once, with the whole first line of its help.
    for heading, _, commands in SECTIONS:
        assert f"\n{heading}:\n" in out
        for command, _ in commands:
            assert f"\n  {command} " in out
    assert "contribute  Record a contribution (treasurers only)." in out


def test_every_command_is_in_exactly_one_section() -> None:
    listed = [command for _, _, commands in SECTIONS for command, _ in commands]
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_today_after_the_real_date_is_refused_so_nothing_is_dated_in_the_future(crew: Path, where: str) -> None:
    future = (date.today() + timedelta(days=1)).isoformat()
    before = fingerprint(crew)
    args = ["--as", "Ana", "contribute", "Cy", "5", "--on", future]
    args = ["--today", future, *args] if where == "before" else [*args, "--today", future]
    code, out, err = run("--db", str(crew), *args)
    assert code == 2
    assert out == ""
    assert err.startswith("error: --today")
    assert "in the future" in err
    assert len(err.strip().splitlines()) == 1
    assert fingerprint(crew) == before


def test_global_options_work_after_the_command_too(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "contribute", "Cy", "5").code == 0
    code, out, err = run("balance", "--json", "--db", str(crew), "--pot", "maastricht-crew", "--today", "2026-03-01")
    assert code == 0, err
    assert '"balance": "5.00"' in out
    assert '"as_of": "2026-03-01"' in out
    code, out, err = run("contribute", "Cy", "2", "--db", str(crew), "--as", "Ana", "--today", "2026-03-01")
    assert (code, err) == (0, "")
    assert "recorded 2.00 EUR from Cy" in out


def test_a_missing_folder_in_db_is_an_error_and_is_never_created(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "x.sqlite"
    refused(target, "--as", "Ana", "init", "X", "--currency", "EUR", code=2, says="does not exist")
    assert not (tmp_path / "no").exists()


def test_demo_without_db_goes_to_its_own_file_and_its_hint_works_when_pasted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "my data"  # a space, so the hint must quote the path
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("POT_DB", raising=False)
    code, out, err = run("--today", "2026-11-22", "demo")
    assert code == 0, err
    store = data / "commonpot" / "demo.sqlite"
    assert store.exists()
    assert not (data / "commonpot" / "pots.sqlite").exists(), "the demo went into the crew's real store"
    assert f"its own store: {store}" in out
    hint = next(line for line in out.splitlines() if line.startswith("try: pot "))
    words = shlex.split(hint.removeprefix("try: "))
    code, out, err = run(*words[1:])
    assert code == 0, err
    assert "pot opened" in out


def test_a_pot_is_found_by_its_name_and_an_unknown_one_lists_the_pots(crew: Path) -> None:
    assert pot(crew, "--pot", "Maastricht crew", "balance").code == 0
    assert pot(crew, "--pot", "maastricht CREW", "members").code == 0
    refused(crew, "--pot", "nope", "balance", code=2, says="it holds: maastricht-crew")


def test_where_prints_an_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("--db", "crew.sqlite", "where")
    assert (code, out.strip()) == (0, str(tmp_path / "crew.sqlite"))


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_use_the_shipped_driver(scheme: str) -> None:
    from ledger.store import resolve

    store = resolve(f"{scheme}://ana:secret@db.example:5433/crew")
    assert store.kind == "postgresql"
    assert store.sqlalchemy_url.startswith("postgresql+psycopg://ana:secret@db.example:5433/crew")
    assert "secret" not in store.location


def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path: Path) -> None:
    """`pot export | head -1`: the reader stops early; pot must not say error or exit 1."""
    import subprocess
    import sys

    db = tmp_path / "big.sqlite"
    statement = tmp_path / "big.csv"
    # Far more than a pipe holds (64 KiB), so the export is still writing when the reader leaves.
    rows = "".join(f"Ana,1.00,2026-01-01,{'x' * 60},r{i}\n" for i in range(3000))
    statement.write_text("member,amount,on,note,ref\n" + rows, encoding="utf-8")
    assert pot(db, "--as", "Ana", "init", "B", "--currency", "EUR", today="2026-01-01").code == 0
    assert pot(db, "--as", "Ana", "import", str(statement), today="2026-01-01").code == 0
    pot_bin = Path(sys.executable).with_name("pot")
    proc = subprocess.Popen([pot_bin, "--db", str(db), "export"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert err == b""


def test_ctrl_c_in_a_step_replay_stops_quietly_clears_the_prompt_and_exits_0(crew: Path) -> None:
    from tests.test_replay import Terminal

    assert pot(crew, "--as", "Ana", "contribute", "Cy", "5").code == 0
    term = Terminal("--db", str(crew), "replay", "--step")
    try:
        term.read_until("[Enter/space: next event, q: stop]")
        term.press("\x03")
        shown = term.read_until("stopped after event 1")
        assert term.exit_code() == 0, shown
        assert "error" not in shown
        # The prompt was wiped before the last line.
        assert shown.rstrip().endswith("stopped after event 1")
    finally:
        term.close()


def test_database_errors_say_what_is_wrong_without_sqlalchemy_boilerplate() -> None:
    from sqlalchemy.exc import OperationalError

    from cli import store_problem

    link = "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
    wrong = OperationalError("connect", {}, Exception('FATAL:  password authentication failed for user "ana"'))
    said = store_problem(Exception(f"{wrong} {link}"))
    assert said.startswith("the database refused the user name or password")
    assert "sqlalche.me" not in said
    busy = store_problem(Exception(f"could not connect to server: Connection refused {link}"))
    assert busy == "the store is busy or unreachable: could not connect to server: Connection refused"


def test_an_unreachable_postgresql_store_is_one_line_without_boilerplate(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused at once.
    code, out, err = run("--db", "postgresql://ana@127.0.0.1:9/crew", "balance")
    assert code == 1
    assert out == ""
    assert err.startswith("error: the store is busy or unreachable")
    assert "sqlalche.me" not in err
    assert len(err.strip().splitlines()) == 1


def test_help_lists_the_four_positions_and_no_internal_number_range() -> None:
    code, out, _ = run("vote", "--help")
    assert code == 0
    assert "AGREE|ABSTAIN|DISAGREE|BLOCK" in out
    code, out, _ = run("replay", "--help")
    assert code == 0
    assert "--from N" in out
    assert "2147483647" not in out


def test_demo_offers_no_as_option_that_would_do_nothing() -> None:
    code, out, _ = run("demo", "--help")
    assert code == 0
    assert "--as" not in out


def test_a_statement_names_every_bad_row_up_to_twenty_and_stores_nothing(crew: Path, tmp_path: Path) -> None:
    statement = tmp_path / "bank.csv"
    rows = ["Bo,abc,2026-02-01,x", "Bo,5,2026-02-01,y", "Cy,1,2026-13-01,z"] + [
        f"Bo,-{i},2026-02-01," for i in range(25)
    ]
    statement.write_text("member,amount,on,note\n" + "\n".join(rows) + "\n", encoding="utf-8")
    said = refused(crew, "--as", "Ana", "import", str(statement), code=2, says="line 2:").err
    assert "line 4:" in said
    assert "line 3:" not in said  # a good row is not named
    assert "line 22:" in said  # the 20th bad row: lines 2 and 4, then 5 to 22
    assert "line 23:" not in said
    assert "and 7 more bad rows" in said


def test_a_decided_proposal_shows_when_it_was_decided_not_a_closing_day(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "50", today="2026-03-01").code == 0
    assert pot(crew, "--as", "Bo", "propose", "10", "--purpose", "tea", today="2026-03-01").code == 0
    assert "closes 2026-03-08" in pot(crew, "proposals", today="2026-03-02").out
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", name, "vote", "1", "agree", today="2026-03-02").code == 0
    listed = pot(crew, "proposals", today="2026-03-02").out
    assert "decided 2026-03-02" in listed
    assert "closes 2026-03-08" not in listed
    assert "status approved, decided 2026-03-02" in pot(crew, "proposal", "1", today="2026-03-02").out
    # JSON keeps SPEC §4's fields, closing day included.
    assert pot(crew, "proposal", "1", "--json", today="2026-03-02").json()["closes"] == "2026-03-08"


def test_history_of_someone_who_was_never_a_member_is_refused(crew: Path) -> None:
    refused(crew, "history", "--member", "Zed", code=2, says="'Zed' is not a member")
    assert "Bo" in pot(crew, "history", "--member", "bo").out
