"""Where the events and views live: one place that turns `--db` into settings.

A file path means SQLite (the library's own `eventsourcing.sqlite` recorder, the
fastest measured); a `postgresql…` URL means the library's `eventsourcing.postgres`
recorder. Read models go into tables of the same database through SQLAlchemy.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.errors import BadInput, Refused
from ledger import where
from ledger.where import EVENTS_TABLE as EVENTS_TABLE
from ledger.where import LOCK_TIMEOUT_SECONDS as LOCK_TIMEOUT_SECONDS
from ledger.where import default_path as default_path

if TYPE_CHECKING:
    from sqlalchemy import Engine

# A `pot` process needs one connection for events at a time; a congregation runs many processes.
POSTGRES_POOL_SIZE = 1
POSTGRES_MAX_OVERFLOW = 2
# Key of the advisory lock that serialises creating tables, so processes starting together don't collide.
SETUP_LOCK_KEY = 0x706F74  # "pot"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# The execution option of the views' catch-up (ledger.engines.views_engine): its transactions hold only
# rows folded from the log, with the positions they reach, so they commit without waiting for the disk.
VIEWS_ONLY = "pot_views_only"


@dataclass(frozen=True)
class Store:
    """Settings for one store: the eventsourcing environment and the SQLAlchemy URL."""

    kind: str  # "sqlite" or "postgresql"
    sqlalchemy_url: str
    es_env: dict[str, str] = field(default_factory=dict)
    schema: str | None = None
    location: str = ""


def resolve(db: str | None, *, create: bool = True) -> Store:
    """Turn `--db` (or `POT_DB`) into a Store; no value means the user's data directory.

    With `create` false, a SQLite file that does not exist yet is refused rather
    than created, so a mistyped path in a query leaves nothing behind.
    """
    # Loaded here, not with the module: the CLI's quick read (ledger.views) finds its file with `ledger.where`.
    from eventsourcing.utils import get_topic

    from ledger.mapper import JSONTranscoder, PydanticMapper

    common = {
        "MAPPER_TOPIC": get_topic(PydanticMapper),
        "TRANSCODER_TOPIC": get_topic(JSONTranscoder),
        # Aggregates are always read fresh from the store: several processes write.
        "AGGREGATE_CACHE_MAXSIZE": "",
    }
    if db and "://" in db:
        return _postgres(db, common)
    absolute = sqlite_store(db, create=create)
    env = {
        **common,
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(absolute),
        "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
    }
    return Store("sqlite", f"sqlite:///{absolute}", env, location=str(absolute))


def sqlite_store(db: str | None, *, create: bool) -> Path:
    """The SQLite store `--db` (a path, or none) names, checked as `resolve` checks it; its folder made if needed."""
    return Path(where.sqlite_store(db, create=create))


# Files SQLite keeps beside a database while it is open or after a crash: writing over one loses data too.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_file(db: str | None) -> Path | None:
    """The absolute path of the SQLite store `--db` names (None for a database URL), touching nothing."""
    if db and "://" in db:
        return None
    return (Path(db) if db else default_path()).resolve()


def refuse_writing_over_store(db: str | None, output: Path) -> None:
    """Refuse an output file that is the SQLite store itself or one of its companion files.

    `export -o` and `report -o` replace the file they write, so naming the store
    there would destroy the whole ledger. Paths are compared resolved (symlinks,
    `..`) and, for files that exist, as the same file on disk (hard links, case).
    """
    base = sqlite_file(db)
    if base is None:
        return
    target = output.resolve()
    for suffix in ("", *SQLITE_COMPANIONS):
        kept = base.with_name(base.name + suffix)
        if target == kept or (target.exists() and kept.exists() and os.path.samefile(target, kept)):
            raise BadInput(
                f"-o {str(output)!r} is the pot store's own file ({kept.name}): writing there would destroy"
                " the ledger; give another file name"
            )


def display_location(db: str) -> str:
    """`--db` as `pot where` shows it: a file as an absolute path, a database URL with its password hidden."""
    if "://" not in db:
        return str(Path(db).absolute())
    from sqlalchemy.engine import make_url

    try:
        return make_url(db).render_as_string(hide_password=True)
    except Exception:
        # Not a URL SQLAlchemy can read, so it cannot say where a password is: show none of it.
        raise BadInput("--db is not a database URL") from None


def _postgres(url: str, common: dict[str, str]) -> Store:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        raise BadInput(f"--db {url!r} is not a database URL") from None
    if parsed.drivername in ("postgres", "postgresql"):
        # Heroku-style and plain URLs mean the same server: use the driver we ship (psycopg 3).
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "postgresql":
        raise BadInput(f"--db {url!r}: only SQLite files and postgresql:// URLs are supported")
    query: dict[str, Any] = dict(parsed.query)
    schema = query.pop("schema", None) or os.environ.get("POT_SCHEMA") or None
    if schema is not None and not _SCHEMA_NAME.fullmatch(str(schema)):
        raise BadInput(f"schema {schema!r}: use up to 63 lower-case letters, digits and _, not starting with a digit")
    env = {
        **common,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parsed.database or "postgres",
        "POSTGRES_HOST": parsed.host or "localhost",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": parsed.username or "postgres",
        "POSTGRES_PASSWORD": parsed.password or "",
        # The library waits forever for a lock by default; a crew would rather hear why.
        "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(LOCK_TIMEOUT_SECONDS * 2),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_POOL_SIZE": str(POSTGRES_POOL_SIZE),
        "POSTGRES_MAX_OVERFLOW": str(POSTGRES_MAX_OVERFLOW),
        "POSTGRES_PRE_PING": "y",
    }
    if schema:
        env["POSTGRES_SCHEMA"] = str(schema)
    sa_url = parsed.set(drivername="postgresql+psycopg", query=query)
    return Store(
        "postgresql",
        sa_url.render_as_string(hide_password=False),
        env,
        schema=str(schema) if schema else None,
        location=parsed.render_as_string(hide_password=True),
    )


def postgres_engine(store: Store) -> Engine:
    """A SQLAlchemy engine whose tables live in the same schema as the library's event tables."""
    from sqlalchemy import Connection, create_engine, event

    # Unqualified names resolve to the store's schema only, so `cp_*` views sit beside the events.
    options = f"-csearch_path={store.schema or 'public'} -clock_timeout={LOCK_TIMEOUT_SECONDS}s"
    engine = create_engine(
        store.sqlalchemy_url,
        pool_pre_ping=True,
        pool_size=1,
        max_overflow=POSTGRES_MAX_OVERFLOW,
        connect_args={"options": options, "connect_timeout": 10},
    )

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get(VIEWS_ONLY):
            # The views' catch-up only (ledger.engines.views_engine): rows derived from the log.
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")

    return engine


@contextmanager
def postgres_setup(engine: Engine, store: Store) -> Iterator[None]:
    """Hold the setup lock while tables are created; create the schema first if it is missing.

    `CREATE … IF NOT EXISTS` and the library's `CREATE OR REPLACE FUNCTION` still
    collide when several processes run them at the same moment on a new store.
    The schema is created only when it is missing: a writer role (`pot db setup`)
    may not create one, and PostgreSQL checks that before it sees the schema exists.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK_KEY})
        conn.commit()
        try:
            if store.schema and conn.execute(text("SELECT to_regnamespace(:s)"), {"s": store.schema}).scalar() is None:
                if not conn.execute(text("SELECT has_database_privilege(current_database(), 'CREATE')")).scalar():
                    raise Refused(
                        f"schema {store.schema!r} does not exist and this database role may not create it:"
                        " ask whoever administers the database to run `pot --db ADMIN_URL db setup --writer ROLE`"
                    )
                # The name was checked against _SCHEMA_NAME: it is a plain identifier.
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{store.schema}"'))
            conn.commit()
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK_KEY})
            conn.commit()
