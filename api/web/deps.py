"""Who is signed in, and the CSRF check: `WebUser`, `WebAdmin`, `CsrfChecked`.

The session cookie's value is looked up like an API token: a point read on the event loop's own
connection. Its use is recorded at most once a minute (the expiry slides), in the background when
the write turn is busy, so a page view never queues behind writes.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response
from loguru import logger

from api.auth import Forbidden
from api.web.render import STATE_REFRESH, STATE_SESSION
from domain import sessions
from domain.accounts import Principal
from common.errors import KuraError, NotFound
from domain.models import utcnow
from domain.sessions import LiveSession

SESSION_COOKIE = "kura_session"
WEB_KEY = "kura.web"  # set in the request's scope by every web route: errors then render as pages
_background: set[asyncio.Task[None]] = set()


class SignInRequired(KuraError):
    """No valid session: answered by a 303 to the sign-in page (api/web/__init__.py)."""

    status, code = 303, "sign_in_required"

    def __init__(self, location: str) -> None:
        super().__init__("sign in first")
        self.location = location


async def mark_web(request: Request) -> None:
    request.scope[WEB_KEY] = True


def set_session_cookie(response: Response, request: Request, token: str, *, days: float) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(days * 86_400), path="/", httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")


async def current_session(request: Request) -> LiveSession | None:
    """The request's live session, or None (looked up once per request)."""
    if hasattr(request.state, STATE_SESSION):
        return getattr(request.state, STATE_SESSION)
    token = request.cookies.get(SESSION_COOKIE)
    live = None
    if token and len(token) <= 256:
        tx = request.app.state.tx
        live = await tx.read_quick(sessions.find_session, sessions.find_session_in, token=token)
    setattr(request.state, STATE_SESSION, live)
    if live is not None and live.touch_due(utcnow()):
        await _touch(request, live, token or "")
    return live


async def _touch(request: Request, live: LiveSession, token: str) -> None:
    tx, days = request.app.state.tx, request.app.state.settings.web_session_days

    async def touch() -> None:
        try:
            await tx.write(sessions.touch_session, session_id=live.session_id, days=days)
        except KuraError as exc:  # informative only: never fail a page for it
            logger.debug("web session {} not touched: {}", live.session_id, exc.message)

    # The cookie's own lifetime slides with the row's (sent again with the next page rendered).
    setattr(request.state, STATE_REFRESH,
            lambda response: set_session_cookie(response, request, token, days=days))
    if tx.writer.locked():
        task = asyncio.create_task(touch())
        _background.add(task)
        task.add_done_callback(_background.discard)
    else:
        await touch()


def login_url(request: Request) -> str:
    """/login, with `next` the page asked for when it was a GET (a POST's target cannot be GET)."""
    if request.method not in ("GET", "HEAD"):
        return "/login"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" if target == "/" else f"/login?next={quote(target, safe='')}"


async def web_user(request: Request) -> Principal:
    live = await current_session(request)
    if live is None:
        raise SignInRequired(login_url(request))
    return live.principal


async def web_admin(user: Annotated[Principal, Depends(web_user)]) -> Principal:
    if not user.is_admin:
        raise NotFound("page not found")  # a non-admin must not learn the page exists
    return user


async def check_csrf(request: Request) -> None:
    """The posted `csrf` field must equal the session's token; else 403 and nothing is done."""
    live = await current_session(request)
    if live is None:
        raise SignInRequired(login_url(request))
    form = await request.form()
    sent = form.get("csrf")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), live.csrf.encode()):
        raise Forbidden("the form's security token is missing or out of date; reload the page and try again")


WebUser = Annotated[Principal, Depends(web_user)]
WebAdmin = Annotated[Principal, Depends(web_admin)]
CsrfChecked = Annotated[None, Depends(check_csrf)]
