"""One error body for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from api.responses import ORJSONResponse
from loguru import logger
from pydantic import BaseModel
from sqlalchemy.exc import StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from common.errors import KuraError
from common.logging import mark_logged

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    431: "request_header_fields_too_large",
    500: "internal_error",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_body(status: int, message: str, *, code: str | None = None, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code or STATUS_CODES.get(status, "error"), "message": message, "details": details}}


def error_response(status: int, message: str, *, code: str | None = None, details: Any = None,
                   headers: dict[str, str] | None = None) -> ORJSONResponse:
    return ORJSONResponse(error_body(status, message, code=code, details=details), status_code=status,
                          headers=headers)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route's documented errors."""
    return {s: {"model": ErrorBody, "description": STATUS_CODES.get(s, "error").replace("_", " ")} for s in statuses}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append({"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg"), "type": err.get("type")})
    return out


def kura_error_response(exc: KuraError) -> ORJSONResponse:
    return error_response(exc.status, exc.message, code=exc.code, details=exc.details,
                          headers=getattr(exc, "headers", None))


def _without_sql_parameters(exc: BaseException) -> None:
    """SQLAlchemy puts a failed statement's parameters in its message: users' search terms and tag
    names (~350 KB of them for a 1,000-tag query). The log keeps the statement and the traceback."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StatementError):
            current.hide_parameters = True
        current = current.__cause__ or current.__context__


def unexpected_error_response(method: str, path: str, exc: Exception) -> ORJSONResponse:
    _without_sql_parameters(exc)
    logger.opt(exception=exc).error("unhandled error on {} {}", method, path)
    mark_logged(exc)  # Starlette re-raises it to uvicorn, whose own log line for it is then dropped
    return error_response(500, "internal error; the server log has the details")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's 405 names only the first route's)."""
    routes = request.app.router.routes
    allowed = [method for method in METHOD_ORDER if method == "OPTIONS" or any(
        route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)]
    return allowed


def _method_not_allowed(request: Request) -> Response:
    allow = {"Allow": ", ".join(allowed_methods(request))}
    if request.method == "OPTIONS":  # what OPTIONS asks for (RFC 9110 9.3.7); CORS preflights never get here
        return Response(status_code=204, headers=allow)
    return error_response(405, f"{request.method} is not allowed here; allowed: {allow['Allow']}", headers=allow)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KuraError)
    async def _kura(_: Request, exc: KuraError) -> ORJSONResponse:
        return kura_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] or first["loc"]) or "request"
        return error_response(422, f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return _method_not_allowed(request)
        message = exc.detail if isinstance(exc.detail, str) else STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        return unexpected_error_response(request.method, request.url.path, exc)
