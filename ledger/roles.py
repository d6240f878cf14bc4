"""PostgreSQL roles for a shared store: an owner for schema changes, a writer that every front end signs in as.

The triggers that keep events and snapshots append-only stop anyone who may not
switch them off, which is everyone but the tables' owner (and superusers). So on
a shared server the role `pot` signs in as must not own them: `pot db setup`,
run by whoever administers the database, makes an owner role that owns every
table (only it may ALTER them or disable their triggers) and a writer role that
may add and read events and snapshots and keep the views, nothing more.

At start-up `open_postgres` tells the two apart: a role with its owner's
privileges (or a store with no tables yet) creates what is missing, as before;
a writer creates nothing and checks that the set-up it relies on is there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text

from domain.errors import BadInput, Refused
from ledger.engines import append_only_postgres, append_only_tables, create_view_tables, missing_append_only
from ledger.store import Store, postgres_setup
from projections.tables import metadata

A = TypeVar("A")

# A plain, unquoted PostgreSQL identifier: what a crew can type and read back, and safe inside SQL.
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# The library names its tables after the application (`PotApplication.name`): commonpot_events, …
EVENTS_TABLE = "commonpot_events"
# Runs as the owner (SECURITY DEFINER): the writer's one way to take the events table's write lock.
LOCK_FUNCTION = "pot_lock_events"
# The trigger function (ledger.engines): owned by the owner too, or its owner could rewrite it to allow anything.
APPEND_ONLY_FUNCTION = "pot_append_only"
# What the writer may do to the views (`cp_*`, and `cp_positions`, the tracking table): a catch-up
# inserts and updates rows and moves its position (SELECT … FOR UPDATE needs UPDATE), and
# `pot rebuild` empties them with DELETE. TRUNCATE is not needed, so not granted.
VIEW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# Tables beside the views whose rows are numbered by a sequence the writer must be able to use.
SERIAL_COLUMNS = (("web_failed_sign_ins", "id"),)
# The payouts' receipts (SPEC §8, ledger.receipts): kept like events, SELECT and INSERT only.
RECEIPTS_TABLE = "receipts"


def _ask_admin(problem: str) -> Refused:
    return Refused(f"{problem}: ask whoever administers the database to run `pot --db ADMIN_URL db setup`")


# --------------------------------------------------------------------------- start-up
def open_postgres(engine: Engine, store: Store, make_app: Callable[[dict[str, str]], A]) -> A:
    """Build the application on a PostgreSQL store, as its owner or as its writer.

    The owner (or whoever opens a store with no tables yet) creates missing tables,
    views and triggers. A writer may not: the library is told not to create its
    tables (`CREATE_TABLE`: its `CREATE TABLE IF NOT EXISTS` and `CREATE OR REPLACE
    FUNCTION` need privileges a writer lacks even when nothing is missing), and it
    takes the events table's write lock through the owner's function.
    """
    with postgres_setup(engine, store):
        with engine.connect() as conn:
            owner = _may_change_tables(conn)
        if owner:
            app = make_app(store.es_env)
            create_view_tables(engine)
            append_only_postgres(engine, append_only_tables(app))
            return app
        app = make_app({**store.es_env, "CREATE_TABLE": "no"})
        with engine.connect() as conn:
            _check_writer_store(conn, append_only_tables(app))
        _lock_through_function(app)
        return app


def _may_change_tables(conn: Connection) -> bool:
    """True when this role acts as the events table's owner, or there is no events table yet and it may make one."""
    owner = conn.execute(
        text("SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass(:t)"),
        {"t": EVENTS_TABLE},
    ).scalar()
    if owner is not None:
        return bool(owner)
    if not conn.execute(text("SELECT has_schema_privilege(current_schema(), 'CREATE')")).scalar():
        raise _ask_admin("this store has no tables yet and this database role may not create them")
    return True


def _check_writer_store(conn: Connection, tables: tuple[str, str]) -> None:
    """Refuse, in words, a store a writer cannot use: not granted, guard missing, or set up by an older `pot`."""
    granted = "SELECT bool_and(coalesce(has_table_privilege(to_regclass(t), 'SELECT, INSERT'), false))"
    if not conn.execute(text(f"{granted} FROM unnest(CAST(:t AS text[])) AS t"), {"t": list(tables)}).scalar():
        raise _ask_admin("this database role may not read and add this store's events and snapshots")
    names = [t.name for t in metadata.sorted_tables]
    missing = list(
        conn.execute(
            text("SELECT n FROM unnest(CAST(:n AS text[])) AS n WHERE to_regclass(n) IS NULL"), {"n": names}
        ).scalars()
    )
    if missing:
        raise _ask_admin(f"this store lacks tables this pot needs ({', '.join(missing)}): an older pot set it up")
    if missing_append_only(conn, tables):
        raise _ask_admin("this store's append-only triggers are missing")
    if conn.execute(text("SELECT to_regprocedure(:f)"), {"f": f"{LOCK_FUNCTION}()"}).scalar() is None:
        raise _ask_admin("this store has no write-lock function for its writer role")


