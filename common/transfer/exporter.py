"""Stream a user's bookmarks out as Netscape HTML or Kura JSON.

Both read in keyset-paginated batches inside one read transaction (a consistent snapshot), each
batch with its tags in one more query, so memory stays flat however large the collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, bindparam, text

from common.db import Database
from common.models import to_micros, utcnow
from common.transfer import jsonformat, netscape_writer

BATCH = 500
_COLUMNS = ("id, url, title, description, notes, unread, archived, private, collection_id, "
            "created_at, modified_at")
_AFTER = "(created_at, id) > (:after_created, :after_id) ORDER BY created_at, id LIMIT :limit"
# Each scope seeks one index: everything by (user_id, created_at, id), a collection by
# (collection_id, created_at, id), the bookmarks in no collection by the user's index again.
_SCOPES = {
    "all": f"SELECT {_COLUMNS} FROM bookmarks WHERE user_id = :user_id AND {_AFTER}",
    "collection": f"SELECT {_COLUMNS} FROM bookmarks WHERE collection_id = :collection_id "
                  f"AND user_id = :user_id AND {_AFTER}",
    "unfiled": f"SELECT {_COLUMNS} FROM bookmarks WHERE user_id = :user_id AND collection_id IS NULL "
               f"AND {_AFTER}",
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
    """Batches of bookmark dicts (with "tags"), oldest first, by keyset: never an OFFSET scan."""
    query = text(_SCOPES[scope])
    after_created, after_id = -(2**62), 0
    while True:
        params = {"user_id": user_id, "collection_id": collection_id, "after_created": after_created,
                  "after_id": after_id, "limit": batch}
        rows = [dict(row) for row in conn.execute(query, params).mappings()]
        if not rows:
            return
        tags: dict[int, list[str]] = {row["id"]: [] for row in rows}
        for bookmark_id, name in conn.execute(_TAGS, {"ids": list(tags)}).all():
            tags[bookmark_id].append(name)
        for row in rows:
            row["tags"] = tags[row["id"]]
            for flag in ("unread", "archived", "private"):
                row[flag] = bool(row[flag])
        yield rows
        if len(rows) < batch:
            return
        after_created, after_id = rows[-1]["created_at"], rows[-1]["id"]


# Kura JSON names fields as the API's answers do (version 2); the columns keep their own names.
JSON_NAMES = {"created_at": "created", "modified_at": "modified", "collection_id": "collection"}


def _api_names(row: dict[str, Any], *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {JSON_NAMES.get(k, k): v for k, v in row.items() if k not in leave_out}


def export_json(db: Database, *, user_id: int) -> Iterator[bytes]:
    with db.read_session() as session:
        conn = session.connection()
        cols = [_api_names(col) for col in collections(conn, user_id=user_id)]
        batches = ([_api_names(row, leave_out=("id",)) for row in rows]
                   for rows in bookmark_batches(conn, user_id=user_id))
        yield from jsonformat.write(exported_at=to_micros(utcnow()), tags=tag_names(conn, user_id=user_id),
                                    collections=cols, batches=batches)


def export_netscape(db: Database, *, user_id: int) -> Iterator[bytes]:
    with db.read_session() as session:
        conn = session.connection()
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
    """A folder's subfolders (each with its contents), then its own bookmarks. Walked with a stack of
    open folders, not recursion, so no depth of collections meets Python's stack limit."""
    stack = [(parent, depth, iter(children.get(parent, [])))]
    while stack:
        folder, level, subfolders = stack[-1]
        col = next((c for c in subfolders if c["id"] not in seen), None)  # seen: a parent loop ends
        if col is not None:
            seen.add(col["id"])
            yield netscape_writer.folder_open(col, level).encode()
            stack.append((col["id"], level + 1, iter(children.get(col["id"], []))))
            continue
        stack.pop()
        scope = "unfiled" if folder is None else "collection"
        for rows in bookmark_batches(conn, user_id=user_id, scope=scope, collection_id=folder):
            yield "".join(netscape_writer.bookmark(row, level) for row in rows).encode()
        if stack:
            yield netscape_writer.folder_close(level - 1).encode()
