"""Stream a user's bookmarks out as Netscape HTML or Kura JSON.

Both read in keyset-paginated batches inside one read transaction (a consistent snapshot), each
batch with its tags in one more query, so memory stays flat however large the collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, bindparam, text

from common.db import Database
from domain.fields import BOOKMARK_COLUMNS, BOOKMARK_FIELDS, FLAGS
from domain.models import to_micros, utcnow
from domain.transfer import jsonformat, netscape_writer
from domain.transfer.store import page_cache

BATCH = 500
# An export reads each page once: a larger cache would only keep them, and the pooled connection it
# borrows would carry them on (the bench's export case grew the API by ~6 MB, ~3 MB with this).
EXPORT_CACHE_KIB = 256
_COLUMNS = ", ".join(("id", *BOOKMARK_COLUMNS))
_BY_CREATED = "(created_at, id) > (:after, :after_id) ORDER BY created_at, id LIMIT :limit"
_BY_POSITION = "(position, id) > (:after, :after_id) ORDER BY position, id LIMIT :limit"
# Each scope seeks one index: everything by (user_id, created_at, id); a folder's bookmarks with a
# place from the imported file by the partial (user_id, collection_id, position, id) (`IS` matches
# the unfiled folder's NULL too); a folder's others, oldest first, by (collection_id, created_at, id)
# or, for the bookmarks in no collection, by the user's index again. Scope -> (SQL, keyset column).
_SCOPES = {
    "all": (f"SELECT {_COLUMNS} FROM bookmarks WHERE user_id = :user_id AND {_BY_CREATED}", "created_at"),
    "placed": (f"SELECT {_COLUMNS} FROM bookmarks WHERE user_id = :user_id AND collection_id IS :collection_id "
               f"AND position IS NOT NULL AND {_BY_POSITION}", "position"),
    "collection": (f"SELECT {_COLUMNS} FROM bookmarks WHERE collection_id = :collection_id "
                   f"AND user_id = :user_id AND position IS NULL AND {_BY_CREATED}", "created_at"),
    "unfiled": (f"SELECT {_COLUMNS} FROM bookmarks WHERE user_id = :user_id AND collection_id IS NULL "
                f"AND position IS NULL AND {_BY_CREATED}", "created_at"),
}
_TAGS = text(
    "SELECT bt.bookmark_id, t.name FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id "
    "WHERE bt.bookmark_id IN :ids ORDER BY t.name"
).bindparams(bindparam("ids", expanding=True))


def collections(conn: Connection, *, user_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        text("SELECT id, parent_id, name, position, created_at FROM collections "
             "WHERE user_id = :user_id ORDER BY position, id"), {"user_id": user_id})
    return [dict(row) for row in rows.mappings()]


def tag_names(conn: Connection, *, user_id: int) -> list[str]:
    rows = conn.execute(text("SELECT name FROM tags WHERE user_id = :user_id ORDER BY name"),
                        {"user_id": user_id})
    return list(rows.scalars())


def bookmark_batches(conn: Connection, *, user_id: int, scope: str = "all",
                     collection_id: int | None = None, batch: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """Batches of bookmark dicts (with "tags"), oldest first ("placed": by position), by keyset:
    never an OFFSET scan. "collection" and "unfiled" hold a folder's bookmarks without a position."""
    sql, key = _SCOPES[scope]
    query = text(sql)
    after, after_id = -(2**62), 0
    while True:
        params = {"user_id": user_id, "collection_id": collection_id, "after": after,
                  "after_id": after_id, "limit": batch}
        rows = [dict(row) for row in conn.execute(query, params).mappings()]
        if not rows:
            return
        tags: dict[int, list[str]] = {row["id"]: [] for row in rows}
        for bookmark_id, name in conn.execute(_TAGS, {"ids": list(tags)}).all():
            tags[bookmark_id].append(name)
        for row in rows:
            row["tags"] = tags[row["id"]]
            for flag in FLAGS:
                row[flag] = bool(row[flag])
        yield rows
        if len(rows) < batch:
            return
        after, after_id = rows[-1][key], rows[-1]["id"]


