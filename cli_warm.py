"""`pot`'s entry point: hand the command to a warm `pot` when one is running (issue 22).

A `pot` process spends far longer loading its libraries (SQLAlchemy, pydantic, eventsourcing, click)
than doing its work: a write loads about twenty times what it then does. So, as Rails' Spring does, a
command starts a warm process in the background (`cli_warm_server`), which loads them once and forks a
child for each later command. This module is the client. It imports nothing but the interpreter's own
`os`, `sys` and `_socket`; it gives the child its arguments, working directory, umask, environment
and its three standard streams themselves (SCM_RIGHTS), so the child runs the very same `cli_quick.main`
and writes to this terminal, file or pipe directly. It forwards Ctrl-C and the other signals a shell
sends to the child and exits with the child's code.

The command runs here, cold, as before when `POT_WARM=0`, when no warm process for this code is
running, when it says its code changed, when the folder that holds its socket is not this user's
alone, and for the commands that need this process's own terminal or run until stopped
(`COLD_COMMANDS`). A cold run then starts a warm process for the next command, unless `POT_WARM=0`.
A warm process that has had no command for `POT_WARM_IDLE` seconds (15 minutes) ends itself.
"""

from __future__ import annotations

import os
import sys

PROTOCOL = "commonpot-warm-1"
# Commands that need this process's own terminal (`replay --step` reads keys, `db` may ask a password
# through /dev/tty) or that run until stopped (`serve`): a forked child has no controlling terminal.
COLD_COMMANDS = frozenset({"serve", "replay", "db"})
# The group's options that take a value (`cli.main`'s); the command is the first word that is not one.
VALUED_OPTIONS = frozenset({"--db", "--pot", "--as", "--today", "--key"})
# What decides which code, and which text encodings, a warm process would run with: one per set.
KEYED_BY = ("PYTHONPATH", "PYTHONUTF8", "LC_ALL", "LC_CTYPE", "LANG")
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
IDLE_SECONDS = 15 * 60


def command_of(argv: list[str]) -> str | None:
    """The command word in `pot`'s arguments, skipping the group's options and their values."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":  # noqa: S105 - the end of options, not a password
            return argv[i + 1] if i + 1 < len(argv) else None
        if not token.startswith("-"):
            return token
        i += 2 if token in VALUED_OPTIONS else 1
    return None


def enabled(environ: os._Environ[str] | dict[str, str]) -> bool:
    return environ.get("POT_WARM", "1").strip().lower() not in {"0", "no", "off", "false"}


def socket_path(environ: os._Environ[str] | dict[str, str]) -> str | None:
    """Where this user's warm `pot` for this code listens, or None when that folder is not safe to use.

    The folder is `POT_WARM_DIR`, else `$XDG_RUNTIME_DIR/commonpot`, else `/tmp/commonpot-UID`. It must be
    a real folder (not a link), owned by this user, and closed to everyone else: whoever can reach the
    socket runs `pot` as this user.
    """
    folder = environ.get("POT_WARM_DIR") or (
        os.path.join(environ["XDG_RUNTIME_DIR"], "commonpot")
        if environ.get("XDG_RUNTIME_DIR")
        else f"/tmp/commonpot-{os.getuid()}"  # noqa: S108 - checked below: a folder of ours, closed to others
    )
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(folder)
    except OSError:
        return None
    if (st.st_mode & 0o170000) != 0o040000 or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    here = os.path.dirname(os.path.abspath(__file__))
    key = "\0".join([sys.executable, here, *(environ.get(name, "") for name in KEYED_BY)])
    return os.path.join(folder, f"pot-{_fnv(key):016x}.sock")


def _fnv(text: str) -> int:
    """A stable 64-bit hash (FNV-1a) for the socket's name; `hash()` changes per process, hashlib is slow to load."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def request(argv: list[str]) -> bytes:
    """What the child needs to be this process: fields joined by NUL, which no argument or variable holds."""
    mask = os.umask(0)
    os.umask(mask)
    streams = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        streams += [getattr(stream, "encoding", None) or "utf-8", getattr(stream, "errors", None) or "strict"]
    fields = [PROTOCOL, os.getcwd(), str(mask), *streams, str(len(argv)), *argv]
    fields += [f"{name}={value}" for name, value in os.environ.items()]
    return "\0".join(fields).encode("utf-8", "surrogateescape")


