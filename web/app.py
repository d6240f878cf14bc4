"""The crew's web app (SPEC §6): a FastAPI application over one store, a second front end beside `cli.py`.

This module builds the application: the shared `Web` state (one `Ledger` per
process), security headers on every response, errors in SPEC §6's status codes,
and the dependencies every route uses to know who is asking (`signed_in`) and
that a change really comes from the app's own page (`csrf_checked`). The routes
themselves are in `web.api` (JSON) and `web.pages` (HTML); both call
`web.actions`, which calls the ledger's typed API: no rule lives here.

`pot serve` runs it with uvicorn (`app_from_env` is the factory each worker
process calls); the tests run the same thing as a real server.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
from collections.abc import Awaitable, Callable, Hashable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from eventsourcing.persistence import OperationalError as StoreBusy
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError as SQLBusy
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import BadInput, NotAuthorized, NotFound, PotError, Refused, UnknownPot
from ledger.accounts import SignedIn, SignInRefused
from ledger.app import Ledger
from ledger.store import resolve
from projections.models import PotInfo

T = TypeVar("T")

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"

SESSION_COOKIE = "pot_session"
# Before sign-in (the sign-in and invite forms) a random token in a cookie, repeated in the form.
ANONYMOUS_CSRF_COOKIE = "pot_csrf"

SECURITY_HEADERS = {
    # Scripts and styles only from the app itself: no inline script can run, whatever a name holds.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


# Ledgers a worker process keeps on PostgreSQL, each used by one `using` block at a time. Measured
# (docs/benchmarks.md, issue 19): four let a request waiting for a pot's writer turn leave the others
# of its worker be, but cost more CPU and GIL waits than they saved, and three times the connections;
# 16 voters on 4 workers did better with one. SQLite keeps one: it has one writer anyway.
POSTGRES_LEDGERS = 1


class Borrowed:
    """What one request (or, outside a request, one thread) uses: a ledger of the process, while it uses it.

    The outermost `using` block takes a free ledger and gives it back when it ends, so
    nested blocks share it and other requests use it between blocks, as with a lock.
    """

    def __init__(self) -> None:
        self.ledger: Ledger | None = None
        self.depth = 0
        self._give_back: Callable[[Ledger], None] | None = None

    def take(self, ledgers: queue.LifoQueue[Ledger]) -> Ledger:
        if self.ledger is None:
            self.ledger = ledgers.get()
            self._give_back = ledgers.put
        return self.ledger

    def give_back(self) -> None:
        ledger, give_back = self.ledger, self._give_back
        self.ledger = self._give_back = None
        if ledger is not None and give_back is not None:
            try:
                ledger.end_scope_reads()  # The request's read transaction (`Ledger.views_once`).
            finally:
                give_back(ledger)


# The HTTP request being answered (a fresh `Borrowed` per request, set by `SecurityHeaders`): its reads
# catch the views up once (`Ledger.views_once`). Starlette runs sync routes and dependencies in
# worker threads with a copy of this context, so they all see the same object.
REQUEST: ContextVar[Borrowed | None] = ContextVar("pot_request", default=None)


class NotSignedIn(Exception):
    """The request needs a signed-in member (HTTP 401; pages redirect to the sign-in form)."""


class CsrfRefused(Exception):
    """A change without the session's CSRF token (HTTP 403)."""


def status_of(error: Exception) -> int:
    """SPEC §6's HTTP status for an error the ledger or the sign-in raised."""
    match error:
        case SignInRefused():
            return error.status
        case NotSignedIn():
            return 401
        case CsrfRefused() | NotAuthorized():
            return 403
        case NotFound():
            return 404
        case BadInput():
            return 422
        case Refused():
            return 409
        case StoreBusy() | SQLBusy():
            return 503
        case _:
            return 500


