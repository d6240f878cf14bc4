"""The web benchmark's floor: the same FastAPI app rendering the overview's template from a dict computed once.

    python -m bench.web_floor DB SESSION_TOKEN --port P

Serves `GET /` on 127.0.0.1: the app `pot serve` runs (same middleware, same
templates), but the overview's context is computed once at start-up, so a request
costs only routing, the template and the headers; the distance from it to the
real overview is the price of reading the views.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import Request
from fastapi.responses import HTMLResponse

from bench.data import SLUG
from web.app import Member, create_app, web_of


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web_floor")
    parser.add_argument("db")
    parser.add_argument("token", help="a session token of a member of the bench pot")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = create_app(args.db, "http://127.0.0.1")
    fixed: dict[str, Any] = {}

    @app.get("/", response_class=HTMLResponse)
    def floor(request: Request) -> HTMLResponse:
        from web.pages import _show, overview_context

        if not fixed:  # Once, on the warm-up request: the member and the overview's dict.
            web = web_of(request)
            info = web.pot(SLUG)
            with web.using() as ledger:
                signed = ledger.signed_in(SLUG, args.token)
            assert signed is not None, "the session token is not a live session"
            fixed["member"] = Member(signed.name, signed.role, signed.session.csrf_token, info)
            fixed["context"] = overview_context(request, fixed["member"])
        return _show(request, fixed["member"], "overview.html", fixed["context"], here="")

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
