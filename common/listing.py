"""The bookmark list: filters, sorts, full-text search and keyset pagination, in one SELECT.

A page costs one statement whatever its size: the page, each row carrying its tag names. Each
sort has an index ending in id, so "the next page" is a range seek from the cursor's (key, id),
never an OFFSET that reads and discards the pages before it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, Integer, Select, column, func, literal, literal_column, select, table, tuple_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Join

from common.bookmarks import COLUMNS, to_dicts
from common.errors import BadRequest
from common.models import Bookmark, BookmarkTag, Tag, from_micros, to_micros
from common.search import ParsedQuery, parse_query

Sort = Literal["newest", "oldest", "modified", "title", "relevance"]

fts = table("bookmarks_fts", column("rowid"), column("bookmarks_fts"))
# bm25 weights follow the FTS columns (title, description, url, notes): a title hit counts most.
RANK = func.bm25(literal_column("bookmarks_fts"), 10.0, 4.0, 2.0, 1.0)
TITLE = Bookmark.title.collate("NOCASE")


class FtsFirst(Join):
    """`bookmarks_fts CROSS JOIN bookmarks`: SQLite always keeps a CROSS JOIN's left table as the outer
    loop, so a search reads only the matching rows. Left to itself the planner prefers walking the
    user's whole sort index and probing FTS once per bookmark, which is slow for a rare word."""

    inherit_cache = True


@compiles(FtsFirst)
def _compile_fts_first(join: FtsFirst, compiler: Any, **kw: Any) -> str:
    return str(compiler.visit_join(join, **kw)).replace(" JOIN ", " CROSS JOIN ", 1)


class BadCursor(BadRequest):
    code = "bad_cursor"


def _sort_key(sort: str) -> tuple[ColumnElement[Any], bool]:
    """(key expression, descending) for a sort; the index order is (user_id, key, id)."""
    return {
        "newest": (Bookmark.created_at, True),
        "oldest": (Bookmark.created_at, False),
        "modified": (Bookmark.modified_at, True),
        "title": (TITLE, False),
        "relevance": (RANK, False),
    }[sort]


def encode_cursor(sort: str, key: Any, last_id: int) -> str:
    if isinstance(key, datetime):
        key = to_micros(key)
    return base64.urlsafe_b64encode(orjson.dumps([sort, key, last_id])).decode().rstrip("=")


def decode_cursor(cursor: str, *, sort: str) -> tuple[Any, int]:
    """The (key, id) a cursor continues from; anything we did not issue for this sort is a BadCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cur_sort, key, last_id = orjson.loads(raw)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise BadCursor("cursor is not one this server issued; start again without it") from None
    expected = {"newest": int, "oldest": int, "modified": int, "title": str, "relevance": (int, float)}
    if cur_sort != sort:
        raise BadCursor(f"cursor was issued for sort={cur_sort}, not sort={sort}")
    if not _valid_id(last_id) or isinstance(key, bool) or not isinstance(key, expected[sort]):
        raise BadCursor("cursor is not one this server issued; start again without it")
    if sort in ("newest", "oldest", "modified"):
        try:
            key = from_micros(key)
        except (OverflowError, ValueError, OSError):
            raise BadCursor("cursor holds an impossible time; start again without it") from None
    return key, last_id


def _valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _tagged(user_id: int, names: Sequence[str]) -> Select[Any]:
    return (
        select(BookmarkTag.bookmark_id)
        .join(Tag, Tag.id == BookmarkTag.tag_id)
        .where(Tag.user_id == user_id, Tag.name.in_(list(names)))
    )


def _since(col: Any, when: datetime, *, sort_key: ColumnElement[Any]) -> ColumnElement[bool]:
    """col >= when. Unless the page is sorted by col, say the range is likely true: otherwise SQLite
    seeks the range on col's index and sorts every match (seconds at 100k rows) instead of walking
    the sort order's index and stopping at the page's end."""
    condition = col >= when
    return condition if sort_key is col else func.likely(condition)


def _filters(user_id: int, f: dict[str, Any], parsed: ParsedQuery,
             key: ColumnElement[Any]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Bookmark.user_id == user_id]
    for name in [*f.get("tag", ()), *parsed.tags]:  # every tag must match: one IN per tag
        where.append(Bookmark.id.in_(_tagged(user_id, [name])))
    if f.get("any_tag"):
        where.append(Bookmark.id.in_(_tagged(user_id, f["any_tag"])))
    if f.get("collection") is not None:
        where.append(Bookmark.collection_id == f["collection"])
    for flag in ("unread", "archived"):
        if f.get(flag) is not None:
            where.append(getattr(Bookmark, flag) == f[flag])
    for name, col in (("added_since", Bookmark.created_at), ("modified_since", Bookmark.modified_at)):
        if f.get(name) is not None:
            where.append(_since(col, f[name], sort_key=key))
    excluded = parsed.exclude_match()
    if excluded and not parsed.include:  # "#tag -word": no positive words, so exclude by id
        where.append(Bookmark.id.not_in(select(fts.c.rowid).where(fts.c.bookmarks_fts.match(excluded))))
    return where


def build_query(*, user_id: int, sort: Sort = "newest", limit: int = 50, cursor: str | None = None,
                **filters: Any) -> Select[Any]:
    """The page SELECT (limit + 1 rows, so the caller can tell whether another page follows)."""
    parsed = parse_query(filters.get("q") or "")
    match = parsed.include_match()
    if sort == "relevance" and match is None:
        sort = "newest"  # nothing to rank by: fall back to the default order
    key, descending = _sort_key(sort)
    query = select(*COLUMNS, key.label("sort_key"))
    if match is not None:
        query = query.select_from(FtsFirst(fts, Bookmark.__table__, Bookmark.id == fts.c.rowid))
        query = query.where(fts.c.bookmarks_fts.match(match))
    query = query.where(*_filters(user_id, filters, parsed, key))
    if cursor:
        after = tuple_(key, Bookmark.id)
        last_key, last_id = decode_cursor(cursor, sort=sort)
        bound = tuple_(literal(last_key, key.type), literal(last_id, Integer))
        query = query.where(after < bound if descending else after > bound)
    order = (key.desc(), Bookmark.id.desc()) if descending else (key.asc(), Bookmark.id.asc())
    return query.order_by(*order).limit(limit + 1).execution_options(kura_sort=sort)


def list_bookmarks(session: Session, *, user_id: int, limit: int = 50, **options: Any) -> dict[str, Any]:
    """One page of the caller's bookmarks and the cursor for the next (None on the last page).

    options: q, tag, any_tag, collection, unread, archived, added_since, modified_since, sort, cursor.
    """
    query = build_query(user_id=user_id, limit=limit, **options)
    rows = session.connection().execute(query).all()  # Core rows: no ORM result machinery on the hot path
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        next_cursor = encode_cursor(query.get_execution_options()["kura_sort"], rows[-1][-1], rows[-1][0])
    return {"items": to_dicts(rows), "next_cursor": next_cursor}
