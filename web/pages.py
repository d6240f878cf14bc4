"""The crew's pages: server-rendered HTML that works without JavaScript; htmx only enhances."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
