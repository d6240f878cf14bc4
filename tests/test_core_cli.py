"""The pot ledger core through `pot`: contributions, reversals, balance, members, history.

Every refusal is checked for its exit code, one `error:` line, and an unchanged store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, fingerprint, pot, refused


def contribute(
    db: Path, member: str, amount: str, *extra: str, actor: str = "Ana", today: str = "2026-03-01"
) -> Result:
    return pot(db, "--as", actor, "contribute", member, amount, *extra, today=today)


def test_the_readme_walkthrough_works(db: Path) -> None:
    assert pot(db, "init", "Maastricht crew", "--currency", "EUR", "--as", "Ana").code == 0
    assert pot(db, "--as", "Ana", "member", "add", "Bo").code == 0
    result = contribute(db, "Bo", "25.00", "--on", "2026-01-05", "--note", "January")
    assert result.code == 0
    assert "25.00" in result.out
    text = pot(db, "balance")
    assert "25.00" in text.out
    assert "Bo" in text.out
    report = pot(db, "balance", "--json").json()
    assert report == {
        "pot": "maastricht-crew",
        "currency": "EUR",
        "as_of": "2026-03-01",
        "balance": "25.00",
        "contributed": "25.00",
        "paid_out": "0.00",
        "reserved": "0.00",
        "available": "25.00",
        "members": [
            {"name": "Ana", "contributed": "0.00", "share_pct": "0.00", "received": "0.00"},
            {"name": "Bo", "contributed": "25.00", "share_pct": "100.00", "received": "0.00"},
        ],
    }
    items = pot(db, "history", "--json").json()
    assert [i["type"] for i in items] == ["pot_opened", "member_joined", "member_joined", "contribution_recorded"]
    assert [i["no"] for i in items] == [1, 2, 3, 4]
    last = items[-1]
    assert (last["on"], last["actor"], last["member"], last["amount"], last["note"]) == (
        "2026-01-05",
        "Ana",
        "Bo",
        "25.00",
        "January",
    )
    assert "Ana recorded 25.00 from Bo (January)" in pot(db, "history").out
    verified = pot(db, "verify")
    assert verified.code == 0
    assert "ok: 4 events" in verified.out


def test_shares_split_contributions_by_largest_remainder(crew: Path) -> None:
    for member in ("Ana", "Bo", "Cy"):
        assert contribute(crew, member, "10").code == 0
    shares = [m["share_pct"] for m in pot(crew, "balance", "--json").json()["members"]]
    assert shares == ["33.34", "33.33", "33.33", "0.00"]


def test_members_lists_roles_and_departures(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "member", "remove", "Dee").code == 0
    assert pot(crew, "--as", "Cy", "member", "remove", "Cy").code == 0
    rows = pot(crew, "members", "--json").json()
    assert rows == [
        {"name": "Ana", "role": "treasurer", "joined": "2026-01-01", "left": None},
        {"name": "Bo", "role": "member", "joined": "2026-01-01", "left": None},
        {"name": "Cy", "role": "member", "joined": "2026-01-01", "left": "2026-03-01"},
        {"name": "Dee", "role": "member", "joined": "2026-01-01", "left": "2026-03-01"},
    ]


def test_a_reversal_keeps_the_original_and_takes_the_money_back(crew: Path) -> None:
    assert contribute(crew, "Bo", "40").code == 0  # event 6
    assert pot(crew, "--as", "Ana", "reverse", "6", "--reason", "entered twice").code == 0
    report = pot(crew, "balance", "--json").json()
    assert report["balance"] == "0.00"
    assert report["members"][1]["contributed"] == "0.00"
    types = [i["type"] for i in pot(crew, "history", "--json").json()]
    assert types[-2:] == ["contribution_recorded", "contribution_reversed"]


def test_history_filters_by_member_type_and_dates(crew: Path) -> None:
    contribute(crew, "Bo", "10", "--on", "2026-01-10")
    contribute(crew, "Cy", "20", "--on", "2026-02-10")
    contribute(crew, "bo", "30", "--on", "2026-02-20")
    by_bo = pot(crew, "history", "--member", "BO", "--type", "contribution_recorded", "--json").json()
    assert [i["amount"] for i in by_bo] == ["10.00", "30.00"]
    february = pot(crew, "history", "--since", "2026-02-01", "--until", "2026-02-28", "--json").json()
    assert [i["amount"] for i in february] == ["20.00", "30.00"]
    refused(crew, "history", "--type", "coffee", code=2, says="unknown event type")
    # Every plain word is named, and no empty one (a key's registration has none: it goes by its type).
    assert ", ," not in pot(crew, "history", "--type", "coffee").err


def test_the_as_option_may_follow_the_command(crew: Path) -> None:
    assert pot(crew, "contribute", "Bo", "5", "--as", "Ana").code == 0
    assert pot(crew, "balance", "--json").json()["balance"] == "5.00"


def test_a_name_that_looks_like_sql_is_stored_verbatim(crew: Path) -> None:
    name = "Robert'); DROP TABLE x;--"
    assert pot(crew, "--as", "Ana", "member", "add", name).code == 0
    assert contribute(crew, name, "1").code == 0
    assert name in [m["name"] for m in pot(crew, "members", "--json").json()]
    assert pot(crew, "verify").code == 0


def test_pot_may_be_omitted_only_when_the_store_holds_one(crew: Path) -> None:
    assert pot(crew, "init", "Second crew", "--currency", "JPY", "--as", "Eve").code == 0
    refused(crew, "balance", code=2, says="choose one with --pot")
    assert pot(crew, "--pot", "second-crew", "balance", "--json").json()["currency"] == "JPY"
    refused(crew, "--pot", "nope", "balance", code=2, says="no pot 'nope'")


def test_environment_variables_stand_in_for_global_options(crew: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POT_AS", "Ana")
    monkeypatch.setenv("POT_NAME", "maastricht-crew")
    assert pot(crew, "contribute", "Cy", "3").code == 0
    monkeypatch.setenv("POT_DB", str(crew))
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["balance", "--json"])
    assert '"balance": "3.00"' in result.stdout


BAD_AMOUNTS = [
    ("0", "zero"),
    ("-5", "negative"),
    ("-0", "negative"),
    ("", "empty"),
    ("NaN", "plain decimal"),
    ("Infinity", "plain decimal"),
    ("1e3", "plain decimal"),
    ("10.001", "more than 2 decimals"),
    ("5,00", "use a dot"),
    ("1_000", "plain decimal"),
    ("１０", "plain decimal"),
    ("١٠", "plain decimal"),
    ("1000000000.01", "above the limit"),
]


@pytest.mark.parametrize(("amount", "says"), BAD_AMOUNTS)
def test_bad_amounts_are_refused_and_store_nothing(crew: Path, amount: str, says: str) -> None:
    refused(crew, "--as", "Ana", "contribute", "Bo", amount, code=2, says=says)


@pytest.mark.parametrize(
    ("name", "code", "says"),
    [
        ("", 2, "empty"),
        ("x" * 65, 2, "at most 64"),
        ("Eve\x07", 2, "control"),
        ("Eve\x1b[31m", 2, "control"),
        ("bo", 1, "already a member"),
        ("  BO ", 1, "already a member"),
    ],
)
def test_bad_member_names_are_refused(crew: Path, name: str, code: int, says: str) -> None:
    refused(crew, "--as", "Ana", "member", "add", name, code=code, says=says)


REFUSALS = [
    (("--as", "Ana", "contribute", "Zed", "5"), 2, "not a member"),
    (("--as", "Bo", "contribute", "Bo", "5"), 1, "only a treasurer"),
    (("--as", "Zed", "contribute", "Bo", "5"), 2, "not a member"),
    (("contribute", "Bo", "5"), 2, "--as"),
    (("--as", "Ana", "contribute", "Bo", "5", "--on", "2026-03-02"), 2, "in the future"),
    (("--as", "Ana", "contribute", "Bo", "5", "--on", "2026-02-30"), 2, "not a real date"),
    (("--as", "Ana", "contribute", "Bo", "5", "--on", "March 1"), 2, "YYYY-MM-DD"),
    (("--as", "Bo", "member", "add", "Eve"), 1, "only a treasurer"),
    (("--as", "Bo", "member", "remove", "Cy"), 1, "only a treasurer"),
    (("--as", "Ana", "member", "remove", "Ana"), 1, "only treasurer"),
    (("--as", "Ana", "member", "remove", "Zed"), 2, "not a member"),
    (("--as", "Ana", "reverse", "2", "--reason", "oops"), 1, "not a contribution"),
    (("--as", "Ana", "reverse", "99", "--reason", "oops"), 2, "not a contribution"),
    (("--as", "Ana", "reverse", "2", "--reason", "  "), 2, "reason"),
    (("--pot", "Bad Slug", "balance"), 2, "slug"),
    (("--today", "2026-13-01", "balance"), 2, "not a real date"),
    (("--as", "Ana", "init", "Again", "--currency", "EUR", "--slug", "maastricht-crew"), 1, "already exists"),
    (("--as", "Ana", "init", "Other", "--currency", "EURO"), 2, "unknown currency"),
    (("--as", "Ana", "init", "Other", "--currency", "EUR", "--quorum", "1.5"), 2, "quorum"),
    (("frobnicate",), 2, "no such command"),
]


@pytest.mark.parametrize(("args", "code", "says"), REFUSALS, ids=[" ".join(a) for a, _, _ in REFUSALS])
def test_refused_commands_say_why_and_store_nothing(crew: Path, args: tuple[str, ...], code: int, says: str) -> None:
    refused(crew, *args, code=code, says=says)


def test_reversing_twice_is_refused(crew: Path) -> None:
    contribute(crew, "Bo", "40")
    assert pot(crew, "--as", "Ana", "reverse", "6", "--reason", "mistake").code == 0
    refused(crew, "--as", "Ana", "reverse", "6", "--reason", "again", code=1, says="already reversed")


def test_reversing_money_already_spent_is_refused(crew: Path) -> None:
    contribute(crew, "Bo", "100")  # event 6
    assert pot(crew, "--as", "Bo", "propose", "80", "--purpose", "rent").code == 0
    for voter in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", voter, "vote", "1", "agree").code == 0
    assert pot(crew, "--as", "Ana", "pay", "1").code == 0
    refused(crew, "--as", "Ana", "reverse", "6", "--reason", "wrong", code=1, says="already spent")


def test_a_command_on_an_empty_store_says_how_to_begin(db: Path) -> None:
    refused(db, "balance", code=2, says="pot init")


@pytest.mark.parametrize("command", [("balance",), ("init", "Crew", "--currency", "EUR", "--as", "Ana")])
def test_a_file_that_is_not_a_pot_store_is_refused_untouched(tmp_path: Path, command: tuple[str, ...]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    budget = tmp_path / "budget.sqlite"
    with sqlite3.connect(budget) as conn:
        conn.execute("CREATE TABLE budget (month TEXT, amount INTEGER)")
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    files = (notes, budget, broken)
    before = {path: path.read_bytes() for path in files}
    for path, says in (
        (notes, "is not a SQLite database"),
        (budget, "is another program's SQLite database"),
        (broken, "is not a readable SQLite database"),
    ):
        result = pot(path, *command)
        assert result.code == 2
        assert result.err.startswith(f"error: --db {str(path)!r} {says}")
        assert result.err.endswith("give a pot store's file, or a new file name\n")
        assert result.err.count("\n") == 1
    assert {path: path.read_bytes() for path in files} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.sqlite", "budget.sqlite", "notes.txt"]


def test_an_empty_file_is_a_new_store(tmp_path: Path) -> None:
    db = tmp_path / "crew.sqlite"
    db.touch()
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    assert pot(db, "balance", "--json").json()["balance"] == "0.00"


def test_a_refused_command_leaves_no_store_file_changed(crew: Path) -> None:
    before = fingerprint(crew)
    assert pot(crew, "--as", "Bo", "contribute", "Bo", "5").code == 1
    assert fingerprint(crew) == before


def test_rebuild_gives_the_same_views_as_the_incremental_path(crew: Path) -> None:
    contribute(crew, "Bo", "12.34")
    contribute(crew, "Cy", "56.78")
    pot(crew, "--as", "Ana", "reverse", "6", "--reason", "mistake")
    before = (
        pot(crew, "balance", "--json").out,
        pot(crew, "history", "--json").out,
        pot(crew, "members", "--json").out,
    )
    rebuilt = pot(crew, "rebuild")
    # Each event counted once, though four projections read it.
    assert (rebuilt.code, rebuilt.out.strip()) == (0, f"rebuilt the views from {len(json.loads(before[1]))} events")
    after = (pot(crew, "balance", "--json").out, pot(crew, "history", "--json").out, pot(crew, "members", "--json").out)
    assert before == after
    assert pot(crew, "verify").code == 0


def test_every_command_has_help_with_an_example() -> None:
    import click
    from click import Command, Group

    from cli import main

    def walk(group: Group, path: list[str]) -> Iterator[tuple[str, Command]]:
        # Through list_commands/get_command: `pot` loads its commands on first use.
        context = click.Context(group)
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None, f"pot {name} is listed but cannot be loaded"
            if isinstance(command, Group):
                yield from walk(command, [*path, name])
            else:
                yield " ".join([*path, name]), command

    for name, command in walk(main, []):
        assert command.help, f"pot {name} has no help"
        assert "Example" in command.help, f"pot {name} has no example in its help"


def test_where_prints_the_default_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    result = pot(tmp_path / "x.sqlite", "where", today=None)
    assert result.out.strip() == str(tmp_path / "x.sqlite")
    from click.testing import CliRunner

    from cli import main

    monkeypatch.delenv("POT_DB", raising=False)
    out = CliRunner().invoke(main, ["where"]).stdout.strip()
    assert out.endswith("pots.sqlite")
    assert "commonpot" in out


def test_balance_without_as_of_is_as_of_today_even_when_today_is_set_back(db: Path) -> None:
    assert pot(db, "init", "Z", "--currency", "EUR", "--as", "Ana", today="2026-03-10").code == 0
    assert contribute(db, "Ana", "100", today="2026-03-10").code == 0
    earlier = pot(db, "balance", "--json", today="2026-03-01").json()
    assert (earlier["as_of"], earlier["balance"], earlier["contributed"]) == ("2026-03-01", "0.00", "0.00")
    assert earlier == pot(db, "balance", "--as-of", "2026-03-01", "--json", today="2026-03-01").json()
    assert "balance 0.00" in pot(db, "balance", today="2026-03-01").out
    # From the day of the contribution on, the running totals answer, as before.
    for day in ("2026-03-10", "2026-04-01"):
        now = pot(db, "balance", "--json", today=day).json()
        assert (now["as_of"], now["balance"]) == (day, "100.00")
        assert now == pot(db, "balance", "--as-of", day, "--json", today=day).json()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("init", "Crew", "--currency", "XYZ", "--as", "Ana"), "XYZ"),
        (("init", "Crew", "--currency", "EUR"), "--as NAME"),
        (("init", "Crew", "--currency", "EUR", "--as", "Ana", "--quorum", "2"), "quorum"),
        (("init", "Crew", "--currency", "EUR", "--as", "Ana", "--slug", "Not A Slug"), "slug"),
    ],
)
def test_a_mistyped_init_leaves_no_store_file(db: Path, args: tuple[str, ...], says: str) -> None:
    refused(db, *args, code=2, says=says)
    assert not db.exists()


def test_where_and_rebuild_speak_json_too(crew: Path) -> None:
    assert pot(crew, "where", "--json").json() == {"store": str(crew)}
    # The crew: the pot opened and four members joined.
    assert pot(crew, "rebuild", "--json").json() == {"events": 5}


def test_money_back_filled_before_a_member_joined_is_still_theirs_as_of_then(db: Path) -> None:
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana", today="2026-03-10").code == 0
    assert pot(db, "--as", "Ana", "member", "add", "Bo", today="2026-03-10").code == 0
    assert pot(db, "--as", "Ana", "contribute", "Bo", "30", "--on", "2026-01-15", today="2026-03-10").code == 0
    report = pot(db, "balance", "--as-of", "2026-02-28", "--json").json()
    assert report["contributed"] == "30.00"
    assert [(m["name"], m["contributed"], m["share_pct"]) for m in report["members"]] == [("Bo", "30.00", "100.00")]
