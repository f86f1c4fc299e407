"""The bookmark list: filters, sorts, full-text search and keyset pagination, in one SELECT.

A page costs one statement whatever its size (each row carries its API answer as JSON). Each sort has an
index ending in id, so "the next page" is a range seek from the cursor's (key, id), never an OFFSET
that reads and discards the pages before it. The statement is assembled from fixed SQL fragments
with bound parameters (see domain/bookmark_rows.py for why it is text).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import orjson
from sqlalchemy.orm import Session

from common.sqlite import sqlite3
from domain.bookmark_rows import COLUMNS, Shape, to_dicts
from common.errors import BadRequest
from domain.fields import tag_key
from domain.models import from_micros, to_micros
from domain.search import ParsedQuery, parse_query

# Runs one statement and returns its rows: a session's or a plain connection's.
Execute = Callable[[str, tuple[Any, ...]], Sequence[Sequence[Any]]]

Sort = Literal["newest", "oldest", "modified", "title", "relevance"]

# bm25 weights follow the FTS columns (title, description, url, notes): a title hit counts most.
RANK = "bm25(bookmarks_fts, 10.0, 4.0, 2.0, 1.0)"
# (key expression, descending); the index order is (user_id, key, id).
SORT_KEYS: dict[str, tuple[str, bool]] = {
    "newest": ("bookmarks.created_at", True),
    "oldest": ("bookmarks.created_at", False),
    "modified": ("bookmarks.modified_at", True),
    "title": ("bookmarks.title COLLATE NOCASE", False),
    "relevance": (RANK, False),
}
TIME_SORTS = ("newest", "oldest", "modified")
# Far beyond any rank either path issues (bm25 is small; the index's block offsets stay under 1e12),
# and inside what SQLite binds and the index can page to.
MAX_RANK = 1e15
# `bookmarks_fts CROSS JOIN bookmarks`: SQLite always keeps a CROSS JOIN's left table as the outer
# loop, so a search reads only the matching rows. Left to itself the planner prefers walking the
# user's whole sort index and probing FTS once per bookmark, which is slow for a rare word.
SEARCH_FROM = "bookmarks_fts CROSS JOIN bookmarks ON bookmarks.id = bookmarks_fts.rowid"
TAGGED = ("bookmarks.id IN (SELECT bt.bookmark_id FROM bookmark_tags AS bt JOIN tags AS t ON t.id = bt.tag_id"
          " WHERE t.user_id = ? AND t.name IN ({}))")


# A list filtered by tags in date order walks the first tag's links in that order (the index on
# (tag_id, created_at, bookmark_id), migration 0005) and stops at the page's end; the user's
# newest-first index would be walked past every bookmark without the tags.
DRIVEN_FROM = "bookmark_tags AS drive CROSS JOIN bookmarks ON bookmarks.id = drive.bookmark_id"
DRIVEN_KEY, DRIVEN_TIE = "drive.created_at", "drive.bookmark_id"  # the same values as the bookmark's
DRIVE_TAG = "drive.tag_id = (SELECT id FROM tags WHERE user_id = ? AND name = ?)"
# With several tags, walking a common tag's links while probing a rare one reads nearly all of the
# common one's: so the walk takes the tag with the fewest links. They are counted exactly (a cap made
# two common tags tie, and the tie went to the lower id), once per user and tag set: see DRIVER_NAME.
DRIVE_RAREST = ("drive.tag_id = (SELECT id FROM tags WHERE user_id = ? AND name IN ({}) ORDER BY (SELECT count(*)"
                " FROM bookmark_tags AS c WHERE c.tag_id = tags.id), id LIMIT 1)")
# Each named tag must be in the walked link's copy of its bookmark's tag set (migration 0010): the
# set sits in the walked index entry, so the check reads nothing more. It replaced a probe of the
# other tag's links per walked link (292 for the bench's two-tag page): about half the statement's
# time and a quarter of the page's CPU in the app (0.20 -> 0.11 and 0.48 -> 0.37 ms, taken on a busy
# machine; 0.21 ms a page on a quiet one). The pattern is a non-correlated subquery, computed once;
# an unknown name gives NULL, which matches no row.
ALSO_TAGGED = "instr(drive.tag_ids, (SELECT ',' || id || ',' FROM tags WHERE user_id = ? AND name = ?)) > 0"
# Counting the links costs more than the walk itself, so the page that counted them remembers which
# tag was the rarest (its name, in a column only that page carries), and later pages walk that tag
# by the name the request gives (DRIVE_TAG) and check only the others: one instr() a walked link, no
# check that the walked tag is still one of the named (0.076 -> 0.062 ms a statement alone). Walking
# any named tag gives the same rows, so a choice gone stale (the tag deleted and made again, or no
# longer the rarest) costs speed, never a row.
DRIVER_NAME = "(SELECT name FROM tags WHERE id = drive.tag_id), "
DRIVER_COLUMN = 2  # after the 2 COLUMNS (id, api_json); then the sort key
DRIVERS_MAX = 4096
# Per process, which serves one database (tests, which open many, clear it between them).
_drivers: dict[tuple[int, tuple[str, ...]], str] = {}  # (user, tag keys) -> the rarest tag's key


@dataclass(frozen=True)
class Drive:
    """A walk from the rarest of several tags: what to remember it by, and whether it was known."""

    key: tuple[int, tuple[str, ...]]
    known: str | None  # the name, as the request gives it, of the tag remembered as the rarest


class BadCursor(BadRequest):
    code = "bad_cursor"


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
    if sort in TIME_SORTS:
        try:
            from_micros(key)  # only a time that exists; the statement compares the microseconds
        except (OverflowError, ValueError, OSError):
            raise BadCursor("cursor holds an impossible time; start again without it") from None
    if sort == "relevance" and not (math.isfinite(key) and abs(key) <= MAX_RANK):
        raise BadCursor("cursor holds an impossible rank; start again without it")
    return key, last_id


def _valid_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


class _Where:
    """SQL conditions and their parameters, kept in step."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def tagged(self, user_id: int, names: list[str] | tuple[str, ...]) -> None:
        self.add(TAGGED.format(", ".join("?" * len(names))), user_id, *names)


