"""The app's edge: one pure-ASGI layer for what every request needs on its way in and out.

Request metrics, Server-Timing and the slow-request log, the security and cache headers and the
request body limit were five layers, each a closure, a wrapped `send` and a walk of the headers per
request: on a conditional GET they cost about as much as the answer itself (measured for "Ten times
less CPU"). Here the headers are read once, and the layers that only some requests need are entered
only by those: gzip when the client accepts it, Starlette's body limiter when the request has a body.
ETag (api/middleware.py) stays inside gzip, so it hashes the identity body whatever the client accepts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from loguru import logger
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import ADMIN_KEY
from api.errors import error_response
from api.middleware import GZIP_LEVEL, GZIP_MINIMUM, TIMING_KEY, ETagMiddleware, route_name
from api.request_metrics import UNMATCHED, RequestMetrics
from common import timing
from common.settings import Settings

WEB_IMPORT = "/import"  # the web interface's upload page
IMPORT_PATHS = ("/api/v1/import", WEB_IMPORT)  # the import body limit: the API's import and the upload
NO_VARY = (b"text/event-stream", b"image/", b"audio/", b"video/", b"font/woff", b"application/zip", b"application/gzip")


@dataclass(slots=True)
class Head:
    """What the edge needs from the request's headers, read in one pass."""

    private: bool = False  # carried credentials: the answer must not be stored
    gzip: bool = False
    has_body: bool = False
    declared: int | None = None


def read_head(scope: Scope) -> Head:
    head = Head()
    for name, value in scope["headers"]:
        if name == b"authorization":
            head.private = True
        elif name == b"accept-encoding":
            head.gzip = b"gzip" in value
        elif name == b"content-length":
            head.has_body = True
            head.declared = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            head.has_body = True
    return head


class Edge:
    def __init__(self, app: ASGIApp, *, settings: Settings, metrics: RequestMetrics) -> None:
        self.metrics, self.slow_request_ms, self.everyone = metrics, settings.slow_request_ms, settings.server_timing
        identity = ETagMiddleware(app)
        gzipped = GZipMiddleware(identity, minimum_size=GZIP_MINIMUM, compresslevel=GZIP_LEVEL)
        self.inner = {False: identity, True: gzipped}
        self.limits = {imports: limit for imports, limit in
                       ((False, settings.max_body_bytes), (True, settings.import_max_bytes))}
        self.limited = {(gz, imports): RequestBodyLimitMiddleware(self.inner[gz], self.limits[imports])
                        for gz in (False, True) for imports in (False, True)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner[False](scope, receive, send)
            return
        started = time.perf_counter()
        record = scope[TIMING_KEY] = timing.start(route_name(scope))
        head = read_head(scope)
        status = 500  # what the client gets if the app raises before answering

        async def send_at_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self._headers(message, head, scope, record, started)
            await send(message)

        try:
            await self._inner(scope, head, receive, send_at_edge)
        finally:
            self._done(scope, status, record, time.perf_counter() - started)

    async def _inner(self, scope: Scope, head: Head, receive: Receive, send: Send) -> None:
        if not head.has_body:  # nothing to count: a GET, a DELETE, a bodiless POST
            await self.inner[head.gzip](scope, receive, send)
            return
        imports = scope["path"].startswith(IMPORT_PATHS)
        limit = self.limits[imports]
        if head.declared is not None and head.declared > limit:  # refused before the app runs
            await _too_large(scope, head.declared, limit)(scope, receive, send)
            return
        # Streamed bytes are counted by Starlette's limiter, whose error reaches our handlers.
        await self.limited[(head.gzip, imports)](scope, receive, send)

    def _headers(self, message: Message, head: Head, scope: Scope, record: timing.RequestTiming, started: float) -> None:
        message["headers"] = edge_headers(message["headers"], private=head.private, gzip=head.gzip)
        if self.everyone or scope.get(ADMIN_KEY):
            total_ms = (time.perf_counter() - started) * 1000
            timing_value = f"db;dur={record.db_seconds * 1000:.1f}, total;dur={total_ms:.1f}"
            message["headers"].append((b"server-timing", timing_value.encode("latin-1")))

    def _done(self, scope: Scope, status: int, record: timing.RequestTiming, seconds: float) -> None:
        # The router writes the matched route into this same scope dict on its way down.
        name = route_name(scope)
        route = name.partition(" ")[2] if scope.get("route") is not None else UNMATCHED
        self.metrics.observe(method=scope["method"], route=route, status=status, seconds=seconds)
        if seconds * 1000 > self.slow_request_ms:
            logger.warning("slow request ({:.0f} ms, db {:.0f} ms in {} statements): {}",
                           seconds * 1000, record.db_seconds * 1000, record.statements, name)


def _too_large(scope: Scope, declared: int, limit: int) -> Response:
    path, accept = scope["path"], Headers(scope=scope).get("accept", "")
    if path.startswith("/api/") or not ("text/html" in accept or path == WEB_IMPORT):
        return error_response(413, f"request body of {declared} bytes exceeds the limit of {limit} bytes",
                              details={"limit": limit})
    from api.web.render import error_page  # a browser's upload (the import page) gets a page, not JSON

    return error_page(Request(scope), 413, f"That file is {declared / 1_048_576:.1f} MB; Kura takes at most "
                                           f"{limit / 1_048_576:.1f} MB in one upload. Nothing was imported.")


def edge_headers(raw: list[tuple[bytes, bytes]], *, private: bool, gzip: bool) -> list[tuple[bytes, bytes]]:
    """The answer's headers with nosniff, no-store for a request that carried credentials, and
    `Vary: Accept-Encoding` on a compressible answer gzip did not touch (as gzip would have set it:
    caches keep both forms apart). One pass over Starlette's lowercased raw headers: MutableHeaders
    walked them once per header set, more CPU than a cheap read's SQL."""
    kept: list[tuple[bytes, bytes]] = []
    first_vary: bytes | None = None
    compressible = not gzip
    for item in raw:
        name, value = item
        if name == b"x-content-type-options" or (private and name == b"cache-control"):
            continue  # replaced below
        if name == b"content-encoding":
            compressible = False
        elif name == b"content-length":
            compressible = compressible and not (value.isdigit() and int(value) < GZIP_MINIMUM)
        elif name == b"content-type":
            compressible = compressible and not value.startswith(NO_VARY)
        elif name == b"vary" and first_vary is None:
            first_vary = value
        kept.append(item)
    kept.append((b"x-content-type-options", b"nosniff"))
    if private:
        kept.append((b"cache-control", b"no-store"))
    if compressible:
        if first_vary is not None:  # one Vary header, the first one's value extended
            kept = [item for item in kept if item[0] != b"vary"]
        kept.append((b"vary", b"Accept-Encoding" if first_vary is None else first_vary + b", Accept-Encoding"))
    return kept
