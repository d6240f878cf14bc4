"""`pot`'s quick read path (`cli_quick`, issue 22): whenever it answers, it answers exactly as click does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import cli
import cli_quick
from cli_reads import READS
from tests.conftest import fingerprint, pot

# A fresh interpreter running one entry point on argv; a file is told whether click was loaded.
PROBE = """
import atexit, json, os, sys
marker = os.environ.pop("POT_PROBE_MARKER")
sys.argv = ["pot", *json.loads(sys.argv[1])]
atexit.register(lambda: open(marker, "w").write("click" if "click" in sys.modules else "quick"))
import {module}
{module}.main()
"""


@pytest.fixture(scope="module")
def crew(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo crew's pot, its views caught up, built once for every example."""
    db = tmp_path_factory.mktemp("quick") / "demo.sqlite"
    assert pot(db, "demo").code == 0
    assert pot(db, "balance").code == 0
    return db


def run(module: str, args: list[str], env: dict[str, str], marker: Path) -> tuple[bytes, bytes, int, str]:
    """stdout, stderr and exit code of `pot ARGS…` through `module`, and which path answered."""
    marker.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module), json.dumps(args)],
        capture_output=True,
        env={**env, "POT_PROBE_MARKER": str(marker)},
        cwd=env["HOME"],  # a relative --db (missing.sqlite) lands in the scratch home, where it is looked for
        check=False,
    )
    return done.stdout, done.stderr, done.returncode, marker.read_text() if marker.exists() else "none"


def environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without pot's own variables, with a scratch home (no user's default store)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POT_") and not k.endswith("_COMPLETE")}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), **extra}


def _pair(flag: str, values: list[str]) -> st.SearchStrategy[list[str]]:
    """`--flag VALUE` or `--flag=VALUE`, with one of `values`."""
    return st.sampled_from(values).flatmap(lambda v: st.sampled_from([[flag, v], [f"{flag}={v}"]]))


GOOD_DATES = ["2025-12-01", "2025-12-31", "2026-02-28", "2026-03-01", "2026-04-01"]
BAD_DATES = ["2999-01-01", "not-a-date", "", "-1", "2026-02-30"]
# Values for each option of the read commands, by the keyword its body takes.
VALUES = {
    "as_of": GOOD_DATES,
    "since": GOOD_DATES,
    "until": GOOD_DATES,
    "member_name": ["Bo", "bo", "Nobody"],
    "types": ["contribution", "vote", "nope", "money back"],
    "status": ["open", "approved", "paid", "bogus", "OPEN"],
}


@st.composite
def invocation(draw: st.DrawFn, db: str) -> tuple[list[str], dict[str, str]]:
    """argv of the read commands, valid and not, and pot's environment variables: options before and after
    the command, `=` forms, bad values, unknown options, help, strays."""
    good_global = st.one_of(
        _pair("--db", [db]),
        _pair("--pot", ["demo-crew", "Demo crew", "nope"]),
        _pair("--as", ["Ana", "Bo"]),
        _pair("--today", ["2026-03-01", "2026-02-01"]),
    )
    bad_global = st.one_of(
        _pair("--db", ["missing.sqlite", "postgresql://u@localhost/x"]),
        _pair("--today", ["2999-01-01", "bad"]),
        st.sampled_from([["--no-sign"], ["--key", "k.pem"], ["--help"], ["-h"], ["--version"], ["--bogus"]]),
    )
    global_option = st.one_of(good_global, good_global, good_global, good_global, bad_global)
    name = draw(st.sampled_from([*READS, *READS, "vote", "nope", "replay", ""]))
    read = READS.get(name)
    good: list[st.SearchStrategy[list[str]]] = [good_global]
    for option in read.options if read else ():
        good.append(st.just([option.flag]) if option.is_flag else _pair(option.flag, VALUES[option.dest]))
    if read and read.argument:
        good.append(st.sampled_from([["1"], ["2"], ["3"], ["99"]]))
    bad = st.one_of(
        bad_global,
        _pair("--as-of", BAD_DATES),
        _pair("--since", BAD_DATES),
        _pair("--member", ["-Bo"]),
        st.sampled_from([["0"], ["abc"], [" 3"], ["2147483648"], ["extra"], ["--json=yes"], ["-"], ["--"]]),
        st.sampled_from([["--help"], ["-h"], ["--bogus"], ["--db"], ["--today"], ["--as-of"], ["--json"]]),
    )
    token = st.one_of(*good, *good, *good, bad) if good else bad
    before = draw(st.lists(global_option, max_size=2))
    after = draw(st.lists(token, max_size=3))
    argv = [t for part in (*before, [name] if name else [], *after) for t in part]
    env = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "POT_DB": st.sampled_from([db, db, "missing.sqlite", ""]),
                "POT_NAME": st.sampled_from(["demo-crew", "nope", ""]),
                "POT_AS": st.just("Ana"),
            },
        )
    )
    if "--db" not in " ".join(argv) and "POT_DB" not in env and draw(st.integers(0, 3)):
        argv = ["--db", db, *argv]  # mostly a store: without one, every read says there is none
    return argv, env


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_whenever_the_quick_path_answers_it_answers_byte_for_byte_as_click(
    crew: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    args, extra = data.draw(invocation(str(crew)))
    home = tmp_path_factory.mktemp("home")
    env = environment(home, extra)
    before = fingerprint(crew)
    quick = run("cli_quick", args, env, home / "marker")
    event(f"answered by {quick[3]}, exit {quick[2]}")
    # A read, answered or refused, stores nothing and makes no store where there was none.
    assert fingerprint(crew) == before, args
    assert not (home / "missing.sqlite").exists(), args
    if quick[3] != "quick":
        return  # declined: click answered (the same code path as `cli`)
    through_click = run("cli", args, env, home / "marker")
    assert quick[:3] == through_click[:3], args


# The bench's reads (bench.__main__.INSTANT_READS) and the text forms a person types.
ANSWERED = [
    ["balance", "--json"],
    ["members", "--json"],
    ["proposals", "--json"],
    ["history", "--since", "2025-12-01", "--until", "2025-12-31", "--json"],
    ["trust", "--json"],
    ["pledges", "--json"],
    ["balance"],
    ["proposals", "--status", "open"],
    ["proposal", "1"],
    ["history", "--member", "Bo", "--type", "contribution", "--type", "vote"],
    ["rules", "--as-of=2026-03-01"],
]


@pytest.mark.parametrize("args", ANSWERED, ids=" ".join)
def test_the_bench_reads_are_answered_by_the_quick_path_as_click_answers_them(
    crew: Path, tmp_path: Path, args: list[str]
) -> None:
    env = environment(tmp_path, {})
    for argv in (["--db", str(crew), *args], [*args, f"--db={crew}", "--today", "2026-03-01"]):
        quick = run("cli_quick", argv, env, tmp_path / "marker")
        assert quick[3] == "quick", argv
        assert quick[2] == 0, quick[1]
        assert quick[:3] == run("cli", argv, env, tmp_path / "marker")[:3]


def test_the_bench_reads_are_the_ones_answered() -> None:
    from bench.__main__ import INSTANT_READS

    for _, args in INSTANT_READS:
        assert args in ANSWERED


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["balance", "--help"],
        ["--version"],
        ["balance", "--json", "--json"],
        ["--db", "a", "balance", "--db", "b"],
        ["balance", "--as-of", "-1"],
        ["balance", "--as-of", "31/12/2025"],
        ["balance", "--key", "k"],
        ["balance", "--no-sign"],
        ["balance", "--"],
        ["balance", "extra"],
        ["proposal"],
        ["proposal", "0"],
        ["proposals", "--status", "Open"],
        ["--db", "postgresql://u@h/x", "balance"],
        ["vote", "1", "agree"],
        ["--today", "2999-01-01", "balance"],
    ],
)
def test_the_quick_path_declines_what_click_must_answer(args: list[str]) -> None:
    parsed = cli_quick.parse(args, {})
    if parsed is not None:  # Only a --today after the machine's date parses; answering it is click's.
        assert args[:2] == ["--today", "2999-01-01"]
        assert cli_quick.answer(parsed) == -1


