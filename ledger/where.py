"""Where a SQLite store is: `--db` as a file, checked before anything opens it (issue 22).

The CLI's quick read (`cli_quick`, `ledger.views`) finds its file here, with `os` alone:
pathlib (with urllib.parse and ipaddress) and `ledger.store`'s settings (dataclasses)
cost more than the read itself. Paths are written in messages as pathlib writes them
(`str(Path(db))`), so a message is the same whichever module checked the file.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from domain.errors import BadInput, UnknownPot

if TYPE_CHECKING:
    from pathlib import Path

# Seconds a writer waits for another writer's lock before giving up.
LOCK_TIMEOUT_SECONDS = 30
# The first bytes of every SQLite 3 database file, and the table the library keeps a store's events in.
SQLITE_HEADER = b"SQLite format 3\x00"
EVENTS_TABLE = "stored_events"


def is_database_url(db: str | None) -> bool:
    """Whether `--db` names a database server (`postgresql://…`) rather than a SQLite file."""
    return bool(db) and "://" in str(db)


def default_path() -> Path:
    """The store used when no `--db` (nor POT_DB) is given: `pots.sqlite` in the user's data directory."""
    from platformdirs import user_data_path

    return user_data_path("commonpot", appauthor=False) / "pots.sqlite"


def sqlite_store(db: str | None, *, create: bool) -> str:
    """The SQLite store `--db` (a path, or none) names, absolute, checked as `ledger.store.resolve` checks it;
    its folder made if needed. A store that does not exist is refused unless `create`."""
    path = _as_pathlib_writes(db) if db else str(default_path())
    if _is(path, "dir"):
        raise BadInput(f"--db {path!r} is a directory: give a file path or a database URL")
    exists = _is(path, "there")
    if not create and not exists:
        raise UnknownPot(f"there is no pot store at {path!r}: open a pot with `pot init NAME --currency EUR --as YOU`")
    if exists:
        _refuse_a_foreign_file(path)
    parent = _parent(path)
    if db:
        # A mistyped folder is an error; only the default data directory is made on first use.
        if not _is(parent, "dir"):
            raise BadInput(f"--db {db!r}: the folder {parent!r} does not exist")
    else:
        os.makedirs(parent, exist_ok=True)
    return _resolved(path)


def _resolved(path: str) -> str:
    """`str(Path(path).resolve())`: absolute, symlinks followed, a symlink loop refused as pathlib refuses it."""
    resolved = os.path.realpath(path)
    try:
        os.stat(resolved)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RuntimeError(f"Symlink loop from {e.filename!r}") from None
    return resolved


def _as_pathlib_writes(text: str) -> str:
    """`str(pathlib.PurePosixPath(text))`: no empty or `.` parts, and a leading `//` kept as POSIX allows."""
    if os.sep != "/":  # pragma: no cover - Windows: pathlib's own rules
        from pathlib import Path

        return str(Path(text))
    root = ""
    if text.startswith("/"):
        stripped = text.lstrip("/")
        root = "//" if len(text) - len(stripped) == 2 else "/"
        text = stripped
    return root + "/".join(part for part in text.split("/") if part and part != ".") or "."


def _parent(path: str) -> str:
    """`str(Path(path).parent)` of a path as pathlib writes it."""
    head, sep, _ = path.rpartition("/")
    if not sep:
        return "."
    if not head or head == "/":  # "/name" and "//name": the root itself
        return path[: len(path) - len(path.lstrip("/"))]
    return head


# What pathlib's `exists()` and `is_dir()` take as "no" rather than an error (3.11's `_ignore_error`).
_IGNORED = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)


def _is(path: str, what: str) -> bool:
    """`Path(path).exists()` ("there") or `.is_dir()` ("dir"), with pathlib's answers to the same errors."""
    try:
        status = os.stat(path)
    except OSError as e:
        if e.errno not in _IGNORED:
            raise
        return False
    except ValueError:
        return False
    if what == "dir":
        import stat

        return stat.S_ISDIR(status.st_mode)
    return True


def _refuse_a_foreign_file(name: str) -> None:
    """Refuse a file that is not a pot store before anything is written to it.

    Opening a store creates its tables, so a mistyped `--db` naming some other
    file must be stopped here: a non-SQLite file would otherwise fail deep in the
    library, and another program's SQLite database would get our tables.
    An empty file is a new store, as SQLite treats it.
    """
    import sqlite3

    advice = "give a pot store's file, or a new file name"
    try:
        with open(name, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
        if not header:
            return
        if header != SQLITE_HEADER:
            raise BadInput(f"--db {name!r} is not a SQLite database: {advice}")
        conn = sqlite3.connect(name, timeout=LOCK_TIMEOUT_SECONDS)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except OSError as e:
        raise BadInput(f"--db {name!r} cannot be read ({e.strerror}): {advice}") from None
    except sqlite3.DatabaseError as e:
        raise BadInput(f"--db {name!r} is not a readable SQLite database ({e}): {advice}") from None
    if tables and EVENTS_TABLE not in tables:
        raise BadInput(f"--db {name!r} is another program's SQLite database (it holds no pot events): {advice}")
