"""HTTP middleware, all pure ASGI (BaseHTTPMiddleware costs a task and a queue per request).

Outermost first: Server-Timing and the slow-request log, the security and cache headers, the request
body limit, gzip, ETag. The ETag sits inside gzip so it hashes the identity body and stays the same
whatever the client accepts.
Streamed responses (``more_body=True``) are never buffered: they pass through ETag and timing as is.
"""

from __future__ import annotations

import hashlib
import time

from fastapi import FastAPI, Request
from loguru import logger
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import ADMIN_KEY
from api.errors import error_response
from common import timing
from common.settings import Settings

IMPORT_PATHS = ("/api/v1/import", "/import")  # the API's import and the web page's upload
TIMING_KEY = "kura.timing"
GZIP_MINIMUM = 1024
# zlib level 1: a 50-bookmark page compresses in ~0.2 ms instead of ~0.85 ms at Starlette's default 9,
# and JSON this repetitive loses little ratio (measured for the "Ten times less CPU" issue).
GZIP_LEVEL = 1
# Headers a 304 keeps (RFC 9110 15.4.5); the body's own headers go.
NOT_MODIFIED_HEADERS = {b"etag", b"cache-control", b"vary", b"content-location", b"date", b"expires"}


def route_name(scope: Scope) -> str:
    """`METHOD /full/path/{template}` once routing has matched, else the raw path."""
    path = scope.get("path", "-")
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)  # "{id}", not "{id:int}"
    if template:
        # An included router's route knows only its own part of the path ("/tokens/{token_id}");
        # the prefix is whatever of the real path comes before that part, filled in.
        try:
            filled = template.format(**scope.get("path_params", {}))
        except (KeyError, IndexError, ValueError):
            filled = None
        if filled is not None and path.endswith(filled):
            path = path[: len(path) - len(filled)] + template
    return f"{scope.get('method', '-')} {path}"


async def name_route(request: Request) -> None:
    """An app-wide dependency: runs after routing, so slow-SQL lines can name the route template."""
    record = request.scope.get(TIMING_KEY)
    if record is not None:
        record.route = route_name(request.scope)


class TimingMiddleware:
    """Adds `Server-Timing: db;dur=…, total;dur=…` and logs requests slower than the threshold.

    The timings tell how much work a request caused, which is an oracle for what another user's data
    holds; so only admins' answers carry them, unless KURA_SERVER_TIMING puts them on every answer.
    """

    def __init__(self, app: ASGIApp, *, slow_request_ms: float, everyone: bool = False) -> None:
        self.app, self.slow_request_ms, self.everyone = app, slow_request_ms, everyone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        record = scope[TIMING_KEY] = timing.start(route_name(scope))

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start" and (self.everyone or scope.get(ADMIN_KEY)):
                total_ms = (time.perf_counter() - t0) * 1000
                MutableHeaders(scope=message).append(
                    "Server-Timing", f"db;dur={record.db_seconds * 1000:.1f}, total;dur={total_ms:.1f}"
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_timing)
        finally:
            total_ms = (time.perf_counter() - t0) * 1000
            if total_ms > self.slow_request_ms:
                logger.warning(
                    "slow request ({:.0f} ms, db {:.0f} ms in {} statements): {}",
                    total_ms, record.db_seconds * 1000, record.statements, route_name(scope),
                )


class HeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every answer, and `Cache-Control: no-store` on answers to
    requests that carried credentials: a user's bookmarks stay out of shared and browser caches. An
    API client that keeps its own copy still revalidates it with ETag / If-None-Match (304)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = any(name == b"authorization" for name, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if private:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """413 in the standard error body for bodies over the limit (imports have their own, larger one).

    A declared Content-Length is refused before the app runs; streamed bytes are counted by
    Starlette's limiter, whose HTTPException reaches our handlers and so gets the same body.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, import_max_bytes: int) -> None:
        self.app = app
        self.default = RequestBodyLimitMiddleware(app, max_body_bytes)
        self.imports = RequestBodyLimitMiddleware(app, import_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limiter = self.imports if scope["path"].startswith(IMPORT_PATHS) else self.default
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limiter.max_body_size:
            response = error_response(
                413,
                f"request body of {declared} bytes exceeds the limit of {limiter.max_body_size} bytes",
                details={"limit": limiter.max_body_size},
            )
            await response(scope, receive, send)
            return
        await limiter(scope, receive, send)


def _etag(body: bytes) -> str:
    # Weak: gzip changes the bytes on the wire but not the representation the tag names.
    return f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


class ETagMiddleware:
    """ETag on successful GETs; `If-None-Match` that matches answers 304 with no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        passthrough = False

        async def send_with_etag(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
            elif message["type"] == "http.response.start":
                start, passthrough = message, message["status"] != 200
                if passthrough:
                    await send(message)
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                passthrough = True
                assert start is not None, "ASGI: a response body before its start"
                await self._finish(start, message, if_none_match, send)
            else:  # a streamed body, a file sent by path, ...: never buffered, sent as it comes
                passthrough = True
                if start is not None:
                    await send(start)
                await send(message)

        await self.app(scope, receive, send_with_etag)

    @staticmethod
    async def _finish(start: Message, message: Message, if_none_match: str | None, send: Send) -> None:
        headers = MutableHeaders(scope=start)
        etag = headers.get("etag") or _etag(message.get("body", b""))
        headers["ETag"] = etag
        if if_none_match and etag_matches(if_none_match, etag):
            kept = [(k, v) for k, v in start["headers"] if k.lower() in NOT_MODIFIED_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send(message)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    # add_middleware wraps what is already there, so the innermost goes first.
    app.add_middleware(ETagMiddleware)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, import_max_bytes=settings.import_max_bytes
    )
    app.add_middleware(HeadersMiddleware)
    app.add_middleware(TimingMiddleware, slow_request_ms=settings.slow_request_ms, everyone=settings.server_timing)