def test_the_quick_table_is_the_click_commands_own() -> None:
    """The click commands are built from `cli_reads.READS`; the group's options are the ones `cli_quick` takes."""
    ctx = click.Context(cli.main)
    for name, read in READS.items():
        command = cli.main.get_command(ctx, name)
        assert command is not None
        shown = [p for p in command.params if not getattr(p, "hidden", False)]
        options = [p for p in shown if isinstance(p, click.Option)]
        assert [(o.opts[0], o.name, o.is_flag, o.multiple) for o in options] == [
            (o.flag, o.dest, o.is_flag, o.multiple) for o in read.options
        ]
        arguments = [p.name for p in shown if isinstance(p, click.Argument)]
        assert arguments == ([read.argument.dest] if read.argument else [])
        assert command.help == read.help
        hidden = {p.opts[0] for p in command.params if getattr(p, "hidden", False)}
        assert set(cli_quick.GLOBALS) <= hidden
    group = {p.opts[0]: p for p in cli.main.params}
    for flag, (field, variable) in cli_quick.GLOBALS.items():
        assert group[flag].name == field
        assert (group[flag].envvar or "") == variable


def test_a_quick_read_of_views_behind_the_log_is_answered_through_the_ledger(tmp_path: Path) -> None:
    """Views one event behind (a process stopped between storing and folding): the quick path's read
    loads the ledger, which folds first, and still answers without click."""
    from datetime import date

    from ledger.app import Ledger
    from ledger.store import resolve

    db = tmp_path / "crew.sqlite"
    assert pot(db, "init", "Crew", "--currency", "EUR", "--as", "Ana").code == 0
    ledger = Ledger(resolve(str(db)))
    try:
        crew = ledger.load("crew")
        crew.contribute(actor="Ana", member="Ana", amount_minor=1234, on=date(2026, 3, 1), today=date(2026, 3, 1))
        ledger.app.save(crew)
    finally:
        ledger.close()
    env = environment(tmp_path, {})
    out, err, code, answered = run("cli_quick", ["--db", str(db), "balance", "--json"], env, tmp_path / "marker")
    assert (code, answered, err) == (0, "quick", b"")
    assert json.loads(out)["balance"] == "12.34"


@pytest.mark.parametrize(
    "extra",
    [{"PYTHONIOENCODING": "ascii"}, {"_POT_COMPLETE": "bash_source"}],
    ids=["an ASCII stdout (click writes UTF-8 there)", "shell completion"],
)
def test_streams_and_environments_only_click_handles_are_left_to_click(
    crew: Path, tmp_path: Path, extra: dict[str, str]
) -> None:
    env = environment(tmp_path, extra)
    argv = ["--db", str(crew), "balance", "--json"]
    quick = run("cli_quick", argv, env, tmp_path / "marker")
    assert quick[3] == "click"
    assert quick[:3] == run("cli", argv, env, tmp_path / "marker")[:3]
