"""The warm `pot`: load the libraries once, then fork a child for each command (issue 22).

`cli_warm` (the `pot` entry point) starts this in the background as `python -P -m cli_warm_server SOCKET`.
It takes a lock beside the socket so only one runs per socket, imports everything a command may
need except the web app, notes the size and time of every file it loaded, and listens. For each
connection it forks: the parent goes straight back to listening and never reads what a client sends;
the child checks the peer is this user, takes the client's arguments, folder, umask, environment and
standard streams, and runs `cli_quick.main` as a fresh `pot` would. The child opens the store itself,
so no database connection ever crosses a fork.

When any loaded file changed since it started (a `git pull`, a `pip install`), the next client is told
"stale": it runs cold, and this process ends, so the next command gets a warm process with the new
code. It also ends after `POT_WARM_IDLE` seconds without a command.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
from pathlib import Path

from cli_warm import IDLE_SECONDS, PROTOCOL

# The web app's packages (FastAPI, uvicorn) serve only `pot serve`, which never runs warm.
NOT_PRELOADED = ("web", "tests", "bench")
PACKAGES = ("domain", "ledger", "projections", "cli_commands")


def preload() -> None:
    """Import what any command would, so a child imports nothing (the libraries' lazy parts too)."""
    import importlib
    import pkgutil

    import cli  # noqa: F401 - loaded for the children
    import cli_quick  # noqa: F401
    import cli_reads  # noqa: F401

    for name in PACKAGES:
        package = importlib.import_module(name)
        for found in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(found.name)
    # Loaded on first use by the engine and the event store, so a child would load them every time.
    for name in ("sqlalchemy.dialects.sqlite.pysqlite", "eventsourcing.sqlite", "sqlite3"):
        importlib.import_module(name)


# Run once, in this process, on a scratch store before any client: what a command does only the first
# time in a process (pydantic's deferred schemas, SQLAlchemy's compiled statements, ICU, the lru caches)
# is then done, and each child starts from there. `demo` records every kind of event.
WARM_UP = (
    ["demo"],
    ["--no-sign", "--as", "Ana", "contribute", "Bo", "1"],
    ["--no-sign", "--as", "Bo", "propose", "1", "--purpose", "warm-up"],
    ["--no-sign", "--as", "Cy", "vote", "4", "agree"],
    *([name] for name in ("balance", "members", "proposals", "history", "trust", "pledges", "rules")),
    *([name, "--json"] for name in ("balance", "members", "proposals", "history", "trust", "pledges", "rules")),
    ["proposal", "1"],
    ["--help"],
    ["vote", "--help"],
)


def warm_up() -> None:
    """Run `WARM_UP` on a scratch store that is then deleted; its output goes nowhere.

    It runs with the scratch folder as its home, so no key, default store or setting of the user's is read.
    """
    import contextlib
    import io
    import tempfile

    from cli_quick import main

    with tempfile.TemporaryDirectory(prefix="pot-warm-") as scratch:
        own = dict(os.environ)
        os.environ.update({name: scratch for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")})
        store = os.path.join(scratch, "warm-up.sqlite")
        for args in WARM_UP:
            sys.argv = ["pot", "--db", store, *args]
            quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
            with quiet[0], quiet[1], contextlib.suppress(SystemExit):
                main()
        os.environ.clear()
        os.environ.update(own)
    gc.collect()  # The scratch ledgers' connections are closed before any fork.


def fingerprint() -> dict[str, tuple[int, int, int]]:
    """Size, change time and inode of every file this process loaded code from, and of the interpreter."""
    files = {sys.executable}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            files.add(path)
    seen: dict[str, tuple[int, int, int]] = {}
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            continue
        seen[path] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return seen


def unchanged(seen: dict[str, tuple[int, int, int]]) -> bool:
    for path, was in seen.items():
        try:
            st = os.stat(path)
        except OSError:
            return False
        if (st.st_size, st.st_mtime_ns, st.st_ino) != was:
            return False
    return True


def serve(path: str) -> None:
    """Listen at `path` until idle or stale; fork a child per command."""
    import fcntl
    import signal

    os.chdir("/")  # Hold no folder of the user's open; each child moves to its client's.
    lock = open(f"{path}.lock", "a")  # noqa: SIM115 - held for this process's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # Another warm process holds this socket.
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")  # Who to stop: `kill $(cat SOCKET.lock)`.
    lock.flush()
    idle = float(os.environ.get("POT_WARM_IDLE") or IDLE_SECONDS)
    for name in [name for name in os.environ if name.startswith("POT_")]:
        del os.environ[name]  # The warm-up must never reach the store, pot or member the starting client named.
    preload()
    warm_up()
    if threading.active_count() != 1:
        return  # A fork copies only the calling thread; a library that started one makes forking unsafe.
    seen = fingerprint()
    Path(path).unlink(missing_ok=True)  # One left by a process that was killed; the lock says it is gone.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old_mask)
    listener.listen(64)
    listener.settimeout(idle)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # The kernel reaps the children; nobody waits for them.
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` ends the loop and removes the socket.
    gc.freeze()  # What is loaded now stays shared with every child instead of being copied when gc visits it.
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            if not unchanged(seen):
                conn.sendall(b"stale\n")
                conn.close()
                return
            if os.fork() == 0:
                listener.close()
                lock.close()
                os._exit(child(conn))
            conn.close()
    except KeyboardInterrupt:
        return
    finally:
        listener.close()
        Path(path).unlink(missing_ok=True)


def child(conn: socket.socket) -> int:
    """Become the client's `pot` process and run its command; the code to exit with."""
    import signal
    import struct

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # A command's own subprocesses are waited for.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    if uid != os.getuid():
        return 1  # Defence in depth: the folder is closed to other users already.
    payload, fds = receive(conn)
    fields = payload.decode("utf-8", "surrogateescape").split("\0")
    if len(fds) != 3 or len(fields) < 10 or fields[0] != PROTOCOL:
        conn.sendall(b"cold\n")
        return 1
    cwd, mask, encodings, count = fields[1], int(fields[2]), fields[3:9], int(fields[9])
    argv, variables = fields[10 : 10 + count], fields[10 + count :]
    try:
        os.chdir(cwd)
    except OSError:
        conn.sendall(b"cold\n")  # The folder went away: the cold run says so as `pot` always has.
        return 1
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.umask(mask)
    os.environ.clear()
    os.environ.update(variable.split("=", 1) for variable in variables if "=" in variable)  # type: ignore[misc]
    import time

    time.tzset()  # The client's TZ, for today's date.
    sys.argv = argv
    _standard_streams(encodings)
    conn.sendall(f"{os.getpid()}\n".encode())
    ending = _run()
    conn.sendall(f"{ending}\n".encode())
    return int(ending) if ending.lstrip("-").isdigit() else 1


def receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    """The whole request (until the client stops sending) and the descriptors that came with it."""
    payload, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    chunks = [payload]
    while payload:
        payload = conn.recv(1 << 16)
        chunks.append(payload)
    return b"".join(chunks), fds


def _standard_streams(encodings: list[str]) -> None:
    """sys.stdin, stdout and stderr over the client's descriptors, as Python makes them at start-up."""
    import io

    made: list[io.TextIOWrapper] = []
    for fd, (encoding, errors) in enumerate(zip(encodings[0::2], encodings[1::2], strict=True)):
        raw = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        interactive = raw.isatty()
        buffered = io.BufferedReader(raw) if fd == 0 else io.BufferedWriter(raw)
        made.append(
            io.TextIOWrapper(
                buffered,
                encoding=encoding,
                errors=errors,
                newline="\n",
                # As CPython: stdout is line-buffered on a terminal, stderr always.
                line_buffering=fd == 2 or (fd == 1 and interactive),
            )
        )
    sys.stdin, sys.stdout, sys.stderr = made
    # What Python calls the original streams: code that restores them must get the client's too.
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = made  # type: ignore[misc]


_ENDED: list[BaseException] = []


def _run() -> str:
    """Run `pot` as `python -m` would: the exit code, or "signal N" for an interrupt nothing caught."""
    import atexit
    import traceback

    from cli_quick import main

    code = 0
    try:
        main()
    except SystemExit as e:
        # Kept until os._exit, as a cold `pot` keeps it until the interpreter ends without finalizing what it
        # holds; freed here, an interrupted command's open generators would print "Exception ignored" lines.
        _ENDED.append(e)
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        traceback.print_exc()
        _flush()
        return "signal 2"
    except BaseException as e:
        _ENDED.append(e)
        traceback.print_exc()
        code = 1
    atexit._run_exitfuncs()
    _flush()
    return str(code)


def _flush() -> None:
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # A reader that went away (`| head`): as Python's exit.
            stream.flush()


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m cli_warm_server SOCKET  (started by `pot` itself)")
    serve(sys.argv[1])


if __name__ == "__main__":
    main()
