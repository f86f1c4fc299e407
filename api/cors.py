"""CORS for the origins in KURA_CORS_ORIGINS, so a web app or browser extension can call the API.

Tokens travel in the Authorization header, never in cookies, so credentials mode stays off: a page
must hold a token to do anything. With no origins configured there is no middleware at all, and
browsers refuse cross-origin calls as they do without CORS headers.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from common.settings import Settings

METHODS = ("GET", "POST", "PATCH", "DELETE")
REQUEST_HEADERS = ("Authorization", "Content-Type", "If-None-Match")
# Headers a script may read from an answer beyond the CORS-safelisted ones.
EXPOSED_HEADERS = ("Location", "ETag", "Retry-After", "Server-Timing")
PREFLIGHT_CACHE_S = 600


def install_cors(app: FastAPI, settings: Settings) -> None:
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=METHODS,
                           allow_headers=REQUEST_HEADERS, expose_headers=EXPOSED_HEADERS,
                           max_age=PREFLIGHT_CACHE_S)