def _lock_through_function(app: Any) -> None:
    """Make the events recorder take its table lock by calling the owner's function.

    The library serialises inserts with `LOCK TABLE … IN EXCLUSIVE MODE` (so the
    notification log has no gaps a reader could pass over), and PostgreSQL lets
    only a role with UPDATE, DELETE or TRUNCATE on a table take that lock. The
    writer has none of them; the function, owned by the owner, takes the same lock
    for it. A later library that locks some other way fails loudly here
    (permission denied), never silently.
    """
    from psycopg.sql import SQL, Identifier

    recorder = app.recorder
    keep = [s for s in recorder.lock_table_statements if not s.as_string().lstrip().upper().startswith("LOCK TABLE")]
    call = SQL("SELECT {}.{}()").format(Identifier(recorder.datastore.schema), Identifier(LOCK_FUNCTION))
    recorder.lock_table_statements = [*keep, call]


# --------------------------------------------------------------------------- pot db setup
@dataclass
class RolesSetUp:
    """What `pot db setup` did, for the command to show."""

    schema: str
    owner: str
    writer: str
    tables: list[str]
    views: list[str]
    created: list[str] = field(default_factory=list)
    password_set: bool = False


def parse_role(name: str, what: str) -> str:
    if not ROLE_NAME.fullmatch(name) or name.startswith("pg_"):
        raise BadInput(f"{what} {name!r}: use up to 63 lower-case letters, digits and _, not a digit or pg_ first")
    return name


def admin_store(db: str | None) -> Store:
    """The store `pot db setup` works on: a PostgreSQL URL only."""
    from ledger.store import resolve

    if db is None or "://" not in db:
        raise BadInput(
            "`pot db setup` is for a PostgreSQL store (--db postgresql://ADMIN@HOST/DB);"
            " a SQLite file is guarded by its file permissions"
        )
    return resolve(db)


def set_up_roles(store: Store, *, owner: str, writer: str, password: str | None) -> RolesSetUp:
    """Make (or repair) the owner and writer roles of a PostgreSQL store (`admin_store`); again after an upgrade.

    Creates the store's tables first if it has none (as `pot init` would), then,
    in one transaction: the roles, ownership of every pot table, type and function
    by the owner, the writer's grants, and a check, as the server sees it, that
    the writer can change nothing stored. Any failure leaves roles and grants as
    they were. `password` (None: keep the writer's, or none for a new role) is
    sent as a SCRAM verifier computed here, never as plain text.
    """
    parse_role(owner, "--owner")
    parse_role(writer, "--writer")
    if owner == writer:
        raise BadInput("--owner and --writer must be two different roles")
    from ledger.accounts import metadata as accounts_metadata
    from ledger.app import Ledger
    from ledger.contacts import ensure_tables
    from ledger.contacts import metadata as contacts_metadata

    with _admin(store) as conn:
        _check_admin(conn, writer)
    ledger = Ledger(store)  # As the administrator: creates whatever the store lacks.
    try:
        ledger.accounts  # noqa: B018  (the web app's sign-in tables, made now so the owner owns them)
        ensure_tables(ledger.engine)  # Reminders' addresses and sent notices (SPEC §8), likewise.
        ledger.receipts  # noqa: B018  (the payouts' receipts, likewise)
        recorder: Any = ledger.app.recorder
        events, snapshots = append_only_tables(ledger.app)
        names = _PotObjects(
            schema=recorder.datastore.schema,
            # Receipts (ledger.receipts) are only ever added, as events are: the writer may read and add them.
            tables=[events, snapshots, RECEIPTS_TABLE],
            # The sign-in tables (ledger.accounts) are not views, but the writer uses them alike.
            # So are reminders' tables (ledger.contacts): `pot notify` claims, marks and releases sent notices.
            views=[
                t.name
                for t in (*metadata.sorted_tables, *accounts_metadata.sorted_tables, *contacts_metadata.sorted_tables)
            ],
            types=[recorder.stored_event_type_name],
            functions=[recorder.pg_function_name_insert_events, APPEND_ONLY_FUNCTION, LOCK_FUNCTION],
        )
    finally:
        ledger.close()
    done = RolesSetUp(names.schema, owner, writer, names.tables, names.views)
    with _admin(store) as conn, conn.begin():
        _make_roles(conn, done, password)
        _hand_to_owner(conn, names, owner)
        _grant_writer(conn, names, writer)
        _check_writer_is_harmless(conn, names, writer)
    return done


