"""Sign-in and sign-out pages: GET/POST /login, POST /logout.

The sign-in form has its own CSRF token before any session exists (a short-lived cookie that the
form posts back: double submit), so another site cannot sign a browser into an account of its own.
Failed sign-ins count in the API's own FailureLimiter, per client address, checked BEFORE the
password: a guessable password must not be tried on past the limit (an API token cannot be guessed,
which is why the API lets a valid one through whatever failed before).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from loguru import logger
from starlette.concurrency import run_in_threadpool

from api.auth import Forbidden, TooManyFailures
from api.deps import SettingsDep, TxDep
from api.web.deps import SESSION_COOKIE, CsrfChecked, current_session, set_session_cookie
from api.web.render import page, see_other
from domain import passwords, sessions

router = APIRouter()
LOGIN_CSRF_COOKIE = "kura_login_csrf"
WRONG = "Wrong user name or password."


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site ("/tags?x=1"), else "/": never a redirect elsewhere
    ("//evil.example", "https://evil", "/\\evil", control characters)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"  # as api/auth.py counts it


def _login_page(request: Request, *, next_url: str, name: str = "", error: str | None = None,
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not 20 <= len(token) <= 64:
        token = secrets.token_urlsafe(32)
    response = page(request, "login.html", user=None, csrf=token, next=safe_next(next_url), name=name,
                    error=error, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query's name
    if await current_session(request) is not None:
        return see_other(safe_next(next))
    return _login_page(request, next_url=next)


@router.post("/login")
async def login(request: Request, tx: TxDep, settings: SettingsDep, name: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        raise Forbidden("the sign-in form's security token is missing or out of date; reload the page")
    limiter, client = request.app.state.authenticator.limiter, client_address(request)
    try:
        limiter.check(client)
        found = await tx.read(passwords.candidate, name=name)
        right, rehashed = await run_in_threadpool(passwords.verify, found, password)
        if not right:
            logger.warning("web sign-in failed from {}: wrong user name or password", client)
            limiter.fail(client)
            return _login_page(request, next_url=next, name=name, error=WRONG)
    except TooManyFailures as exc:
        logger.warning("web sign-in refused (429, too many failures) from {}", client)
        return _login_page(request, next_url=next, name=name, error=exc.message, status_code=429,
                           headers=exc.headers)
    assert found.user_id is not None and found.password_hash is not None
    if rehashed is not None:
        await tx.write(passwords.store_rehash, user_id=found.user_id, old_hash=found.password_hash,
                       new_hash=rehashed)
    new = await tx.write(sessions.start_session, user_id=found.user_id, days=settings.web_session_days,
                         replacing=request.cookies.get(SESSION_COOKIE))
    response = see_other(safe_next(next))
    set_session_cookie(response, request, new.token, days=settings.web_session_days)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, tx: TxDep, _: CsrfChecked) -> Response:
    await tx.write(sessions.end_session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = see_other("/login", notice="You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=request.url.scheme == "https")
    return response