@dataclass
class Web:
    """What every request shares: the store's ledgers, the address members use, what pages read."""

    # A Ledger folds the views in memory: one request at a time uses each (`using`). Several
    # ledgers, processes (`--workers`) and the CLI share the store safely through the database itself.
    ledgers: list[Ledger]
    public_url: str
    # Guards `_remembered`, which the process's requests share.
    lock: threading.Lock = field(default_factory=threading.Lock)
    # What pages read from the views, by pot, head and day (`remembered`).
    _remembered: dict[tuple[Hashable, ...], Any] = field(default_factory=dict)
    # Last in, first out: under light load one ledger (its connections and caches warm) answers everything.
    _free: queue.LifoQueue[Ledger] = field(default_factory=queue.LifoQueue)
    # Outside a request (start-up, shutdown): what each thread has taken.
    _thread: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        for ledger in self.ledgers:
            self._free.put(ledger)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def today(self) -> date:
        """The business date of an event made on the web: the server's today (no back-dating)."""
        return date.today()

    @contextmanager
    def using(self) -> Iterator[Ledger]:
        """A ledger of this process for this block: the one the enclosing block took, or a free one.

        Inside a request its reads catch the views up once (`Ledger.views_once`), and a
        block's reads share one read transaction. `SecurityHeaders` gives back whatever
        a request still holds once it is answered.
        """
        request = REQUEST.get()
        mine: Borrowed | None = request if request is not None else getattr(self._thread, "borrowed", None)
        if mine is None:
            mine = self._thread.borrowed = Borrowed()
        ledger = mine.take(self._free)
        mine.depth += 1
        try:
            if request is None:
                yield ledger
            else:
                with ledger.views_once(request):
                    yield ledger
        finally:
            mine.depth -= 1
            if mine.depth == 0:
                # Ends the block's read transaction too: held past it, the next block's other
                # connections (a writer turn, the sign-in tables) would each open a new one.
                mine.give_back()

    def remembered(self, info: PotInfo, what: tuple[Hashable, ...], compute: Callable[[], T]) -> T:
        """`compute()`, or what it answered before for this pot at the same head on the same day.

        The views are a function of the log, so what a page reads from them is keyed on
        the pot's head (its event count and digest, as `info` read them after this
        request caught the views up) and on today (figures are as of today). A change
        by any process makes a new head, and the next page reads the views again. Only
        the answers for each pot's newest head are kept.
        """
        head = (info.slug, info.events, info.head, self.today())
        key = (*head, *what)
        with self.lock:
            if key in self._remembered:
                found: T = self._remembered[key]
                return found
        # Read outside the lock: two requests may both read the same new head, and keep the same answer.
        found = compute()
        with self.lock:
            for old in [k for k in self._remembered if k[0] == info.slug and k[:4] != head]:
                del self._remembered[old]
            self._remembered[key] = found
        return found

    def pot(self, slug: str) -> PotInfo:
        """The pot at /p/{slug}/, by its slug only (404 otherwise)."""
        try:
            with self.using() as ledger:
                # Even on a store whose log no longer folds, so the verify page can say where.
                info = ledger.resolve_pot(slug, even_if_views_fail=True)
        except UnknownPot:
            info = None  # The CLI's message lists the store's pots: not for someone who is not signed in.
        if info is None or info.slug != slug:  # `--pot` also takes a display name; a URL names a pot by its slug only
            raise NotFound(f"there is no pot {slug!r} here")
        return info


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


@dataclass(frozen=True)
class Member:
    """The signed-in member a request acts as, in the pot of its URL."""

    name: str
    role: str
    csrf_token: str
    pot: PotInfo

    @property
    def slug(self) -> str:
        return self.pot.slug

    @property
    def is_treasurer(self) -> bool:
        return self.role == "treasurer"


def signed_in(slug: str, request: Request) -> Member:
    """Dependency: the member whose session cookie came with the request, or 401."""
    web = web_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    found: SignedIn | None = None
    # One block: the pot, the session and the member are read in one transaction.
    with web.using() as ledger:
        info = web.pot(slug)
        if token:
            found = ledger.signed_in(info.slug, token)
    if found is None:
        raise NotSignedIn("sign in first")
    return Member(found.name, found.role, found.session.csrf_token, info)


async def csrf_checked(request: Request, member: Member = Depends(signed_in)) -> Member:  # noqa: B008
    """Dependency for every change: the session's CSRF token in `X-CSRF-Token` or the form's `csrf_token`."""
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not given or not secrets.compare_digest(given.encode(), member.csrf_token.encode()):
        raise CsrfRefused("this change did not carry the page's CSRF token: reload the page and try again")
    return member