@dataclass
class _PotObjects:
    """The schema objects a pot store consists of, by name."""

    schema: str
    tables: list[str]
    views: list[str]
    types: list[str]
    functions: list[str]


@contextmanager
def _admin(store: Store) -> Iterator[Connection]:
    from ledger.store import postgres_engine

    engine = postgres_engine(store)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _check_admin(conn: Connection, writer: str) -> None:
    me, superuser, createrole = conn.execute(
        text("SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user")
    ).one()
    if not (superuser or createrole):
        raise Refused(f"`pot db setup` makes roles: run it as a database administrator, not {me!r}")
    if writer == me:
        raise BadInput(f"--writer {writer!r} is the role running this set-up: name a role of its own for pot")
    _refuse_a_powerful_writer(conn, writer)
    conn.rollback()


def _q(name: str) -> str:
    """A checked identifier (ROLE_NAME, the library's and our table names), quoted for SQL."""
    if not ROLE_NAME.fullmatch(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def _make_roles(conn: Connection, done: RolesSetUp, password: str | None) -> None:
    owner, writer = _q(done.owner), _q(done.writer)
    if _role(conn, done.owner) is None:
        # Never signs in: schema changes are made by `pot db setup`, or by an administrator's SET ROLE.
        conn.exec_driver_sql(f"CREATE ROLE {owner} NOLOGIN")
        done.created.append(done.owner)
    if _role(conn, done.writer) is None:
        conn.exec_driver_sql(f"CREATE ROLE {writer} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        done.created.append(done.writer)
    else:
        conn.exec_driver_sql(f"ALTER ROLE {writer} LOGIN")
    if password is not None:
        _set_password(conn, done.writer, password)
        done.password_set = True
    superuser = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    if not superuser:
        # ALTER … OWNER TO needs the administrator to be able to act as the new owner.
        conn.exec_driver_sql(f"GRANT {owner} TO current_user")


def _role(conn: Connection, name: str) -> Any:
    return conn.execute(text("SELECT oid FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar()


def _set_password(conn: Connection, role: str, password: str) -> None:
    """Set the role's password as the server stores it (its password_encryption): the plain text never travels.

    ALTER ROLE takes no bound parameters, so the verifier goes in as a quoted literal.
    """
    from psycopg.sql import SQL, Identifier, Literal

    raw: Any = conn.connection.driver_connection
    verifier = bytes(raw.pgconn.encrypt_password(password.encode(), role.encode())).decode()
    conn.exec_driver_sql(SQL("ALTER ROLE {} PASSWORD {}").format(Identifier(role), Literal(verifier)).as_string(raw))


def _hand_to_owner(conn: Connection, names: _PotObjects, owner: str) -> None:
    """The owner owns the schema (unless it is `public`), every pot table, the row type and the functions.

    A table's sequences and indexes follow it. The lock function is (re)made here,
    as SECURITY DEFINER: it runs with its owner's right to lock the events table.
    """
    schema, o = _q(names.schema), _q(owner)
    events = _q(names.tables[0])
    conn.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {schema}.{_q(LOCK_FUNCTION)}() RETURNS void LANGUAGE plpgsql SECURITY DEFINER"
        f" SET search_path = pg_catalog, pg_temp AS $$ BEGIN LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE; END $$"
    )
    if names.schema == "public":
        # Shared with whatever else lives in the database: leave its owner, let the owner create in it.
        conn.exec_driver_sql(f"GRANT USAGE, CREATE ON SCHEMA public TO {o}")
    else:
        conn.exec_driver_sql(f"ALTER SCHEMA {schema} OWNER TO {o}")
    for table in names.tables + names.views:
        conn.exec_driver_sql(f"ALTER TABLE {schema}.{_q(table)} OWNER TO {o}")
    for type_name in names.types:
        conn.exec_driver_sql(f"ALTER TYPE {schema}.{_q(type_name)} OWNER TO {o}")
    for signature in _functions(conn, names):
        conn.exec_driver_sql(f"ALTER FUNCTION {signature} OWNER TO {o}")


def _functions(conn: Connection, names: _PotObjects) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = :s AND p.proname = ANY(:f)"
        ),
        {"s": names.schema, "f": names.functions},
    )
    return [str(row[0]) for row in rows]


def _grant_writer(conn: Connection, names: _PotObjects, writer: str) -> None:
    schema, w = _q(names.schema), _q(writer)
    conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {_q(_database(conn))} TO {w}")
    conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {w}")
    conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {schema} FROM {w}")
    for table in names.tables:
        # Events and snapshots: read and add, nothing else. Revoked first, so a re-run also undoes a wider grant.
        conn.exec_driver_sql(f"REVOKE ALL ON TABLE {schema}.{_q(table)} FROM {w}, PUBLIC")
        conn.exec_driver_sql(f"GRANT SELECT, INSERT ON TABLE {schema}.{_q(table)} TO {w}")
    # notification_id is a bigserial: each insert takes the next number from its sequence.
    sequence = conn.execute(
        text("SELECT pg_get_serial_sequence(:t, 'notification_id')"), {"t": f"{names.schema}.{names.tables[0]}"}
    ).scalar()
    conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {sequence} TO {w}")
    for view in names.views:
        conn.exec_driver_sql(f"REVOKE ALL ON TABLE {schema}.{_q(view)} FROM {w}, PUBLIC")
        conn.exec_driver_sql(f"GRANT {VIEW_PRIVILEGES} ON TABLE {schema}.{_q(view)} TO {w}")
    for table, column in SERIAL_COLUMNS:
        counter = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f"{names.schema}.{table}", "c": column}
        ).scalar()
        if counter is not None:
            conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {counter} TO {w}")
    lock = f"{schema}.{_q(LOCK_FUNCTION)}()"
    conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {lock} FROM PUBLIC")
    conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {lock} TO {w}")


