"""Who may sign in to the web app: passphrases, sessions, invites and failed sign-ins (SPEC §6).

These are secrets and personal data a member may change, so they never enter an
event or an export: they live in four tables beside the views, in the same
database, and `pot rebuild` leaves them alone (they are not views). Tokens are
random (`secrets`); only their SHA-256 is stored, so a copy of the database
does not hold a working session or invite. Passphrases are argon2id hashes
(`argon2-cffi`'s defaults, rehashed when those change).

Members are named here by `name_key` (their case-insensitive identity), as the
pot itself keys them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)

from domain.values import name_key

metadata = MetaData()

credentials = Table(
    "web_credentials",
    metadata,
    Column("slug", String, primary_key=True),
    Column("member", String, primary_key=True),  # name_key of the member
    Column("passphrase_hash", String, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String, primary_key=True),
    Column("slug", String, nullable=False),
    Column("member", String, nullable=False),
    Column("csrf_token", String, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("web_sessions_by_member", "slug", "member"),
)

invites = Table(
    "web_invites",
    metadata,
    Column("token_sha256", String, primary_key=True),
    Column("slug", String, nullable=False),
    Column("member", String, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("web_invites_by_member", "slug", "member"),
)

failed_sign_ins = Table(
    "web_failed_sign_ins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String, nullable=False),
    Column("member", String, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("web_failed_sign_ins_by_member", "slug", "member", "at"),
)

MIN_PASSPHRASE = 10
MAX_PASSPHRASE = 1024  # argon2 hashes anything, but a megabyte "passphrase" is an attack, not a secret.
SESSION_IDLE = timedelta(days=30)
# A session's expiry moves on when it is used, but at most this often (one write, not one per request).
SESSION_TOUCH = timedelta(hours=1)
MAX_FAILED = 5
FAILED_WINDOW = timedelta(minutes=15)

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the name has no passphrase, so a wrong name costs what a wrong passphrase does."""
    return _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(Exception):
    """A sign-in, invite or passphrase refused; `status` is the HTTP answer (SPEC §6)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WebSession:
    """A signed-in member: who, in which pot, and the CSRF token every change must carry."""

    token: str  # the cookie's value; only its hash is stored
    slug: str
    member: str  # name_key
    csrf_token: str


@dataclass(frozen=True)
class Invite:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Invitation:
    """An invite for a member, as the pot spells their name."""

    name: str
    invite: Invite


@dataclass(frozen=True)
class SignedIn:
    """The member a request acts as: their name as the pot spells it, their role, their session."""

    name: str
    role: str
    session: WebSession


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Accounts:
    """The sign-in tables of one store, and every operation on them."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        # Reads that take no write lock (on SQLite a deferred BEGIN): every request looks its session up.
        self.reader = reader or engine

    def create_tables(self) -> None:
        metadata.create_all(self.engine)

    # ------------------------------------------------------------------ invites
    def invite(self, slug: str, member: str, *, days: int) -> Invite:
        """A new single-use invite for `member`; it voids the member's earlier invites."""
        token = secrets.token_urlsafe(32)
        now = _now()
        expires = now + timedelta(days=days)
        key = name_key(member)
        with self.engine.begin() as conn:
            conn.execute(delete(invites).where(invites.c.slug == slug, invites.c.member == key))
            conn.execute(
                insert(invites).values(
                    token_sha256=_sha256(token), slug=slug, member=key, created_at=now, expires_at=expires
                )
            )
        return Invite(token, expires)

    def invited_member(self, slug: str, token: str) -> str:
        """The member (name_key) a live invite is for; refused when it is unknown, used, void or expired."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(invites.c.member, invites.c.expires_at).where(
                    invites.c.token_sha256 == _sha256(token), invites.c.slug == slug
                )
            ).first()
        if row is None:
            raise SignInRefused("this invite link is not valid: it was used, replaced by a newer one, or mistyped", 404)
        if _aware(row.expires_at) <= _now():
            # 404 as for a used or void link (SPEC §6 lists no other status for it); the words say which.
            raise SignInRefused("this invite link has expired: ask a treasurer for a new one", 404)
        return str(row.member)

    def accept_invite(self, slug: str, token: str, passphrase: str) -> WebSession:
        """Set the invited member's passphrase, void the invite, end their other sessions, sign them in."""
        check_passphrase(passphrase)
        member = self.invited_member(slug, token)
        hashed = _hasher.hash(passphrase)
        with self.engine.begin() as conn:
            # Deleting the invite is what makes it single-use: a second, racing use finds no row.
            used = conn.execute(
                delete(invites).where(invites.c.token_sha256 == _sha256(token), invites.c.slug == slug)
            ).rowcount
            if used != 1:
                raise SignInRefused("this invite link was just used", 404)
            self._set_passphrase(conn, slug, member, hashed)
            conn.execute(delete(sessions).where(sessions.c.slug == slug, sessions.c.member == member))
            return self._new_session(conn, slug, member)

    # ------------------------------------------------------------------ sign-in
    def sign_in(self, slug: str, member_name: str, passphrase: str) -> WebSession:
        """A session for the member, or a refusal that does not say whether the name or passphrase was wrong."""
        key = name_key(member_name.strip())
        now = _now()
        with self.engine.begin() as conn:
            recent = conn.execute(
                select(func.count())
                .select_from(failed_sign_ins)
                .where(
                    failed_sign_ins.c.slug == slug,
                    failed_sign_ins.c.member == key,
                    failed_sign_ins.c.at > now - FAILED_WINDOW,
                )
            ).scalar_one()
            stored = conn.execute(
                select(credentials.c.passphrase_hash).where(credentials.c.slug == slug, credentials.c.member == key)
            ).scalar_one_or_none()
        if recent >= MAX_FAILED:
            minutes = int(FAILED_WINDOW.total_seconds() // 60)
            raise SignInRefused(f"too many failed sign-ins for this name: try again in {minutes} minutes", 429)
        if not _verifies(stored or _dummy_hash(), passphrase) or stored is None:
            with self.engine.begin() as conn:
                conn.execute(insert(failed_sign_ins).values(slug=slug, member=key, at=now))
                conn.execute(delete(failed_sign_ins).where(failed_sign_ins.c.at <= now - FAILED_WINDOW))
            raise SignInRefused("that name and passphrase do not match", 401)
        with self.engine.begin() as conn:
            if _hasher.check_needs_rehash(stored):
                self._set_passphrase(conn, slug, key, _hasher.hash(passphrase))
            conn.execute(delete(failed_sign_ins).where(failed_sign_ins.c.slug == slug, failed_sign_ins.c.member == key))
            return self._new_session(conn, slug, key)

    def session(self, slug: str, token: str, *, reading: Connection | None = None) -> WebSession | None:
        """The live session behind a cookie, its idle expiry moved on; None if there is none.

        `reading`: a read transaction already open (a web request's), to look the session up in.
        """
        digest = _sha256(token)
        now = _now()
        query = select(sessions.c.member, sessions.c.csrf_token, sessions.c.expires_at).where(
            sessions.c.token_sha256 == digest, sessions.c.slug == slug
        )
        if reading is not None:
            row = reading.execute(query).first()
        else:
            with self.reader.begin() as conn:
                row = conn.execute(query).first()
        if row is None:
            return None
        expires = _aware(row.expires_at)
        if expires <= now:
            with self.engine.begin() as conn:
                conn.execute(delete(sessions).where(sessions.c.token_sha256 == digest))
            return None
        if expires - now < SESSION_IDLE - SESSION_TOUCH:
            with self.engine.begin() as conn:
                conn.execute(
                    update(sessions).where(sessions.c.token_sha256 == digest).values(expires_at=now + SESSION_IDLE)
                )
        return WebSession(token, slug, str(row.member), str(row.csrf_token))

    def sign_out(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_sha256 == _sha256(token)))

    def end_sessions(self, slug: str, member: str) -> int:
        """End every session of a member (they left the pot, or set a new passphrase)."""
        with self.engine.begin() as conn:
            return conn.execute(
                delete(sessions).where(sessions.c.slug == slug, sessions.c.member == name_key(member))
            ).rowcount

    def has_passphrase(self, slug: str, member: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(credentials.c.member).where(credentials.c.slug == slug, credentials.c.member == name_key(member))
            ).first()
        return found is not None

    # ------------------------------------------------------------------ inside
    def _set_passphrase(self, conn: Connection, slug: str, member: str, hashed: str) -> None:
        changed = conn.execute(
            update(credentials)
            .where(credentials.c.slug == slug, credentials.c.member == member)
            .values(passphrase_hash=hashed, set_at=_now())
        ).rowcount
        if not changed:
            conn.execute(insert(credentials).values(slug=slug, member=member, passphrase_hash=hashed, set_at=_now()))

    def _new_session(self, conn: Connection, slug: str, member: str) -> WebSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        conn.execute(
            insert(sessions).values(
                token_sha256=_sha256(token),
                slug=slug,
                member=member,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_IDLE,
            )
        )
        return WebSession(token, slug, member, csrf)


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise SignInRefused(f"a passphrase needs at least {MIN_PASSPHRASE} characters", 422)
    if len(passphrase) > MAX_PASSPHRASE:
        raise SignInRefused(f"a passphrase may have at most {MAX_PASSPHRASE} characters", 422)


def _verifies(hashed: str, passphrase: str) -> bool:
    try:
        return _hasher.verify(hashed, passphrase)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
