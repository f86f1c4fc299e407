"""Token authentication with a per-client bound on failures."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import NoReturn

from fastapi import Request
from loguru import logger

from api.transactions import Transactions
from domain import accounts
from domain.accounts import Principal
from common.errors import KuraError

SCHEMES = ("bearer", "token")
ADMIN_KEY = "kura.admin"  # set in the request's scope once the caller is known to be an admin
TOUCH_EVERY_S = 60.0


class Unauthorized(KuraError):
    status, code = 401, "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="kura"'}  # RFC 6750 3: how to authenticate


class TooManyFailures(KuraError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class Forbidden(KuraError):
    status, code = 403, "forbidden"


class FailureLimiter:
    """Counts failed authentications per client in a sliding window."""

    def __init__(self, *, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        fails = self._fails.setdefault(client, deque())
        while fails and now - fails[0] > self.window_s:
            fails.popleft()
        return fails

    def check(self, client: str) -> None:
        with self._lock:
            fails = self._recent(client, time.monotonic())
            if len(fails) >= self.limit:
                retry = int(self.window_s - (time.monotonic() - fails[0])) + 1
                raise TooManyFailures(f"too many failed authentications from this client; retry in {retry} s",
                                      retry_after=retry)

    def fail(self, client: str) -> None:
        """Count one failure; 429 once the client is over the limit (the failures are not counted on
        while it is: the window then ends `window_s` after the failures that crossed the limit)."""
        self.check(client)
        with self._lock:
            self._recent(client, time.monotonic()).append(time.monotonic())
            if len(self._fails) > 10_000:  # bound memory against a spray of clients
                self._fails = {k: v for k, v in self._fails.items() if v}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in SCHEMES or not value.strip() or " " in value.strip():
        return None
    return value.strip()


class Authenticator:
    """Resolves the caller on the event loop, so authentication costs no thread-pool hand-off.

    The lookup is a point read on a unique index over the event loop's own plain connection
    (`tx.loop`): it never waits for the pool (whose connections the worker threads hold), in WAL mode
    a reader never waits for a writer, and a rare lock there sends it to a worker thread instead. The occasional last_used_at write goes through the write turn:
    at once when the turn is free, else in the background, so a read never queues behind writes.
    """

    def __init__(self, tx: Transactions, limiter: FailureLimiter) -> None:
        self.tx, self.db, self.limiter = tx, tx.db, limiter
        self._touched: dict[int, float] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def __call__(self, request: Request) -> Principal:
        """The caller. A valid token is always let in, whatever failed from the same address before:
        the limiter only ever refuses requests that would have failed anyway."""
        token = bearer_token(request)
        principal = None if token is None else await self._lookup(token)
        if principal is None:
            self._refuse(request, "missing or malformed Authorization header" if token is None
                         else "invalid, expired or revoked token")
        await self._used(principal, request)
        return principal

    async def known(self, request: Request) -> Principal | None:
        """The caller when everything is in order, else None with nothing counted or raised: the hot
        reads (api/hot.py) then hand the request to the full path, which answers 401/429 itself."""
        token = bearer_token(request)
        principal = None if token is None else await self._lookup(token)
        if principal is not None:
            await self._used(principal, request)
        return principal

    def _refuse(self, request: Request, reason: str) -> NoReturn:
        # WARNING, with the address and never the token: what fail2ban and an admin look for.
        client = request.client.host if request.client else "unknown"
        where = f"{request.method} {request.url.path}"  # a matched route's path: ids only, no user text
        try:
            self.limiter.fail(client)
        except TooManyFailures as exc:
            logger.warning("auth refused (429, too many failures) from {} on {}: {}", client, where, reason)
            raise exc from None
        logger.warning("auth failed (401) from {} on {}: {}", client, where, reason)
        raise Unauthorized(reason + " (send `Authorization: Bearer <token>`)")

    async def _used(self, principal: Principal, request: Request) -> None:
        if principal.is_admin:
            request.scope[ADMIN_KEY] = True  # the timing middleware shows admins Server-Timing
        if self._touch_due(principal.token_id):
            if self.tx.writer.locked():
                task = asyncio.create_task(self._touch(principal.token_id))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            else:
                await self._touch(principal.token_id)

    async def _lookup(self, token: str) -> Principal | None:
        # On the loop's own plain connection (a point read on a unique index): through a SQLAlchemy
        # connection the same lookup cost half of a 304's CPU (measured for "Ten times less CPU").
        return await self.tx.read_quick(accounts.authenticate, accounts.authenticate_in, token=token)

    def _touch_due(self, token_id: int) -> bool:
        # last_used_at is informative; writing it on every request would make every read a write.
        now = time.monotonic()
        if now - self._touched.get(token_id, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
            return False
        self._touched[token_id] = now
        return True

    async def _touch(self, token_id: int) -> None:
        try:
            await self.tx.write(accounts.touch_token, token_id=token_id)
        except KuraError as exc:  # informative only: never fail a request for it
            logger.debug("last_used_at of token {} not recorded: {}", token_id, exc.message)