# Kura JSON names fields as the API's answers do (version 2); the columns keep their own names.
JSON_NAMES = {f.column: f.key for f in BOOKMARK_FIELDS if f.key != f.column}


def _api_names(row: dict[str, Any], *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {JSON_NAMES.get(k, k): v for k, v in row.items() if k not in leave_out}


@contextmanager
def _reading(db: Database) -> Iterator[Connection]:
    """One read transaction (the export's consistent snapshot) on a pooled connection whose page
    cache is small while the export reads."""
    with db.read_session() as session:
        conn = session.connection()
        with page_cache(conn, EXPORT_CACHE_KIB):
            yield conn


def export_json(db: Database, *, user_id: int) -> Iterator[bytes]:
    with _reading(db) as conn:
        cols = [_api_names(col) for col in collections(conn, user_id=user_id)]
        batches = ([_api_names(row, leave_out=("id",)) for row in rows]
                   for rows in bookmark_batches(conn, user_id=user_id))
        yield from jsonformat.write(exported_at=to_micros(utcnow()), tags=tag_names(conn, user_id=user_id),
                                    collections=cols, batches=batches)


def export_netscape(db: Database, *, user_id: int) -> Iterator[bytes]:
    with _reading(db) as conn:
        children: dict[int | None, list[dict[str, Any]]] = {}
        cols = collections(conn, user_id=user_id)
        known = {col["id"] for col in cols}
        for col in cols:
            parent = col["parent_id"] if col["parent_id"] in known else None
            children.setdefault(parent, []).append(col)
        yield netscape_writer.HEADER.encode()
        yield from _folder_contents(conn, user_id=user_id, children=children, parent=None, depth=1, seen=set())
        yield netscape_writer.FOOTER.encode()


def _folder_contents(conn: Connection, *, user_id: int, children: dict[int | None, list[dict[str, Any]]],
                     parent: int | None, depth: int, seen: set[int]) -> Iterator[bytes]:
    """A folder's entries, each subfolder with its contents. Walked with a stack of open folders, not
    recursion, so no depth of collections meets Python's stack limit."""
    stack = [(depth, _entries(conn, user_id=user_id, children=children, folder=parent, level=depth))]
    while stack:
        level, entries = stack[-1]
        entry = next(entries, None)
        if isinstance(entry, str):
            yield entry.encode()
        elif entry is not None:
            if entry["id"] not in seen:  # seen: a parent loop ends
                seen.add(entry["id"])
                yield netscape_writer.folder_open(entry, level).encode()
                stack.append((level + 1, _entries(conn, user_id=user_id, children=children, folder=entry["id"],
                                                  level=level + 1)))
        else:
            stack.pop()
            if stack:
                yield netscape_writer.folder_close(level - 1).encode()


def _entries(conn: Connection, *, user_id: int, children: dict[int | None, list[dict[str, Any]]],
             folder: int | None, level: int) -> Iterator[str | dict[str, Any]]:
    """One folder's entries in order: its subfolders (as collection dicts) and the bookmarks with a
    position (as written lines) by position, a subfolder first on a tie, then the bookmarks without
    one (the API's), oldest first."""
    subfolders = iter(children.get(folder, []))  # already by position, id
    sub = next(subfolders, None)
    for rows in bookmark_batches(conn, user_id=user_id, scope="placed", collection_id=folder):
        lines = []
        for row in rows:
            while sub is not None and sub["position"] <= row["position"]:
                if lines:
                    yield "".join(lines)
                    lines = []
                yield sub
                sub = next(subfolders, None)
            lines.append(netscape_writer.bookmark(row, level))
        if lines:
            yield "".join(lines)
    while sub is not None:
        yield sub
        sub = next(subfolders, None)
    scope = "unfiled" if folder is None else "collection"
    for rows in bookmark_batches(conn, user_id=user_id, scope=scope, collection_id=folder):
        yield "".join(netscape_writer.bookmark(row, level) for row in rows)
