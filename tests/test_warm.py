"""The warm `pot` (cli_warm, cli_warm_server; issue 22): each command answered exactly as a cold `pot`
answers it, never from a stale store or stale code, and reachable by nobody but its user."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
import cli_warm
from tests.conftest import fingerprint, pot

POT = str(Path(sys.executable).parent / "pot")
# A `pot` that runs its command warm or not at all: exit 99 and "NOT WARM" when no warm process took it.
WARM_ONLY = """
import os, sys
import cli_warm
path = cli_warm.socket_path(os.environ)
code = cli_warm.run_warm(path, ["pot", *sys.argv[1:]]) if path else None
if code is None:
    sys.stderr.write("NOT WARM\\n")
    sys.exit(99)
sys.exit(code)
"""


class Warm:
    """A warm process's folder and environment; it is started by the first cold `pot` run with them."""

    def __init__(self, folder: Path, home: Path, **extra: str) -> None:
        self.folder = folder
        base = {k: v for k, v in os.environ.items() if not k.startswith("POT_")}
        self.env = {**base, "HOME": str(home), "POT_WARM": "1", "POT_WARM_DIR": str(folder), **extra}
        self.cold_env = {**self.env, "POT_WARM": "0"}

    def socket(self) -> Path | None:
        found = sorted(self.folder.glob("pot-*.sock"))
        return found[0] if found else None

    def pid(self) -> int | None:
        locks = sorted(self.folder.glob("pot-*.sock.lock"))
        text = locks[0].read_text().strip() if locks else ""
        return int(text) if text.isdigit() else None

    def start(self) -> int:
        """Run a cold `pot`, which starts the warm process; wait until it listens. Its pid."""
        assert pot_run(["--version"], self.env).returncode == 0
        self.wait(lambda: self.socket() is not None, "the warm process to listen")
        pid = self.pid()
        assert pid is not None
        return pid

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGTERM)
            self.wait(lambda: not alive(pid), "the warm process to end")

    @staticmethod
    def wait(done: object, what: str, seconds: float = 90) -> None:
        end = time.monotonic() + seconds
        while not done():  # type: ignore[operator]
            assert time.monotonic() < end, f"waited {seconds} s for {what}"
            time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # The warm process's parent is init, so an ended one is reaped at once; a zombie reads as ended.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def pot_run(
    args: list[str], env: dict[str, str], cwd: Path | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([POT, *args], env=env, cwd=cwd, input=stdin, capture_output=True, timeout=120, check=False)


def warm_run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        [sys.executable, "-c", WARM_ONLY, *args], env=env, cwd=cwd, capture_output=True, timeout=120, check=False
    )
    assert b"NOT WARM" not in done.stderr, "the command did not run warm"
    return done


def unstamped(out: bytes) -> bytes:
    """Output with the head digest masked: it covers when each event was stored, which two runs never share."""
    return re.sub(rb"head digest [0-9a-f]+", b"head digest ...", out)


def events(db: Path, env: dict[str, str]) -> list[dict[str, object]]:
    """The store's history without when each event was stored (and the digests that cover it)."""
    listed = json.loads(pot_run(["--db", str(db), "history", "--json"], env).stdout)
    return [{k: v for k, v in e.items() if k not in {"at", "digest"}} for e in listed]


@pytest.fixture(scope="module")
def crew(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("warm-crew") / "crew.sqlite"
    assert pot(db, "demo", today=None).code == 0
    assert pot(db, "balance", today=None).code == 0
    return db


@pytest.fixture(scope="module")
def warm_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warm]:
    """One warm process for the module's comparisons (it takes a second or two to load)."""
    home = tmp_path_factory.mktemp("warm-home")
    folder = home / "warm"
    folder.mkdir(mode=0o700)
    warm = Warm(folder, home, POT_WARM_IDLE="600")
    warm.start()
    yield warm
    warm.stop()


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[Warm]:
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    made = Warm(folder, tmp_path, POT_WARM_IDLE="600")
    yield made
    made.stop()


# --------------------------------------------------------------------------- the same answers
COMMANDS = [
    ["balance"],
    ["balance", "--json"],
    ["balance", "--as-of", "not-a-date"],
    ["members"],
    ["proposals", "--json"],
    ["proposal", "3"],
    ["proposal", "99"],
    ["history", "--since", "2026-03-01"],
    ["trust"],
    ["pledges", "--json"],
    ["rules"],
    ["triggers"],
    ["verify"],
    ["--as", "Ana", "contribute", "Bo", "2.50", "--note", "warm"],
    ["--as", "Ana", "contribute", "Bo", "-1"],
    ["--as", "Bo", "contribute", "Bo", "1"],
    ["--as", "Zed", "contribute", "Bo", "1"],
    ["--as", "Bo", "propose", "5", "--purpose", "tea"],
    ["--as", "Cy", "vote", "3", "agree"],
    ["--as", "Dee", "vote", "3", "block", "--reason", "not before March"],
    ["--as", "Ana", "pledge", "Cy", "--monthly", "20"],
    ["--help"],
    ["vote", "--help"],
    ["--version"],
    ["no-such-command"],
    ["contribute"],
]