def run_warm(path: str, argv: list[str]) -> int | None:
    """Run the command in the warm process at `path`: its exit code, or None when it did not run there."""
    import _socket

    try:
        payload = request(argv)
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return None
    child = Child()
    try:
        conn.connect(path)
        child.catch_signals()  # From here a Ctrl-C is the command's: passed on, not a KeyboardInterrupt here.
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        sent = conn.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        conn.sendall(payload[sent:])
        conn.shutdown(_socket.SHUT_WR)
        lines = Lines(conn)
        first = lines.next()
        if first is None or not first.isdigit():
            child.release_signals()
            return None  # No answer, "stale" or "cold": the child ran nothing, so the command runs here.
        child.started(int(first))
        ending = lines.next()
    except OSError:
        if child.pid is None:
            child.release_signals()
            return None  # No warm process, or a closed stream here: nothing ran.
        ending = None
    finally:
        conn.close()
    return child.ended(ending)


class Lines:
    """The child's answers, a line at a time: its pid first, then how it ended."""

    def __init__(self, conn: object) -> None:
        self.conn, self.buffer = conn, b""

    def next(self) -> str | None:
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(64)  # type: ignore[attr-defined]
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("ascii", "replace")


class Child:
    """The warm child running our command: the signals we pass on to it, and how we end as it did."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.caught: list[int] = []
        self.handlers: dict[int, object] = {}

    def catch_signals(self) -> None:
        # `_signal`, not `signal`: the latter builds enums, which would load `enum` (4 ms) into every command.
        import _signal  # type: ignore[import-not-found]

        for name in SIGNALS:
            number = getattr(_signal, name)
            self.handlers[number] = _signal.signal(number, self.forward)

    def release_signals(self) -> None:
        import _signal

        for number, handler in self.handlers.items():
            _signal.signal(number, handler)
        for number in self.caught:
            os.kill(os.getpid(), number)  # Caught before anything ran: now this process's own.

    def forward(self, signum: int, _frame: object) -> None:
        self.caught.append(signum)
        if self.pid is not None:
            self.kill(signum)

    def started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.caught:
            self.kill(signum)  # Pressed while the child was being made.

    def kill(self, signum: int) -> None:
        try:  # noqa: SIM105 - contextlib would cost every command 4 ms to load
            os.kill(self.pid, signum)  # type: ignore[arg-type]
        except ProcessLookupError:
            pass

    def ended(self, ending: str | None) -> int:
        """The child's exit code; or, when a signal ended it, end this process by the same signal."""
        import _signal

        if ending is not None and ending.lstrip("-").isdigit():
            return int(ending)
        signum = int(ending[len("signal ") :]) if ending and ending.startswith("signal ") else None
        if signum is None and self.caught:
            signum = self.caught[-1]  # Ended by the signal we passed on, before it could say so.
        if signum is not None:
            _signal.signal(signum, _signal.SIG_DFL)
            os.kill(os.getpid(), signum)  # So a shell sees the status it would have seen.
        sys.stderr.write("error: the warm pot process ended without an answer\n")
        return 1


def start_warm(path: str) -> None:
    """Start a warm process for the next command, detached from this terminal; it loads in the background."""
    try:  # noqa: SIM105 - as above
        os.posix_spawn(
            sys.executable,
            # -P: never import from the working folder a module that shadows ours.
            [sys.executable, "-P", "-m", "cli_warm_server", path],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
        )
    except OSError:
        pass  # Only the next command's speed depends on it.


def main() -> None:
    argv = sys.argv
    path = None
    if enabled(os.environ) and command_of(argv[1:]) not in COLD_COMMANDS:
        path = socket_path(os.environ)
    if path is not None:
        code = run_warm(path, argv)
        if code is not None:
            sys.exit(code)
    try:
        from cli_quick import main as cold

        cold()
    finally:
        if path is not None:
            start_warm(path)


if __name__ == "__main__":  # pragma: no cover
    main()