def _filters(where: _Where, user_id: int, f: dict[str, Any], parsed: Any, key: str, *, driven: bool,
             drive: Drive | None) -> None:
    where.add("bookmarks.user_id = ?", user_id)
    names = [*f.get("tag", ()), *parsed.tags]
    if driven:  # the rarest tag's links are the rows walked; every tag is checked on each
        if len(names) == 1:
            where.add(DRIVE_TAG, user_id, names[0])
        elif drive is not None and drive.known is not None:
            where.add(DRIVE_TAG, user_id, drive.known)
            others = list(names)
            others.remove(drive.known)
            for name in others:
                where.add(ALSO_TAGGED, user_id, name)
        else:
            where.add(DRIVE_RAREST.format(", ".join("?" * len(names))), user_id, *names)
            for name in names:
                where.add(ALSO_TAGGED, user_id, name)
    for name in [] if driven else names:  # every tag must match: one IN per tag
        where.tagged(user_id, [name])
    if f.get("any_tag"):
        where.tagged(user_id, f["any_tag"])
    if f.get("collection") is not None:
        where.add("bookmarks.collection_id = ?", f["collection"])
    for flag in ("unread", "archived"):
        if f.get(flag) is not None:
            where.add(f"bookmarks.{flag} = ?", int(f[flag]))
    for name, col in (("added_since", "bookmarks.created_at"), ("modified_since", "bookmarks.modified_at")):
        if f.get(name) is not None:
            # Unless the page is sorted by col, say the range is likely true: otherwise SQLite seeks the
            # range on col's index and sorts every match (seconds at 100k rows) instead of walking the
            # sort order's index and stopping at the page's end.
            where.add(f"{col} >= ?" if key == col else f"likely({col} >= ?)", to_micros(f[name]))
    excluded = parsed.exclude_match()
    if excluded and not parsed.include:  # "#tag -word": no positive words, so exclude by id
        where.add("bookmarks.id NOT IN (SELECT rowid FROM bookmarks_fts WHERE bookmarks_fts MATCH ?)", excluded)