@given(st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=4))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_warm_pot_answers_every_command_byte_for_byte_as_a_cold_one(
    crew: Path, warm_once: Warm, commands: list[list[str]]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cold_dir, warm_dir = Path(scratch, "cold"), Path(scratch, "warm")
        for where in (cold_dir, warm_dir):
            where.mkdir()
            shutil.copy(crew, where / "crew.sqlite")
        for args in commands:
            cold = pot_run(["--db", "crew.sqlite", *args], warm_once.cold_env, cwd=cold_dir)
            hot = warm_run(["--db", "crew.sqlite", *args], warm_once.env, cwd=warm_dir)
            answers = [(done.returncode, done.stdout, done.stderr) for done in (hot, cold)]
            if args == ["verify"]:
                # A write stores when it happened, and the head digest covers that: the one thing that differs.
                answers = [(code, unstamped(out), err) for code, out, err in answers]
            assert answers[0] == answers[1], args
        assert events(warm_dir / "crew.sqlite", warm_once.cold_env) == events(
            cold_dir / "crew.sqlite", warm_once.cold_env
        )


def test_the_pot_command_starts_a_warm_process_whose_writes_and_reads_meet_a_cold_pots(
    crew: Path, warm: Warm, tmp_path: Path
) -> None:
    db = tmp_path / "crew.sqlite"
    shutil.copy(crew, db)
    assert warm.socket() is None
    warm.start()  # by a cold run of the installed `pot`, as a treasurer's first command would
    assert oct(warm.folder.stat().st_mode & 0o777) == "0o700"
    assert oct(warm.socket().stat().st_mode & 0o777) == "0o600"  # type: ignore[union-attr]

    before = json.loads(pot_run(["--db", str(db), "balance", "--json"], warm.cold_env).stdout)["balance"]
    assert warm_run(["--db", str(db), "--as", "Ana", "contribute", "Bo", "7"], warm.env).returncode == 0
    after_warm = json.loads(pot_run(["--db", str(db), "balance", "--json"], warm.cold_env).stdout)["balance"]
    assert pot_run(["--db", str(db), "--as", "Ana", "contribute", "Bo", "3"], warm.cold_env).returncode == 0
    seen_warm = json.loads(warm_run(["--db", str(db), "balance", "--json"], warm.env).stdout)["balance"]
    # The installed command goes warm too, and reads the same.
    seen_pot = json.loads(pot_run(["--db", str(db), "balance", "--json"], warm.env).stdout)["balance"]
    assert [float(x) for x in (before, after_warm, seen_warm, seen_pot)] == [
        float(before),
        float(before) + 7,
        float(before) + 10,
        float(before) + 10,
    ]


def test_a_changed_code_file_sends_the_next_command_cold_and_a_new_warm_process_loads_it(
    crew: Path, warm: Warm, tmp_path: Path
) -> None:
    db = tmp_path / "crew.sqlite"
    shutil.copy(crew, db)
    first = warm.start()
    changed = Path(cli.__file__).with_name("cli_reads.py")
    stat = changed.stat()
    try:
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # as a `git pull` would
        stale = subprocess.run(
            [sys.executable, "-c", WARM_ONLY, "--db", str(db), "balance"], env=warm.env, capture_output=True
        )
        assert stale.returncode == 99  # the warm process ran nothing
        Warm.wait(lambda: not alive(first), "the stale warm process to end")
        answered = pot_run(["--db", str(db), "balance", "--json"], warm.env)  # runs cold, starts a new one
        assert answered.returncode == 0
        assert json.loads(answered.stdout)["pot"] == "demo-crew"
        Warm.wait(lambda: warm.pid() not in (None, first) and warm.socket() is not None, "a new warm process")
    finally:
        os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _open_to_write(path: Path, opened: list[int]) -> None:
    opened.append(os.open(path, os.O_WRONLY))


def test_ctrl_c_reaches_the_warm_command_which_ends_as_a_cold_one_storing_nothing(
    crew: Path, warm: Warm, tmp_path: Path
) -> None:
    warm.start()
    endings = []
    for env in (warm.cold_env, warm.env):
        db = tmp_path / f"crew-{env['POT_WARM']}.sqlite"
        shutil.copy(crew, db)
        was = fingerprint(db)
        # The statement is a pipe: opening it for writing returns once `pot import` has opened it to read,
        # which it does only inside the command, all loaded; it then waits for a line that never comes.
        statement = tmp_path / f"statement-{env['POT_WARM']}.csv"
        os.mkfifo(statement)
        running = subprocess.Popen(
            [POT, "--db", str(db), "--as", "Ana", "import", str(statement)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        opened: list[int] = []
        opener = threading.Thread(target=_open_to_write, args=(statement, opened), daemon=True)
        opener.start()
        opener.join(90)
        assert opened, "pot import never opened its statement"
        time.sleep(0.5)
        running.send_signal(signal.SIGINT)  # what a terminal sends the foreground process on Ctrl-C
        out, err = running.communicate(timeout=60)
        os.close(opened[0])
        endings.append((running.returncode, out, err))
        assert fingerprint(db) == was
    assert endings[1] == endings[0]
    assert endings[0][0] == 1
    assert endings[0][2].endswith(b"error: aborted\n")


# --------------------------------------------------------------------------- nobody else, nothing else
def test_a_folder_others_can_enter_or_a_link_is_never_used(crew: Path, tmp_path: Path) -> None:
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o755)
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    for folder in (open_folder, link):
        warm = Warm(folder, tmp_path)
        assert cli_warm.socket_path(warm.env) is None
        done = pot_run(["--db", str(crew), "balance", "--json"], warm.env)
        assert done.returncode == 0
        assert json.loads(done.stdout)["pot"] == "demo-crew"
    time.sleep(2)  # a warm process would have made its lock file at once
    assert list(open_folder.iterdir()) == []
    assert list(real.iterdir()) == []


def test_pot_warm_0_starts_no_warm_process(crew: Path, warm: Warm) -> None:
    assert pot_run(["--db", str(crew), "members"], warm.cold_env).returncode == 0
    time.sleep(2)
    assert list(warm.folder.iterdir()) == []


OTHER_USER = 65534  # nobody
CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("refused")
    raise SystemExit
s.sendall(b"commonpot-warm-1\\0/\\0" + b"18\\0" + b"x\\0" * 6 + b"1\\0pot")
s.shutdown(socket.SHUT_WR)
try:
    answer = s.recv(64)
except ConnectionResetError:
    answer = b""
print(repr(answer) if answer else "closed")
"""


@pytest.fixture
def reachable(tmp_path: Path) -> Iterator[Path]:
    """A folder in /tmp that every user may pass through, for the warm folder inside it."""
    if os.getuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to act as another user) and a python3 that user may run")
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def as_other_user(socket_path: Path) -> str:
    done = subprocess.run(
        ["/usr/bin/python3", "-I", "-c", CONNECT, str(socket_path)],
        user=OTHER_USER,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_another_user_cannot_reach_the_warm_process_nor_run_a_command_if_its_socket_were_opened(
    reachable: Path, crew: Path
) -> None:
    folder = reachable / "warm"
    folder.mkdir(mode=0o700)
    warm = Warm(folder, reachable, POT_WARM_IDLE="600")
    try:
        warm.start()
        sock = warm.socket()
        assert sock is not None
        assert as_other_user(sock) == "refused"  # the folder (0700) and the socket (0600) are ours alone
        folder.chmod(0o755)
        sock.chmod(0o666)  # as if both were opened to all: the child asks the kernel who is calling
        assert as_other_user(sock) == "closed"  # it closes without running anything
        folder.chmod(0o700)
        assert warm_run(["--db", str(crew), "members"], warm.env).returncode == 0
    finally:
        warm.stop()


def test_a_request_that_is_not_pots_runs_nothing(warm: Warm) -> None:
    warm.start()
    for garbage in (b"hello", b"commonpot-warm-1\0only\0three"):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(warm.socket()))
        conn.sendall(garbage)  # and no standard streams with it
        conn.shutdown(socket.SHUT_WR)
        assert conn.recv(64) == b"cold\n"
        conn.close()
    pid = warm.pid()
    assert pid is not None
    assert alive(pid)


def test_the_warm_up_never_touches_the_store_pot_or_member_the_starting_command_named(
    crew: Path, tmp_path: Path
) -> None:
    db = tmp_path / "crew.sqlite"
    shutil.copy(crew, db)
    was = fingerprint(db)
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    warm = Warm(folder, tmp_path, POT_DB=str(db), POT_NAME="demo-crew", POT_AS="Ana")
    try:
        warm.start()  # its warm-up records a demo crew, votes and contributes: elsewhere
        assert fingerprint(db) == was
        made = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm")))
        assert made == ["crew.sqlite", "warm"]  # (the fingerprint's own read leaves SQLite's -wal and -shm)
    finally:
        warm.stop()


def test_a_warm_process_with_nothing_to_do_ends_and_removes_its_socket(tmp_path: Path) -> None:
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    warm = Warm(folder, tmp_path, POT_WARM_IDLE="1")
    pid = warm.start()
    Warm.wait(lambda: not alive(pid), "the idle warm process to end")
    assert warm.socket() is None


# --------------------------------------------------------------------------- which commands go warm
@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["balance"], "balance"),
        (["--db", "serve", "balance"], "balance"),
        (["--db=x.sqlite", "--as", "Ana", "serve", "--port", "1"], "serve"),
        (["--pot", "db", "db", "grant"], "db"),
        (["--no-sign", "--key", "k", "vote", "1", "agree"], "vote"),
        (["--today", "2026-01-01", "--", "replay"], "replay"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_is_found_past_the_groups_options(argv: list[str], command: str | None) -> None:
    assert cli_warm.command_of(argv) == command


def test_every_cold_command_is_a_command() -> None:
    commands = set(cli.main.list_commands(None))  # type: ignore[arg-type]
    assert commands >= cli_warm.COLD_COMMANDS
    valued = {opt for p in cli.main.params if isinstance(p, click.Option) and not p.is_flag for opt in p.opts}
    assert valued == cli_warm.VALUED_OPTIONS
