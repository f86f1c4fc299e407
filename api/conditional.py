"""Conditional GET for bookmark answers, decided from the user's data version (domain/data_version.py).

A list, search or single-bookmark answer changes only when the user's data version does, so its ETag
is derived from that version and from what was asked (path and query), not from the body: a client
that still holds the current answer gets 304 without a bookmark being read or serialised. An API
token's lookup reads the version with it (domain/accounts.py), so such a 304 costs that one read.
The per-process salt makes every tag new after a restart (a new release, new settings such as the
page-size cap), which costs each client one full answer and is never wrong.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Scope

from api.middleware import etag_matches
from common.sqlite import sqlite3
from domain.accounts import Principal
from domain.data_version import VERSION_SQL
from api.transactions import LoopBusy, Transactions
from common.errors import KuraError

SALT = secrets.token_bytes(8)


class Versions:
    """Reads data versions on the event loop (api/transactions.py's LoopReader): a point read of
    one row costs less there than the hand-off to a worker thread."""

    def __init__(self, tx: Transactions) -> None:
        self.tx = tx

    def current(self, user_id: int) -> int | None:
        """The version, or None when it cannot be read now (the answer then goes without an ETag
        of this kind, and the read that follows reports any storage problem)."""
        try:
            return self.tx.loop.run(_version, user_id=user_id)
        except (LoopBusy, KuraError):
            return None

    def etag(self, principal: Principal, scope: Scope) -> str | None:
        user_id = principal.user_id
        version = principal.data_version if principal.data_version is not None else self.current(user_id)
        if version is None:
            return None
        asked = hashlib.blake2b(b"%d %s?%s" % (user_id, scope["path"].encode(), scope["query_string"]),
                                digest_size=8, key=SALT).hexdigest()
        return f'W/"v{version}-{asked}"'


def _version(conn: sqlite3.Connection, *, user_id: int) -> int:
    row = conn.execute(VERSION_SQL, (user_id,)).fetchone()
    return 0 if row is None else int(row[0])


def not_modified(scope: Scope, etag: str | None) -> Response | None:
    """304 when the client's If-None-Match names the current answer, else None.

    It can be decided before the query is parsed: an ETag is only given to a 200 and names its path
    and query, so a match means this process answered this very question, validly, at this version."""
    if etag is not None:
        wanted = Headers(scope=scope).get("if-none-match")
        if wanted and etag_matches(wanted, etag):
            return Response(status_code=304, headers={"etag": etag})
    return None


def tagged(response: Response, etag: str | None) -> Response:
    if etag is not None and response.status_code == 200:
        response.headers["etag"] = etag
    return response


async def conditional(versions: Versions, scope: Scope, principal: Principal,
                      answer: Callable[[], Awaitable[Response]]) -> Response:
    """304 when the client's If-None-Match names the current answer; else the answer with its ETag."""
    etag = versions.etag(principal, scope)
    unchanged = not_modified(scope, etag)
    return unchanged if unchanged is not None else tagged(await answer(), etag)