def build_query(*, user_id: int, sort: Sort = "newest", limit: int = 50, cursor: str | None = None,
                **filters: Any) -> tuple[str, tuple[Any, ...], str, Drive | None]:
    """The page SELECT (limit + 1 rows, so the caller can tell whether another page follows), its
    parameters, the sort it really uses, and the walk from the rarest tag when it takes one."""
    parsed = parse_query(filters.get("q") or "")
    match = parsed.include_match()
    if sort == "relevance" and match is None:
        sort = "newest"  # nothing to rank by: fall back to the default order
    key, descending = SORT_KEYS[sort]
    driven = match is None and sort in ("newest", "oldest") and bool(filters.get("tag") or parsed.tags)
    key, tie, source = (DRIVEN_KEY, DRIVEN_TIE, DRIVEN_FROM) if driven else \
        (key, "bookmarks.id", SEARCH_FROM if match is not None else "bookmarks")
    names = [*filters.get("tag", ()), *parsed.tags]
    drive = None
    if driven and len(names) > 1:
        remembered = (user_id, tuple(sorted({tag_key(name) for name in names})))
        rarest = _drivers.get(remembered)
        drive = Drive(remembered, next((name for name in names if tag_key(name) == rarest), None))
    where = _Where()
    if match is not None:
        where.add("bookmarks_fts MATCH ?", match)
    _filters(where, user_id, filters, parsed, key, driven=driven, drive=drive)
    if cursor:
        last_key, last_id = decode_cursor(cursor, sort=sort)
        where.add(f"({key}, {tie}) {'<' if descending else '>'} (?, ?)", last_key, last_id)
    order = "DESC" if descending else "ASC"
    extra = DRIVER_NAME if drive is not None and drive.known is None else ""
    conditions = " AND ".join(where.parts)
    # The row count is written in, not bound: current SQLite reads a bound LIMIT while planning, which
    # ties the prepared statement to that value, and the driver's rebinding on every execute then
    # prepares the statement again each time (+0.01 ms a plain page, +0.09 ms a two-tag one).
    rows = int(limit) + 1
    if match is None:
        sql = (f"SELECT {COLUMNS}, {extra}{key} AS sort_key FROM {source} "
               f"WHERE {conditions} ORDER BY {key} {order}, {tie} {order} LIMIT {rows}")
    else:
        # Every match is sorted (no index gives bm25's order): choose the page's ids first, so only
        # the page's rows are read whole (their JSON), not every match's.
        sql = (f"SELECT {COLUMNS}, page.sort_key FROM (SELECT bookmarks.id AS page_id, {key} AS sort_key "
               f"FROM {source} WHERE {conditions} ORDER BY {key} {order}, {tie} {order} LIMIT {rows}) AS page "
               f"CROSS JOIN bookmarks ON bookmarks.id = page.page_id "
               f"ORDER BY page.sort_key {order}, page.page_id {order}")
    return sql, tuple(where.params), sort, drive


def _rows(execute: Execute, *, user_id: int, limit: int, shape: Shape = to_dicts,
          **options: Any) -> dict[str, Any]:
    """Build, run (`execute(sql, params)`) and shape one page, remembering the rarest tag."""
    sql, params, sort, drive = build_query(user_id=user_id, limit=limit, **options)
    rows = execute(sql, params)
    if drive is not None and drive.known is None and rows:
        if len(_drivers) >= DRIVERS_MAX:
            _drivers.clear()
        _drivers[drive.key] = tag_key(rows[0][DRIVER_COLUMN])
    return _page(rows, limit=limit, sort=sort, shape=shape)


class RankedIndex(Protocol):
    """What a derived search index offers (domain.searchindex.LiveIndex)."""

    def reader(self) -> sqlite3.Connection: ...

    def few_matches(self, query: ParsedQuery, *, most: int) -> bool: ...

    def search_ids(self, conn: sqlite3.Connection, *, user_id: int, query: ParsedQuery, limit: int,
                   after: tuple[float, int] | None = None, catch_up_s: float = ...) -> list[tuple[int, float]]: ...