def _database(conn: Connection) -> str:
    return str(conn.execute(text("SELECT current_database()")).scalar())


def _refuse_a_powerful_writer(conn: Connection, writer: str) -> None:
    """Refuse an existing writer role that is a superuser or may create roles (and so make itself the owner)."""
    found = conn.execute(text("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = :w"), {"w": writer}).first()
    if found is None:
        return
    superuser, createrole = found
    if superuser:
        raise Refused(f"role {writer!r} is a superuser: it could change anything; name another role as --writer")
    if createrole:
        raise Refused(
            f"role {writer!r} may create roles, so it could make itself the owner:"
            f" run `ALTER ROLE {writer} NOCREATEROLE` first, or name another role as --writer"
        )


def _check_writer_is_harmless(conn: Connection, names: _PotObjects, writer: str) -> None:
    """Ask the server whether the writer could still change, unguard or drop what is stored; refuse if so.

    Catches what grants alone do not: a writer that is a superuser, may create
    roles (and so make itself the owner), belongs to a role owning the tables, the
    schema or the database, or holds a predefined role such as pg_write_all_data.
    """
    _refuse_a_powerful_writer(conn, writer)
    for table in names.tables:
        for privilege in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER"):
            if _ask(
                conn,
                "SELECT has_table_privilege(CAST(:w AS name), CAST(:t AS text), CAST(:p AS text))",
                t=f"{names.schema}.{table}",
                p=privilege,
                w=writer,
            ):
                raise Refused(f"role {writer!r} still has {privilege} on {table} (through a role it belongs to?)")
    owners = {
        "the tables": "SELECT relowner FROM pg_class WHERE oid = ANY(CAST(:objects AS regclass[]))",
        "the schema": "SELECT nspowner FROM pg_namespace WHERE nspname = :schema",
        "the database": "SELECT datdba FROM pg_database WHERE datname = current_database()",
        "the trigger function": "SELECT proowner FROM pg_proc WHERE oid = to_regprocedure(:function)",
    }
    for what, owner in owners.items():
        acts_as = f"SELECT bool_or(pg_has_role(CAST(:w AS name), owner, 'USAGE')) FROM ({owner}) AS o(owner)"
        if _ask(
            conn,
            acts_as,
            w=writer,
            objects=[f"{names.schema}.{t}" for t in names.tables],
            schema=names.schema,
            function=f"{names.schema}.{APPEND_ONLY_FUNCTION}()",
        ):
            raise Refused(
                f"role {writer!r} acts as the owner of {what}, so it could alter or drop them:"
                " make another role own them, or name another role as --writer"
            )


def _ask(conn: Connection, query: str, **params: Any) -> bool:
    """A yes/no question to the server; only the parameters the query names are sent."""
    used = {k: v for k, v in params.items() if f":{k}" in query}
    return bool(conn.execute(text(query), used).scalar())
