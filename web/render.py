"""HTML rendering for the pages: one Jinja2 environment (autoescaped), the context every page gets, errors."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from web.app import TEMPLATES

templates = Jinja2Templates(directory=str(TEMPLATES))


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """A whole page (or, for htmx, the template as given) with what every page shows."""
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    slug = request.path_params.get("slug")
    return page(request, "error.html", {"message": message, "status": status, "slug": slug}, status)
