"""Bookmark create, update and delete, answered before FastAPI's router (as api/hot.py does for reads).

Once the write itself became plain SQL, FastAPI's routing, dependency solving, body parsing and
response-model serialisation cost more CPU than the write. So the three writes are taken here when
everything about them is in order: a known path, a valid token, a JSON body declared by its length
that validates. Anything else, the body included, goes on to the FastAPI route, which answers its
401, 422 or 429 as before and still describes these endpoints in the OpenAPI document. Both call the
same functions (`create`, `update`, `delete` in api/routes/bookmarks.py), so a write that was let
through is acknowledged only after its COMMIT, and the answers are the same bytes (a test holds it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import kura_error_response, unexpected_error_response
from api.hot import ONE, PREFIX, Template
from api.middleware import TIMING_KEY
from api.routes.bookmarks import BookmarkCreate, BookmarkUpdate, create, delete, update
from api.schemas_resources import MAX_ID
from domain.accounts import Principal
from common.errors import KuraError

LIST = f"{PREFIX}/bookmarks"
BODY_MAX = 256 * 1024  # a bookmark's fields fit many times over; a bigger body takes the full path

# What the request is: its route template, and the answer once the caller and the body are known.
Write = Callable[[Principal, int, Any], Awaitable[Response]]


def body_length(scope: Scope) -> int | None:
    """The declared length of a JSON body, or None: no length (chunked), another type, or too big."""
    length: int | None = None
    json = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"content-type":
            json = value.split(b";")[0].strip().lower() == b"application/json"
        elif name == b"transfer-encoding":
            return None
    return length if json and length is not None and length <= BODY_MAX else None


async def read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message of the request's body, and the body when it arrived whole (None: disconnected)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` for the full path: the messages already read, then the connection's own."""
    pending = list(messages)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again


def parse(model: type[BaseModel], body: bytes) -> Any | None:
    """The body as `model`, or None when FastAPI should answer it (not JSON, not an object, invalid)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


class HotWrites:
    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope) if scope["type"] == "http" else None
        if route is not None:
            messages, body = await read_body(receive)
            answer = None if body is None else await self._answer(scope, route, body)
            if answer is not None:
                await answer(scope, receive, send)
                return
            receive = replay(messages, receive)
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> tuple[str, Write, type[BaseModel] | None] | None:
        method, path = scope["method"], scope["path"]
        if path == LIST:
            return (LIST, self._create, BookmarkCreate) if method == "POST" and body_length(scope) else None
        rest = path.removeprefix(f"{LIST}/")
        if rest == path or not (rest.isascii() and rest.isdigit() and 1 <= int(rest) <= MAX_ID):
            return None
        if method == "PATCH" and body_length(scope):
            return ONE, self._update, BookmarkUpdate
        if method == "DELETE" and not any(name in (b"content-length", b"transfer-encoding")
                                          for name, _ in scope["headers"]):
            return ONE, self._delete, None
        return None

    async def _answer(self, scope: Scope, route: tuple[str, Write, type[BaseModel] | None],
                      body: bytes) -> Response | None:
        template, write, model = route
        if scope["query_string"]:
            return None  # FastAPI ignores a query here; let it, rather than guess
        params = None if model is None else parse(model, body)
        if model is not None and params is None:
            return None
        request = Request(scope)
        try:
            principal = await self.state.authenticator.known(request)
            if principal is None:
                return None
            bookmark_id = 0
            if template == ONE:
                bookmark_id = int(scope["path"].rpartition("/")[2])
                scope["path_params"] = {"bookmark_id": str(bookmark_id)}
            scope["route"] = Template(template)
            if (record := scope.get(TIMING_KEY)) is not None:
                record.route = f"{scope['method']} {template}"
            return await write(principal, bookmark_id, params)
        except KuraError as exc:
            return kura_error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the same 500 as the routes' handler gives
            return unexpected_error_response(scope["method"], scope["path"], exc)

    async def _create(self, principal: Principal, _: int, body: BookmarkCreate) -> Response:
        return await create(self.state.tx, principal.user_id, body, location=lambda new_id: f"{LIST}/{new_id}")

    async def _update(self, principal: Principal, bookmark_id: int, body: BookmarkUpdate) -> Response:
        return await update(self.state.tx, principal.user_id, bookmark_id, body)

    async def _delete(self, principal: Principal, bookmark_id: int, _: None) -> Response:
        return await delete(self.state.tx, principal.user_id, bookmark_id)
