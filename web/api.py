"""The JSON API under /p/{slug}/api/ (SPEC §6's table): what the pages do, for scripts and other clients."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
