"""The SQL text that reads bookmarks in their API shape: one place, bound parameters, no ORM.

These statements run on every list, search and read, so they are written out once as text and run
with `exec_driver_sql`: SQLAlchemy still sees them (timing, slow-SQL log, query counts) but builds
nothing. Each row carries its whole API answer as JSON text (`api_json`, kept by triggers), so a
page is sent without building a dict, a tag list or a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson
from sqlalchemy.orm import Session

from common.sqlite import sqlite3
from domain.fields import tag_key
from domain.models import Bookmark
from domain.ownership import not_found


def iso_utc(column: str) -> str:
    """SQL for integer microseconds as `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, as pydantic writes a UTC time
    (no fraction when it is zero). Floor division, so times before 1970 come out right too."""
    micros = f"(({column} % 1000000) + 1000000) % 1000000"
    seconds = f"({column} - {micros}) / 1000000"
    return (f"CASE WHEN {micros} = 0 THEN strftime('%Y-%m-%dT%H:%M:%SZ', {seconds}, 'unixepoch') "
            f"ELSE strftime('%Y-%m-%dT%H:%M:%S', {seconds}, 'unixepoch') || printf('.%06dZ', {micros}) END")


# The tag names in the tags' NOCASE collation (ASCII letters folded, then code point order).
_TAG_NAMES = ("(SELECT json_group_array(name) FROM (SELECT t.name FROM bookmark_tags AS bt JOIN tags AS t"
              " ON t.id = bt.tag_id WHERE bt.bookmark_id = bookmarks.id ORDER BY t.name))")


def _flag(column: str) -> str:
    return f"json(CASE WHEN bookmarks.{column} THEN 'true' ELSE 'false' END)"


# A bookmark exactly as the API answers it (the bytes orjson writes for BookmarkOut), in SQL. Migration
# 0008's triggers store it in `bookmarks.api_json` whenever the row, its links or a tag's name change,
# so a page is its rows' stored JSON joined: no tag query, no time formatting, no dict per row.
API_JSON = (
    "json_object('id', bookmarks.id, 'url', bookmarks.url, 'title', bookmarks.title,"
    " 'description', bookmarks.description, 'notes', bookmarks.notes, 'tags', json(" + _TAG_NAMES + "),"
    f" 'collection', bookmarks.collection_id, 'unread', {_flag('unread')}, 'archived', {_flag('archived')},"
    f" 'private', {_flag('private')}, 'created', {iso_utc('bookmarks.created_at')},"
    f" 'modified', {iso_utc('bookmarks.modified_at')})"
)
COLUMNS = "bookmarks.id, bookmarks.api_json"
_EPOCH = datetime(1970, 1, 1)


def answer_text(*, bookmark_id: int, url: str, title: str, description: str, notes: str, tags: Iterable[str],
                collection: int | None, unread: bool, archived: bool, private: bool, created_at: int,
                modified_at: int) -> str:
    """API_JSON's text made in Python, for a bulk insert that knows a new row (and its tags' stored
    names) before SQLite does: one write of the row instead of an insert and then an update.
    tests/domain/test_bookmark_rows.py holds the two to the same bytes."""
    return orjson.dumps({
        "id": bookmark_id, "url": url, "title": title, "description": description, "notes": notes,
        "tags": sorted(tags, key=tag_key), "collection": collection, "unread": unread, "archived": archived,
        "private": private, "created": _EPOCH + timedelta(microseconds=created_at),
        "modified": _EPOCH + timedelta(microseconds=modified_at),
    }, option=_UTC).decode()


# orjson writes a naive time as UTC with a Z and no fraction when it is zero, as iso_utc does.
_UTC = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
ONE = f"SELECT {COLUMNS} FROM bookmarks WHERE bookmarks.id = ? AND bookmarks.user_id = ?"


def to_dicts(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """API-shaped bookmarks for rows that start with COLUMNS."""
    return [orjson.loads(r[1]) for r in rows]


def to_fragments(rows: Sequence[Sequence[Any]]) -> list[orjson.Fragment]:
    """The same bookmarks as JSON that orjson writes as it is: for answers that are only sent."""
    return [orjson.Fragment(r[1]) for r in rows]


def to_texts(rows: Sequence[Sequence[Any]]) -> list[str]:
    """The stored JSON texts themselves: a key that changes whenever anything the answer shows does."""
    return [r[1] for r in rows]


# How a list turns its rows (starting with COLUMNS) into items: to_dicts, to_fragments or to_texts.
Shape = Callable[[Sequence[Sequence[Any]]], list[Any]]


# A bookmark's tag ids as its links carry them (migration 0010), ",3,17,42,": a tag-filtered list finds
# a tag on the walked link with instr(). `{}` is the bookmark's id (a column or a trigger's new/old).
TAG_SET = ("(SELECT ',' || group_concat(same.tag_id, ',') || ',' FROM bookmark_tags AS same"
           " WHERE same.bookmark_id = {})")


def tag_set_update(*, bookmark: str, where: str = "") -> str:
    """The one UPDATE that gives links their bookmark's tag set: the 0010 triggers (`bookmark` is
    new./old.bookmark_id), the migration's backfill and the importer's batches."""
    return f"UPDATE bookmark_tags SET tag_ids = {TAG_SET.format(bookmark)}" + (f" WHERE {where}" if where else "")


def stale_rows(conn: Sql) -> list[int]:
    """Ids of bookmarks whose stored copies are not what the rows say now: the API JSON (0008), or a
    link's tag set (0010). None, unless a writer got round the triggers: the tests and the crash
    drill check it."""
    stale = {row[0] for row in conn.execute(
        f"SELECT bookmarks.id FROM bookmarks WHERE bookmarks.api_json IS NOT {API_JSON}").fetchall()}
    return sorted(stale | _stale_tag_sets(conn))


def _stale_tag_sets(conn: Sql) -> set[int]:
    linked: dict[int, list[int]] = {}
    stored: dict[int, set[str | None]] = {}
    for bookmark_id, tag_id, tag_ids in conn.execute("SELECT bookmark_id, tag_id, tag_ids FROM bookmark_tags"):
        linked.setdefault(bookmark_id, []).append(tag_id)
        stored.setdefault(bookmark_id, set()).add(tag_ids)
    return {bookmark_id for bookmark_id, ids in linked.items()
            if any(text is None or sorted(map(int, text.strip(",").split(","))) != sorted(ids)
                   for text in stored[bookmark_id])}


class Sql(Protocol):
    """What the write helpers need of a connection: the writer's own sqlite3 connection (or its
    observed wrapper), or a session's connection through `session_sql`. Both answer `execute` with
    a cursor that has fetchone, fetchall and rowcount."""

    def execute(self, statement: str, parameters: Sequence[Any] = ..., /) -> Any: ...


class _SessionSql:
    __slots__ = ("_conn",)

    def __init__(self, session: Session) -> None:
        self._conn = session.connection()

    def execute(self, statement: str, parameters: Sequence[Any] = ()) -> Any:
        return self._conn.exec_driver_sql(statement, tuple(parameters))


def session_sql(session: Session) -> Sql:
    """A session's connection as `Sql`: SQLAlchemy still sees each statement (timing, counts)."""
    return _SessionSql(session)


def exists(conn: Sql, table: str, *, object_id: int, user_id: int) -> bool:
    """Is this row the caller's? `table` is one of ours (bookmarks, collections), never the request's."""
    return conn.execute(f"SELECT 1 FROM {table} WHERE id = ? AND user_id = ?", (object_id, user_id)).fetchone() is not None


def tag_ids(conn: Sql, *, user_id: int, names: Sequence[str]) -> list[int]:
    """Ids of the caller's tags with these (cleaned) names, creating the missing ones."""
    if not names:
        return []
    conn.execute(f"INSERT INTO tags (user_id, name) VALUES {', '.join(['(?, ?)'] * len(names))} ON CONFLICT DO NOTHING",
                 tuple(v for name in names for v in (user_id, name)))
    marks = ", ".join("?" * len(names))
    return [row[0] for row in conn.execute(f"SELECT id FROM tags WHERE user_id = ? AND name IN ({marks})",
                                           (user_id, *names)).fetchall()]


def link_tags(conn: Sql, *, bookmark_id: int, ids: Sequence[int]) -> None:
    """Links for a bookmark that has none (a new one, or one whose links were just removed), with
    the bookmark's created_at (migration 0005), so no trigger has to fill it in."""
    if ids:
        conn.execute("INSERT INTO bookmark_tags (bookmark_id, tag_id, created_at) SELECT ?, value,"
                     " (SELECT created_at FROM bookmarks WHERE id = ?) FROM json_each(?)",
                     (bookmark_id, bookmark_id, orjson.dumps(list(ids)).decode()))


def replace_tags(conn: Sql, *, user_id: int, bookmark_id: int, names: Sequence[str]) -> None:
    ids = tag_ids(conn, user_id=user_id, names=names)
    conn.execute("DELETE FROM bookmark_tags WHERE bookmark_id = ?", (bookmark_id,))
    link_tags(conn, bookmark_id=bookmark_id, ids=ids)


def read_one(conn: Sql, *, user_id: int, bookmark_id: int) -> dict[str, Any]:
    """get_bookmark on any `Sql` (the writer's connection answers a write with it)."""
    return _one(conn.execute(ONE, (bookmark_id, user_id)).fetchone(), bookmark_id)


def get_bookmark(session: Session, *, user_id: int, bookmark_id: int, shape: Shape = to_dicts) -> Any:
    """The bookmark as `shape` makes it: a dict by default, to_fragments for an answer only sent."""
    return _one(session.connection().exec_driver_sql(ONE, (bookmark_id, user_id)).first(), bookmark_id, shape)


def get_plain(conn: sqlite3.Connection, *, user_id: int, bookmark_id: int, shape: Shape = to_dicts) -> Any:
    """get_bookmark on a plain sqlite3 connection (a primary-key read: fit for the event loop)."""
    return _one(conn.execute(ONE, (bookmark_id, user_id)).fetchone(), bookmark_id, shape)


def _one(row: Sequence[Any] | None, bookmark_id: int, shape: Shape = to_dicts) -> Any:
    if row is None:
        raise not_found(Bookmark, bookmark_id)
    return shape([row])[0]