def anonymous_csrf(request: Request) -> str:
    """The pre-sign-in CSRF token: the cookie's, or a new one (the page sets it with `set_anonymous_csrf`)."""
    return request.cookies.get(ANONYMOUS_CSRF_COOKIE) or secrets.token_urlsafe(32)


def anonymous_csrf_ok(request: Request, given: str | None) -> bool:
    expected = request.cookies.get(ANONYMOUS_CSRF_COOKIE)
    return bool(expected and given and secrets.compare_digest(expected.encode(), given.encode()))


def set_anonymous_csrf(response: Response, request: Request, token: str, slug: str) -> None:
    response.set_cookie(
        ANONYMOUS_CSRF_COOKIE,
        token,
        path=f"/p/{slug}",
        httponly=True,
        samesite="strict",
        secure=web_of(request).secure_cookies,
    )


def set_session_cookie(response: Response, request: Request, token: str, slug: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path=f"/p/{slug}",
        max_age=30 * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=web_of(request).secure_cookies,
    )


def clear_session_cookie(response: Response, slug: str) -> None:
    response.delete_cookie(SESSION_COOKIE, path=f"/p/{slug}", httponly=True, samesite="strict")


def wants_json(request: Request) -> bool:
    return "/api/" in request.url.path


# --------------------------------------------------------------------------- headers and errors
class SecurityHeaders:
    """ASGI middleware: SPEC §6's headers on every response, streamed ones and errors included.

    It also marks each request (`REQUEST`), so that its reads catch the views up once.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Borrowed()
        REQUEST.set(request)  # This task's context only: one request.

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            request.give_back()


def _error_response(request: Request, error: Exception, status: int) -> Response:
    message = " ".join(str(error).split()) or "something went wrong"
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    from web.render import error_page

    return error_page(request, message, status)


def _install_error_handlers(app: FastAPI) -> None:
    async def known(request: Request, error: Exception) -> Response:
        status = status_of(error)
        if isinstance(error, NotSignedIn) and not wants_json(request):
            from fastapi.responses import RedirectResponse

            slug = request.path_params.get("slug", "")
            return RedirectResponse(f"/p/{slug}/login", status_code=303)
        return _error_response(request, error, status)

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in error.errors())
        return _error_response(request, BadInput(problems or "bad input"), 422)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return _error_response(request, Exception(str(error.detail)), error.status_code)

    async def unexpected(request: Request, error: Exception) -> Response:
        # Never a stack trace in a browser; the server's log has it (uvicorn logs the exception).
        return _error_response(request, Exception("something went wrong on the server; nothing was stored"), 500)

    async def busy(request: Request, error: Exception) -> Response:
        from cli import store_problem

        return _error_response(request, Exception(store_problem(error)), 503)

    for kind in (PotError, SignInRefused, NotSignedIn, CsrfRefused):
        app.add_exception_handler(kind, known)
    app.add_exception_handler(StoreBusy, busy)
    app.add_exception_handler(SQLBusy, busy)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


# --------------------------------------------------------------------------- the application
def create_app(db: str | None, public_url: str) -> FastAPI:
    """The web app over the store `db` (as `--db` takes it), telling members `public_url`."""
    store = resolve(db, create=False)
    ledgers = [Ledger(store, server=True) for _ in range(POSTGRES_LEDGERS if store.kind == "postgresql" else 1)]
    for ledger in ledgers:
        ledger.keep_pots_with(ledgers[0])
        ledger.accounts  # noqa: B018  (creates the sign-in tables now, not in a member's first request)
    app = FastAPI(title="commonpot", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = Web(ledgers, public_url.rstrip("/"))
    app.add_middleware(SecurityHeaders)
    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from web import api, money_back, pages, signin

    app.include_router(signin.router)
    app.include_router(api.router)
    app.include_router(money_back.router)
    app.include_router(pages.router)
    from web import contacts

    app.include_router(contacts.router)

    from web import rules as rule_routes  # SPEC §8: the rules page and API

    app.include_router(rule_routes.router)

    @app.on_event("shutdown")
    def _close() -> None:
        for ledger in ledgers:
            ledger.close()

    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process: `pot serve` passes its options in the environment."""
    return create_app(os.environ.get("POT_DB") or None, os.environ.get("POT_PUBLIC_URL", "http://127.0.0.1:8000"))
