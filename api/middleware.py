"""The ETag layer and the route naming that logs and metrics share; api/edge.py is the layer around it.

Pure ASGI (BaseHTTPMiddleware costs a task and a queue per request). The ETag sits inside gzip so it
hashes the identity body and stays the same whatever the client accepts. Streamed responses
(``more_body=True``) are never buffered: they pass through as they come.
"""

from __future__ import annotations

import hashlib

from fastapi import Request
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
        # Most answers here were tagged by their route (api/conditional.py): one look, no rewrite.
        etag = next((value.decode("latin-1") for name, value in start["headers"] if name == b"etag"), None)
        if not etag:
            etag = _etag(message.get("body", b""))
            MutableHeaders(scope=start)["ETag"] = etag
        if if_none_match and etag_matches(if_none_match, etag):
            kept = [(k, v) for k, v in start["headers"] if k.lower() in NOT_MODIFIED_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send(message)
