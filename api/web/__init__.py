"""The web interface (issue 14): server-rendered pages served by kura-api itself.

`install_web(app)` adds every page module's router under one `web_router`, left out of the OpenAPI
document, and the fingerprinted static files. Errors raised in a web route (a KuraError, a
validation error) are answered with the HTML error page; the API's routes keep their JSON errors:
every web route marks its request (`mark_web`), and the app's handlers look at that mark.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.web.deps import WEB_KEY, SignInRequired, mark_web
from api.web.pages import auth, bookmarks, collections, settings, status, tags, tokens, transfer
from api.web.render import assets, error_page, see_other
from common.errors import KuraError

Handler = Callable[[Request, Exception], Awaitable[Response]]
PAGES = (auth, settings, bookmarks, tags, collections, transfer, tokens, status)

web_router = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)
for _page in PAGES:
    web_router.include_router(_page.router)


async def static_file(name: str) -> Response:
    return assets().response(name)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "the request is not valid"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
    return f"{where}: {first.get('msg', 'invalid')}"


def _web_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, SignInRequired):
        return see_other(exc.location)
    if isinstance(exc, KuraError):
        return error_page(request, exc.status, exc.message, headers=getattr(exc, "headers", None))
    if isinstance(exc, RequestValidationError):
        return error_page(request, 422, _validation_message(exc))
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "error"
    return error_page(request, exc.status_code, message, headers=getattr(exc, "headers", None))


def _wants_page(request: Request, exc: Exception) -> bool:
    """A web route's error; or a browser asking for a page that does not exist (outside the API)."""
    if request.scope.get(WEB_KEY):
        return True
    return (isinstance(exc, StarletteHTTPException) and exc.status_code == 404
            and not request.url.path.startswith("/api/") and request.method == "GET"
            and "text/html" in request.headers.get("accept", ""))


def _dispatch(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if _wants_page(request, exc):
            return _web_error(request, exc)
        return await api_handler(request, exc)

    return handle


def install_web(app: FastAPI) -> None:
    """Call after the API's error handlers are installed: the web's wrap theirs."""
    for kind in (KuraError, RequestValidationError, StarletteHTTPException):
        app.add_exception_handler(kind, _dispatch(app.exception_handlers[kind]))
    app.add_api_route("/static/{name:path}", static_file, methods=["GET", "HEAD"], include_in_schema=False)
    app.include_router(web_router)
