"""What the bookmark pages read: the list page's parameters, its rows (the JSON list's own functions)
and the page's state (data version and collection tree), and the list page's ETag.

The list page must stay within twice the CPU of the JSON list (issue 14), so it reads the same way:
one statement for the page's rows (on the event loop when that is cheap by construction, as
api/routes/bookmarks.py's choose_page decides), plus one small read for the data version and the
collection names — no per-collection bookmark counts, which cost a walk of every collected bookmark.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlencode

from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from api.conditional import SALT
from api.routes.bookmarks import ListParams, choose_page
from api.transactions import Transactions
from common.sqlite import sqlite3
from domain.accounts import Principal
from domain.bookmark_rows import to_texts
from domain.data_version import VERSION_SQL
from common.errors import BadRequest
from common.settings import Settings

# Only names and parents: the side panel's tree and each row's collection name.
COLLECTIONS_SQL = "SELECT id, name, parent_id FROM collections WHERE user_id = ? ORDER BY name, id"
FLAGS = ("unread", "archived")


@dataclass(frozen=True)
class PageState:
    version: int
    collections: tuple[tuple[int, str, int | None], ...]

    def names(self) -> dict[int, str]:
        return {cid: name for cid, name, _ in self.collections}


def _state(run: Any, user_id: int) -> PageState:
    # The version is read first: if a write lands in between, the ETag is older than the page and
    # the next request simply reads again; never the other way round.
    row = run(VERSION_SQL, (user_id,)).fetchone()
    rows = run(COLLECTIONS_SQL, (user_id,)).fetchall()
    return PageState(0 if row is None else int(row[0]), tuple((r[0], r[1], r[2]) for r in rows))


def state_plain(conn: sqlite3.Connection, *, user_id: int) -> PageState:
    """On the event loop's connection (api/transactions.py's LoopReader): two index reads."""
    return _state(conn.execute, user_id)


def state_session(session: Session, *, user_id: int) -> PageState:
    return _state(session.connection().exec_driver_sql, user_id)


class TreeRow(NamedTuple):
    depth: int
    id: int
    name: str
    opens: bool  # children follow: the side panel opens a nested list here
    closes: int  # how many nested lists end after this leaf


@lru_cache(maxsize=256)  # a pure function of the user's collections, which rarely change between pages
def collection_tree(collections: tuple[tuple[int, str, int | None], ...]) -> tuple[TreeRow, ...]:
    """The collections in tree order (siblings by name), flat, with what the side panel needs to nest
    them as lists: one pass in the template, no recursion however deep the tree."""
    known = {cid for cid, _, _ in collections}
    children: dict[int | None, list[tuple[int, str]]] = {}
    for cid, name, parent in collections:
        children.setdefault(parent if parent in known and parent != cid else None, []).append((cid, name))
    flat: list[tuple[int, int, str]] = []
    stack = [(0, node) for node in reversed(children.get(None, []))]
    seen: set[int] = set()
    while stack:
        depth, (cid, name) = stack.pop()
        if cid not in seen:  # the tree is acyclic by construction; this only guards the walk
            seen.add(cid)
            flat.append((depth, cid, name))
            stack.extend((depth + 1, node) for node in reversed(children.get(cid, [])))
    out = []
    for i, (depth, cid, name) in enumerate(flat):
        following = flat[i + 1][0] if i + 1 < len(flat) else 0
        out.append(TreeRow(depth, cid, name, following > depth, max(depth - following, 0)))
    return tuple(out)


@lru_cache(maxsize=256)
def tree_html(collections: tuple[tuple[int, str, int | None], ...], current: int | None) -> Markup:
    """The side panel's collection tree as nested lists (escaped here): rendered once per set of
    collections and current one, not per page, since it changes only when the collections do."""
    out = []
    for depth, cid, name, opens, closes in collection_tree(collections):
        here = ' aria-current="page"' if cid == current else ""
        out.append(f'<li><a href="/?collection={cid}"{here}>{escape(name)}</a>')
        out.append("<ul>" if opens else "</li>" + "</ul></li>" * closes)
        out.append("\n")
    return Markup("".join(out))


def list_params(query: QueryParams) -> ListParams:
    """The list page's query as the JSON list's parameters; a search ranks by relevance, as /search does."""
    data: dict[str, Any] = {"tag": [t for t in query.getlist("tag") if t.strip()]}
    q = (query.get("q") or "").strip()
    if q:
        data["q"], data["sort"] = q, "relevance"
    for name in ("collection", "cursor", *FLAGS):
        if query.get(name):
            data[name] = query[name]
    try:
        return ListParams.model_validate(data)
    except ValidationError as err:
        raise BadRequest(f"this list cannot be shown: {describe(err)}") from None


def describe(err: ValidationError) -> str:
    """A pydantic error in one line for a person: `field: what is wrong; ...`."""
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"] if not isinstance(p, int)) or "input"
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


async def read_list(tx: Transactions, settings: Settings, *, user_id: int, params: ListParams) -> dict[str, Any]:
    """One page of rows, chosen as the JSON list's (api/routes/bookmarks.py's choose_page); the items
    are the rows' stored JSON texts (bookmark_views turns them into HTML)."""
    return await choose_page(tx, settings, user_id=user_id, params=params, shape=to_texts)


def filters_of(params: ListParams) -> dict[str, Any]:
    """The page's filters as query parameters (no cursor): what "More" and the side panel's links keep."""
    out: dict[str, Any] = {}
    if params.q:
        out["q"] = params.q
    if params.tag:
        out["tag"] = list(params.tag)
    if params.collection is not None:
        out["collection"] = params.collection
    for flag in FLAGS:
        value = getattr(params, flag)
        if value is not None:
            out[flag] = int(value)
    return out


def list_url(filters: Mapping[str, Any], **changes: Any) -> str:
    """`/` with these filters, changed (a None value drops that filter)."""
    merged = {**filters, **changes}
    query = urlencode({k: v for k, v in merged.items() if v is not None and v != []}, doseq=True)
    return f"/?{query}" if query else "/"


def page_etag(*, user: Principal, state: PageState, path: str, query: bytes, session_key: str) -> str:
    """Like the API's (api/conditional.py: data version, what was asked, per-process salt), and also what
    else the page shows: the collection names (not part of the data version), the session (the page
    embeds its CSRF token) and the header's name and admin link."""
    asked = hashlib.blake2b(b"%d %s?%s %s %s" % (user.user_id, path.encode(), query, session_key.encode(),
                                                 _shown(user.name, user.is_admin, state.collections)),
                            digest_size=8, key=SALT).hexdigest()
    return f'W/"p{state.version}-{asked}"'


@lru_cache(maxsize=256)  # the same few values on every page of a user: hashed once, not repr'd per page
def _shown(name: str, is_admin: bool, collections: tuple[tuple[int, str, int | None], ...]) -> bytes:
    return hashlib.blake2b(repr((name, is_admin, collections)).encode(), digest_size=16).digest()


def domain(url: str) -> str:
    """The host a row shows (URLs are stored normalised: scheme://[user@]host[:port]/...)."""
    rest = url.partition("://")[2]
    if not rest:
        return url.partition(":")[0]
    host = rest.split("/", 1)[0].rpartition("@")[2]
    return host.removeprefix("www.")
