"""Web pages: status (a stub from W-core; its owner replaces this)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
