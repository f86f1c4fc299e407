"""The hottest reads (list, search, read one, and the web interface's list), answered before FastAPI's router.

FastAPI's routing, dependency solving and query-model parsing cost more CPU than these reads' SQL
(bench.inproc). So they are taken here, inside the middleware stack (timing, body limit, gzip and
ETag still wrap them), but only when everything about them is in order: a known path, a valid token,
valid parameters. Anything else goes on to the FastAPI route, which answers its 401, 422 or 429
exactly as before and still describes these endpoints in the OpenAPI document. Both call the same
functions (`read_page`, `read_one`, api/conditional.py's ETag and 304), so the answers are the same
bytes (a test holds them so).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import kura_error_response, unexpected_error_response
from api.middleware import TIMING_KEY
from api.conditional import not_modified, tagged
from api.routes.bookmarks import ListParams, SearchParams, read_one, read_page
from api.schemas_resources import MAX_ID
from api.web.deps import SESSION_COOKIE, WEB_KEY, current_session
from api.web.pages.bookmarks import bookmark_list
from domain.accounts import Principal
from common.errors import KuraError

PREFIX = "/api/v1"
LIST, SEARCH, ONE = f"{PREFIX}/bookmarks", f"{PREFIX}/search", f"{PREFIX}/bookmarks/{{bookmark_id}}"
PAGE = "/"  # the web interface's bookmark list
REPEATABLE = {"tag", "any_tag"}

Answer = Callable[[], Awaitable[Response]]
# The request's answer once its parameters are known to be in order, else None (FastAPI answers).
Handler = Callable[[Request, Principal], Answer | None]

@dataclass(frozen=True)
class Template:
    """Stands in for the matched route in the scope, so logs and metrics name the route template."""

    path: str


def parse(model: type[BaseModel], request: Request) -> Any | None:
    """The query as `model`, or None when FastAPI should answer it (a bad or repeated parameter).
    The pairs are split as Starlette's QueryParams splits them, without building that multidict
    (more CPU than the parsing itself)."""
    data: dict[str, Any] = {}
    for key, value in parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if key in REPEATABLE:
            data.setdefault(key, []).append(value)
        elif key in data:
            return None
        else:
            data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


class HotReads:
    def __init__(self, app: ASGIApp, *, state: State) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            answer = await (self._list_page(scope) if scope["path"] == PAGE else self._answer(scope))
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> tuple[str, Handler] | None:
        path: str = scope["path"]
        if path == LIST:
            return LIST, self._list
        if path == SEARCH:
            return SEARCH, self._search
        rest = path.removeprefix(f"{LIST}/")
        if rest != path and rest.isascii() and rest.isdigit() and 1 <= int(rest) <= MAX_ID:
            scope["path_params"] = {"bookmark_id": rest}
            return ONE, self._one
        return None

    async def _answer(self, scope: Scope) -> Response | None:
        route = self._route(scope)
        if route is None:
            return None
        template, handler = route
        request = Request(scope)
        try:
            principal = await self.state.authenticator.known(request)
            if principal is None:
                return None
            scope["route"] = Template(template)
            if (record := scope.get(TIMING_KEY)) is not None:
                record.route = f"GET {template}"
            etag = self.state.versions.etag(principal, scope)
            if (unchanged := not_modified(scope, etag)) is not None:
                return unchanged  # before the query is parsed: the ETag vouches for it
            answer = handler(request, principal)
            if answer is None:
                return None
            return tagged(await answer(), etag)
        except KuraError as exc:
            return kura_error_response(exc)
        except Exception as exc:  # noqa: BLE001 - the same 500 as the routes' handler gives
            return unexpected_error_response("GET", scope["path"], exc)

    async def _list_page(self, scope: Scope) -> Response | None:
        """The web interface's list for a signed-in browser, by the page route's own function but
        without FastAPI's routing and dependency solving (issue 14 holds the page to twice the JSON
        list's CPU). Not signed in, or any refusal: None, and the route answers (sign-in, error page)."""
        request = Request(scope)
        if SESSION_COOKIE not in request.cookies:
            return None
        try:
            live = await current_session(request)  # kept in the scope's state: the route reuses it
            if live is None:
                return None
            scope[WEB_KEY] = True
            scope["route"] = Template(PAGE)
            if (record := scope.get(TIMING_KEY)) is not None:
                record.route = f"GET {PAGE}"
            return await bookmark_list(request, live.principal)
        except KuraError:
            return None

    def _list(self, request: Request, principal: Principal) -> Answer | None:
        return self._page(ListParams, request, principal)

    def _search(self, request: Request, principal: Principal) -> Answer | None:
        return self._page(SearchParams, request, principal)

    def _page(self, model: type[ListParams], request: Request, principal: Principal) -> Answer | None:
        params = parse(model, request)
        if params is None:
            return None
        return lambda: read_page(self.state.tx, self.state.settings, principal.user_id, params)

    def _one(self, request: Request, principal: Principal) -> Answer | None:
        if request.query_params:
            return None  # FastAPI ignores them; let it, rather than guess
        bookmark_id = int(request.scope["path_params"]["bookmark_id"])
        return lambda: read_one(self.state.tx, principal.user_id, bookmark_id)