# A search some word of which occurs in at most this many bookmarks (all users') is ranked by FTS5:
# ranking a few hundred matches costs it less than the index's re-ranking of its candidates.
FTS_MATCHES_MAX = 400
# `+user_id`: the owner check must not become the index SQLite walks (all the user's rows, probing
# the list for each); the ids are the way in.
BY_IDS = (f"SELECT {COLUMNS} FROM bookmarks WHERE bookmarks.id IN (SELECT value FROM json_each(?))"
          " AND +bookmarks.user_id = ?")


def list_bookmarks(session: Session, *, user_id: int, limit: int = 50, shape: Shape = to_dicts,
                   **options: Any) -> dict[str, Any]:
    """One page of the caller's bookmarks and the cursor for the next (None on the last page).

    options: q, tag, any_tag, collection, unread, archived, added_since, modified_since, sort, cursor.
    `shape` turns the rows into items: dicts by default; bookmark_rows.to_fragments for an answer that
    is only sent, to_texts for the stored JSON text itself.
    A relevance search here is FTS5's; api/routes/bookmarks.py's choose_page sends the ones the
    search index can rank to it (api/searching.py) first.
    """
    return _rows(lambda sql, params: session.connection().exec_driver_sql(sql, params).all(), user_id=user_id,
                 limit=limit, shape=shape, **options)


def list_in(conn: sqlite3.Connection, *, user_id: int, limit: int = 50, shape: Shape = to_dicts,
            **options: Any) -> dict[str, Any]:
    """`list_bookmarks` on a plain sqlite3 connection (api/transactions.py's read_plain): the same
    statements, without a session's CPU."""
    return _rows(lambda sql, params: conn.execute(sql, params).fetchall(), user_id=user_id, limit=limit,
                 shape=shape, **options)


def cheap_search(search_index: RankedIndex | None, q: str) -> bool:
    """Whether a relevance search for `q` alone costs little by construction: few matches for FTS5."""
    if search_index is None:
        return False
    parsed = parse_query(q)
    return bool(parsed.include) and search_index.few_matches(parsed, most=FTS_MATCHES_MAX)


def list_plain(conn: sqlite3.Connection, *, user_id: int, limit: int, sort: Sort = "newest",
               cursor: str | None = None, q: str | None = None, shape: Shape = to_dicts) -> dict[str, Any]:
    """A page on a plain sqlite3 connection, for the reads cheap by construction: an unfiltered page
    (a walk of the sort's index for limit + 1 rows) or a `cheap_search`. api/transactions.py may run
    it on the event loop."""
    return _rows(lambda sql, params: conn.execute(sql, params).fetchall(), user_id=user_id, limit=limit,
                 sort=sort, cursor=cursor, q=q, shape=shape)


def _page(rows: Sequence[Sequence[Any]], *, limit: int, sort: str, shape: Shape) -> dict[str, Any]:
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, rows[-1][-1], rows[-1][0]) if more else None
    return {"items": shape(rows), "next_cursor": next_cursor}


def ranked_page(execute: Execute, index: RankedIndex, *, user_id: int, parsed: ParsedQuery, limit: int,
                cursor: str | None, shape: Shape = to_dicts, catch_up_s: float) -> dict[str, Any]:
    """The index ranks (FTS5's bm25, higher is better); one statement reads the page's rows. The
    cursor holds the negated score, so its key orders as the SQL path's bm25() value does.
    `catch_up_s`: how long the index may wait to catch up with the log (see LiveIndex.search_ids)."""
    after = None
    if cursor:
        key, last_id = decode_cursor(cursor, sort="relevance")
        after = (-float(key), last_id)
    hits = index.search_ids(index.reader(), user_id=user_id, query=parsed, limit=limit + 1, after=after,
                            catch_up_s=catch_up_s)
    more = len(hits) > limit
    hits = hits[:limit]
    ids = [bookmark_id for bookmark_id, _ in hits]
    rows = {row[0]: row for row in execute(BY_IDS, (orjson.dumps(ids).decode(), user_id))}
    next_cursor = encode_cursor("relevance", -hits[-1][1], hits[-1][0]) if more else None
    # A bookmark deleted since the index ranked it is left out rather than shown.
    return {"items": shape([rows[i] for i in ids if i in rows]), "next_cursor": next_cursor}
