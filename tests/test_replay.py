"""Replay, reflection and triggers (SPEC §3): the history walked step by step, and how it felt.

The demo crew's replay is a golden file: regenerate it after changing the demo
with `UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_replay.py`.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import pty
import select
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import PotError
from domain.pot import Pot
from domain.values import format_amount
from ledger.app import Ledger
from ledger.store import resolve
from projections import queries
from projections.describe import describe
from projections.models import BalanceReport
from projections.replay import replay as replay_steps
from tests.conftest import pot, refused

GOLDEN = Path(__file__).parent / "golden"
DEMO_TODAY = "2026-11-22"
# Fields that change with every run: the recording time, and the digest taken over it.
UNSTABLE = ("at", "digest")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    assert pot(db, "demo", today=DEMO_TODAY).code == 0
    return db


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8").splitlines()
    lines = actual.splitlines()
    hint = f"(if the demo changed on purpose: UPDATE_GOLDEN=1 .venv/bin/pytest {Path(__file__).name})"
    for number, (want, got) in enumerate(zip(expected, lines, strict=False), start=1):
        assert got == want, f"{name} line {number} differs {hint}\n  expected: {want}\n  actual:   {got}"
    assert len(lines) == len(expected), f"{name}: {len(lines)} lines, expected {len(expected)} {hint}"


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def balance_of(db: Path, *args: str, today: str | None = None) -> str:
    return str(pot(db, "balance", "--json", *args, today=today).json()["balance"])


# --------------------------------------------------------------------------- golden: the demo crew
def test_the_demo_replay_reads_as_the_golden_file(demo: Path) -> None:
    result = pot(demo, "--pot", "demo-crew", "replay", today=DEMO_TODAY)
    assert result.code == 0, result.err
    check_golden("replay-demo.txt", result.out)


def test_the_demo_replay_json_lines_match_the_golden_file_but_for_timestamps(demo: Path) -> None:
    result = pot(demo, "--pot", "demo-crew", "replay", "--json", today=DEMO_TODAY)
    assert result.code == 0, result.err
    items = jsonl(result.out)
    masked = [{k: ("…" if k in UNSTABLE else v) for k, v in item.items()} for item in items]
    check_golden("replay-demo.jsonl", "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in masked))


def test_replay_json_items_are_history_items_plus_balance_and_reflections(demo: Path) -> None:
    items = jsonl(pot(demo, "replay", "--json", today=DEMO_TODAY).out)
    history = pot(demo, "history", "--json", today=DEMO_TODAY).json()
    assert [{k: v for k, v in i.items() if k not in ("balance_after", "reflections")} for i in items] == history
    assert [i["no"] for i in items] == list(range(1, len(items) + 1))
    assert items[-1]["balance_after"] == balance_of(demo, today=DEMO_TODAY)
    reflected = [i for i in items if i["reflections"]]
    assert 3 <= sum(len(i["reflections"]) for i in reflected) <= 5
    assert {"withdrawal_proposed", "contribution_reversed", "vote_cast"} <= {i["type"] for i in reflected}
    for i in reflected:
        for r in i["reflections"]:
            assert set(r) == {"member", "feeling", "note"}


def test_replay_from_and_to_start_with_the_balance_so_far(demo: Path) -> None:
    everything = jsonl(pot(demo, "replay", "--json", today=DEMO_TODAY).out)
    part = jsonl(pot(demo, "replay", "--from", "10", "--to", "20", "--json", today=DEMO_TODAY).out)
    assert [i["no"] for i in part] == list(range(10, 21))
    assert part == everything[9:20]
    text = pot(demo, "replay", "--from", "10", "--to", "20", today=DEMO_TODAY).out
    numbers = [int(line.split()[0]) for line in text.splitlines() if line.split()[0].isdigit()]
    assert numbers == list(range(10, 21))


def test_replay_as_of_ends_at_the_balance_as_of_that_day(demo: Path) -> None:
    for day in ("2026-01-31", "2026-04-30", "2026-07-31"):
        items = jsonl(pot(demo, "replay", "--as-of", day, "--json", today=DEMO_TODAY).out)
        assert items
        assert all(i["on"] <= day for i in items)
        assert items[-1]["balance_after"] == balance_of(demo, "--as-of", day, today=DEMO_TODAY)


def test_triggers_name_the_demo_events_that_drew_most(demo: Path) -> None:
    report = pot(demo, "triggers", "--json", today=DEMO_TODAY).json()
    assert report["pot"] == "demo-crew"
    assert report["reflections"] == sum(report["by_type"].values()) == sum(report["by_feeling"].values())
    top = report["most"][0]
    assert top["type"] == "vote_cast"
    assert top["reflections"] == 2
    assert "block" in top["description"]
    assert len(report["most"]) <= 5
    text = pot(demo, "triggers", today=DEMO_TODAY).out
    assert "the events that drew most" in text
    assert top["description"] in text


# --------------------------------------------------------------------------- as-of is the past view
def test_balance_and_history_as_of_a_day_equal_what_they_showed_that_day(crew: Path) -> None:
    day1, day2 = "2026-01-10", "2026-02-10"
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "40", "--on", "2026-01-05", today=day1).code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Cy", "25.50", "--on", "2026-01-06", today=day1).code == 0
    assert pot(crew, "--as", "Bo", "propose", "30", "--purpose", "books", today=day1).code == 0
    for name in ("Ana", "Bo", "Cy", "Dee"):
        assert pot(crew, "--as", name, "vote", "1", "agree", today=day1).code == 0
    then_balance = pot(crew, "balance", "--json", today=day1).json()
    then_history = pot(crew, "history", "--json", today=day1).json()
    then_replay = jsonl(pot(crew, "replay", "--json", today=day1).out)
    assert then_balance["reserved"] == "30.00"

    assert pot(crew, "--as", "Ana", "pay", "1", today=day2).code == 0
    assert pot(crew, "--as", "Ana", "contribute", "Dee", "12", "--on", "2026-02-01", today=day2).code == 0
    assert pot(crew, "--as", "Ana", "reverse", "7", "--reason", "wrong member", today=day2).code == 0
    assert pot(crew, "--as", "Dee", "member", "remove", "Dee", today=day2).code == 0
    assert pot(crew, "balance", "--json", today=day2).json() != then_balance

    assert pot(crew, "balance", "--as-of", day1, "--json", today=day2).json() == then_balance
    assert pot(crew, "history", "--as-of", day1, "--json", today=day2).json() == then_history
    assert jsonl(pot(crew, "replay", "--as-of", day1, "--json", today=day2).out) == then_replay


# --------------------------------------------------------------------------- reflecting
def test_a_member_reflects_on_an_event_and_replay_shows_it(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "propose", "80", "--purpose", "rent gap").code == 0
    proposal_no = pot(crew, "history", "--type", "withdrawal_proposed", "--json").json()[0]["no"]
    result = pot(
        crew, "--as", "bo", "reflect", str(proposal_no), "--feeling", "Anxious", "--note", "first time I asked"
    )
    assert result.code == 0, result.err
    assert f"reflected on event {proposal_no}: anxious" in result.out
    assert pot(crew, "reflect", str(proposal_no), "--feeling", "proud", "--as", "Cy").code == 0

    items = {i["no"]: i for i in jsonl(pot(crew, "replay", "--json").out)}
    assert items[proposal_no]["reflections"] == [
        {"member": "Bo", "feeling": "anxious", "note": "first time I asked"},
        {"member": "Cy", "feeling": "proud", "note": ""},
    ]
    last = max(items)
    assert items[last]["type"] == "reflection_noted"
    assert items[last]["event_no"] == proposal_no
    assert items[last]["reflections"] == []
    text = pot(crew, "replay").out
    assert "↳ Bo felt anxious: first time I asked" in text
    assert "Bo reflected on event" in text


def test_triggers_count_by_type_and_feeling(crew: Path) -> None:
    assert pot(crew, "--as", "Ana", "contribute", "Bo", "40", "--on", "2026-01-05").code == 0  # event 6
    assert pot(crew, "--as", "Bo", "propose", "30", "--purpose", "books").code == 0  # event 7
    for who, no, feeling in (("Bo", 6, "proud"), ("Cy", 7, "anxious"), ("Dee", 7, "anxious"), ("Bo", 7, "guilty")):
        assert pot(crew, "--as", who, "reflect", str(no), "--feeling", feeling).code == 0
    report = pot(crew, "triggers", "--json").json()
    assert report == {
        "pot": "maastricht-crew",
        "reflections": 4,
        "by_type": {"withdrawal_proposed": 3, "contribution_recorded": 1},
        "by_feeling": {"anxious": 2, "guilty": 1, "proud": 1},
        "most": [
            {
                "no": 7,
                "on": "2026-03-01",
                "type": "withdrawal_proposed",
                "description": "Bo proposed 30.00 for books (proposal 1)",
                "reflections": 3,
                "feelings": ["anxious", "anxious", "guilty"],
            },
            {
                "no": 6,
                "on": "2026-01-05",
                "type": "contribution_recorded",
                "description": "Ana recorded 40.00 from Bo",
                "reflections": 1,
                "feelings": ["proud"],
            },
        ],
    }


def test_triggers_without_reflections_say_how_to_add_one(crew: Path) -> None:
    assert "pot reflect" in pot(crew, "triggers").out
    assert pot(crew, "triggers", "--json").json()["most"] == []


def test_rebuild_keeps_every_reflection(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "reflect", "2", "--feeling", "welcome").code == 0
    before = pot(crew, "triggers", "--json").json()
    assert pot(crew, "rebuild").code == 0
    assert pot(crew, "triggers", "--json").json() == before
    assert jsonl(pot(crew, "replay", "--json").out)[1]["reflections"] == [
        {"member": "Bo", "feeling": "welcome", "note": ""}
    ]


def test_cannot_reflect_on_an_event_that_does_not_exist(crew: Path) -> None:
    refused(crew, "--as", "Bo", "reflect", "99", "--feeling", "curious", code=2, says="no event 99")
    # Events are numbered from 1: 0 is not a number any event could have (bad input, not a refusal).
    refused(crew, "--as", "Bo", "reflect", "0", "--feeling", "curious", code=2, says="not in the range")


def test_cannot_reflect_on_a_reflection(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "reflect", "2", "--feeling", "glad").code == 0
    refused(crew, "--as", "Cy", "reflect", "6", "--feeling", "glad", code=1, says="itself a reflection")


@pytest.mark.parametrize("feeling", ["", "  ", "very anxious", "anxious!", "x" * 33, "42"])
def test_a_feeling_is_one_word_of_letters(crew: Path, feeling: str) -> None:
    refused(crew, "--as", "Bo", "reflect", "2", "--feeling", feeling, code=2, says="feeling")


def test_a_note_is_at_most_500_characters(crew: Path) -> None:
    refused(crew, "--as", "Bo", "reflect", "2", "--feeling", "tired", "--note", "x" * 501, code=2, says="at most 500")
    assert pot(crew, "--as", "Bo", "reflect", "2", "--feeling", "tired", "--note", "x" * 500).code == 0


def test_only_current_members_reflect(crew: Path) -> None:
    refused(crew, "--as", "Eve", "reflect", "2", "--feeling", "curious", code=2, says="not a member")
    assert pot(crew, "--as", "Dee", "member", "remove", "Dee").code == 0
    refused(crew, "--as", "Dee", "reflect", "2", "--feeling", "sad", code=1, says="left")
    refused(crew, "reflect", "2", "--feeling", "sad", code=2, says="--as")


# --------------------------------------------------------------------------- replay options
def test_replay_refuses_a_range_that_ends_before_it_starts(crew: Path) -> None:
    refused(crew, "replay", "--from", "4", "--to", "2", code=2, says="after --to")
    refused(crew, "replay", "--from", "0", code=2, says="--from")


def test_step_needs_a_terminal(crew: Path) -> None:
    refused(crew, "replay", "--step", code=2, says="needs a terminal")
    refused(crew, "replay", "--step", "--json", code=2, says="--json")


def test_replay_of_an_empty_range_says_so(crew: Path) -> None:
    result = pot(crew, "replay", "--from", "50")
    assert result.code == 0
    assert "no events in this range" in result.out


# --------------------------------------------------------------------------- --step in a real terminal
def pot_binary() -> str:
    found = Path(sys.executable).parent / "pot"
    return str(found) if found.exists() else str(shutil.which("pot"))


class Terminal:
    """`pot` running in a pseudo-terminal: send keys, read what it shows."""

    def __init__(self, *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child becomes pot, and never returns to pytest
            try:
                # A person's terminal: Ctrl-C interrupts. Run in the background (`make test &`, CI), this
                # process ignores SIGINT, and Python would keep that for pot rather than raise KeyboardInterrupt.
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                os.execv(pot_binary(), [pot_binary(), *args])
            finally:
                os._exit(127)
        self.seen = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.status: int | None = None

    def read_until(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"waited for {text!r}; the terminal shows:\n{self.seen}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # The child closed the terminal.
                    chunk = b""
                assert chunk, f"pot ended before {text!r}:\n{self.seen}"
                self.seen += self.decoder.decode(chunk).replace("\r\n", "\n")
        return self.seen

    def press(self, key: str) -> None:
        os.write(self.fd, key.encode())

    def exit_code(self) -> int:
        with contextlib.suppress(OSError):
            while os.read(self.fd, 4096):
                pass
        _, status = os.waitpid(self.pid, 0)
        self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def close(self) -> None:
        """Stop pot if a failed test left it waiting for a key."""
        if self.status is None and os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal() -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def start(*args: str) -> Terminal:
        opened.append(Terminal(*args))
        return opened[-1]

    yield start
    for term in opened:
        term.close()


PROMPT = "[Enter/space: next event, q: stop]"


def test_step_shows_one_event_per_key_and_q_stops(crew: Path, terminal: Callable[..., Terminal]) -> None:
    term = terminal("--db", str(crew), "--today", "2026-03-01", "replay", "--step")
    shown = term.read_until(PROMPT)
    assert "Ana opened the pot" in shown
    assert "Ana joined as treasurer" not in shown
    term.press(" ")
    shown = term.read_until("Ana joined as treasurer")
    assert PROMPT + "\r" + " " * (len(PROMPT) + 2) + "\r    2  2026-01-01" in shown  # prompt wiped first
    term.press("\r")
    term.read_until("Ana added Bo")
    term.press("q")
    shown = term.read_until("stopped after event 3")
    assert term.exit_code() == 0
    assert "Ana added Cy" not in shown


def test_step_ends_with_the_last_event(crew: Path, terminal: Callable[..., Terminal]) -> None:
    term = terminal("--db", str(crew), "--today", "2026-03-01", "replay", "--step", "--from", "4")
    term.read_until("Ana added Cy")
    term.press("x")  # other keys are ignored
    term.press("\r")
    shown = term.read_until("end of the history")
    assert term.exit_code() == 0
    assert shown.count("Ana added Dee") == 1


# --------------------------------------------------------------------------- descriptions
def item(type_: str, actor: str = "Ana", **fields: object) -> dict[str, Any]:
    return {"type": type_, "actor": actor, **fields}


@pytest.mark.parametrize(
    ("event", "text"),
    [
        (
            item(
                "pledge_set", actor="Bo", member="Bo", kind="percent", percent="10", monthly=None, from_month="2026-01"
            ),
            "Bo pledged 10.00% of their income from 2026-01",
        ),
        (
            item("pledge_set", member="Cy", kind="monthly", percent=None, monthly="25.00", from_month="2026-02"),
            "Ana set Cy's pledge to 25.00 a month from 2026-02",
        ),
        (
            item("game_played", game="listening", participants=["Ana", "Bo", "Cy"]),
            "Ana recorded a listening circle with Ana, Bo and Cy",
        ),
        (
            item("game_played", game="money", participants=[], asker="Cy", offered=["Ana", "Dee"]),
            "Ana recorded a money talk: Cy asked, Ana and Dee offered",
        ),
        (
            item("game_played", game="meeting", participants=["Ana", "Bo"], missed=["Dee"]),
            "Ana recorded a crew meeting: Ana and Bo attended; Dee missed it",
        ),
        (
            item("game_played", game="conflict", participants=["Cy", "Dee"], resolved=False),
            "Ana recorded a conflict between Cy and Dee, left without a resolution",
        ),
        (
            item("game_played", game="co-own", participants=["Ana", "Bo"]),
            "Ana recorded that Ana and Bo now co-own an asset",
        ),
        (
            item("reflection_noted", actor="Bo", member="Bo", event_no=14, feeling="anxious", note="first ask"),
            "Bo reflected on event 14: anxious (first ask)",
        ),
    ],
)
def test_every_new_event_type_reads_as_one_line(event: dict[str, Any], text: str) -> None:
    assert describe(event) == text


# --------------------------------------------------------------------------- property: as-of is the past view
CREW = ("Ana", "Bo", "Cy")
ACTION = st.one_of(
    st.tuples(st.just("in"), st.sampled_from(CREW), st.integers(1, 10_000)),
    st.tuples(st.just("ask"), st.integers(1, 20_000)),
    st.tuples(st.just("yes")),
    st.tuples(st.just("pay")),
    st.tuples(st.just("feel"), st.integers(1, 40)),
)


def act(pot_: Pot, action: tuple[Any, ...], today: date) -> None:
    match action:
        case ("in", member, amount):
            pot_.contribute(actor="Ana", member=member, amount_minor=amount, on=today, today=today)
        case ("ask", amount):
            pot_.propose(actor="Bo", amount_minor=amount, purpose="a need", recipient=None, closes=None, today=today)
        case ("yes",):
            latest = pot_.proposal_count
            for name in CREW:
                pot_.vote(actor=name, proposal_no=latest, position="agree", reason="", today=today)
        case ("pay",):
            pot_.pay(actor="Ana", proposal_no=pot_.proposal_count, today=today)
        case ("feel", no):
            pot_.reflect(actor="Cy", event_no=min(no, pot_.version), feeling="calm", note="", today=today)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(ACTION, max_size=4), min_size=1, max_size=5))
def test_the_views_as_of_any_earlier_day_are_what_they_showed_that_day(days: list[list[tuple[Any, ...]]]) -> None:
    """Property: with every event dated the day it is recorded, `balance`, `history` and
    `replay` as of a past day equal what they showed at the end of that day."""
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(resolve(str(Path(tmp) / "p.sqlite")))
        try:
            start = date(2026, 1, 1)
            ledger.open_pot(
                slug="p", name="P", currency="EUR", quorum=Decimal("0.5"), voting_days=7, treasurer="Ana", today=start
            )
            for name in CREW[1:]:
                ledger.change(
                    "p",
                    partial(Pot.add_member, actor="Ana", name=name, treasurer=False, today=start),
                )
            seen: list[tuple[date, BalanceReport, list[tuple[dict[str, Any], int]], int]] = []
            for offset, actions in enumerate(days):
                today = start + timedelta(days=offset)
                for action in actions:
                    with contextlib.suppress(PotError):  # a refused command stores nothing
                        ledger.change("p", partial(act, action=action, today=today))
                info = ledger.resolve_pot("p")
                with ledger.read() as conn:
                    steps = list(replay_steps(conn, info))
                    seen.append(
                        (
                            today,
                            queries.balance(conn, info, None, today),
                            list(queries.history_items(conn, info)),
                            steps[-1].balance_after_minor,
                        )
                    )
            final = start + timedelta(days=len(days) + 3)
            info = ledger.resolve_pot("p")
            with ledger.read() as conn:
                for day, balance, history, replayed in seen:
                    assert queries.balance(conn, info, day, final) == balance
                    assert list(queries.history_items(conn, info, until=day)) == history
                    assert list(replay_steps(conn, info, as_of=day))[-1].balance_after_minor == replayed
                    assert format_amount(replayed, 2) == balance.balance
        finally:
            ledger.close()


def test_a_multi_line_note_stays_on_its_event_line(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "reflect", "1", "--feeling", "calm", "--note", "first\nsecond").code == 0
    assert pot(crew, "--as", "Bo", "propose", "5", "--purpose", "rent\nand deposit").code == 0
    lines = pot(crew, "replay").out.splitlines()
    # Every line but the title and the end is an event or a reflection under one: no note spills into column 0.
    assert [line for line in lines[1:-1] if not line.startswith(" ")] == []
    assert any(line.endswith("Bo felt calm: first second") for line in lines)
    assert any(line.endswith("Bo proposed 5.00 for rent and deposit (proposal 1)") for line in lines)


def test_replay_as_of_a_day_leaves_out_reflections_noted_after_it(crew: Path) -> None:
    assert pot(crew, "--as", "Bo", "reflect", "1", "--feeling", "hopeful", today="2026-03-05").code == 0
    steps = [json.loads(line) for line in pot(crew, "replay", "--as-of", "2026-03-04", "--json").out.splitlines()]
    assert steps[0]["reflections"] == []
    later = [json.loads(line) for line in pot(crew, "replay", "--json", today="2026-03-05").out.splitlines()]
    assert later[0]["reflections"] == [{"member": "Bo", "feeling": "hopeful", "note": ""}]


def test_a_replay_stopped_by_to_says_the_history_goes_on(crew: Path) -> None:
    assert (
        pot(crew, "replay", "--to", "3").out.splitlines()[-1]
        == "end of the replay at event 3: the history goes on to event 5"
    )
    assert pot(crew, "replay", "--from", "4").out.splitlines()[-1] == "end of the history"
    assert pot(crew, "replay", "--as-of", "2026-01-01").out.splitlines()[-1] == "end of the history as of 2026-01-01"
