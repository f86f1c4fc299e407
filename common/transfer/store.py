"""The bulk SQL behind an import: a few statements per batch, never one per bookmark.

Plain SQL over the Core connection with integer microseconds, because the importer already holds
the values in storage form; the FTS5 index follows by its triggers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

IN_CHUNK = 500  # well under SQLite's bound-parameter limit
BOOKMARK_COLUMNS = (
    "id", "url", "title", "description", "notes", "unread", "archived", "private", "collection_id",
    "created_at", "modified_at",
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def nocase(name: str) -> str:
    """The key SQLite's NOCASE collation compares by: only ASCII letters fold."""
    return name.translate(_ASCII_LOWER)


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_EXISTING = text(
    f"SELECT {', '.join(BOOKMARK_COLUMNS)} FROM bookmarks WHERE user_id = :user_id AND url IN :urls"
).bindparams(bindparam("urls", expanding=True))

_IDS = text("SELECT id, url FROM bookmarks WHERE user_id = :user_id AND url IN :urls").bindparams(
    bindparam("urls", expanding=True)
)

_INSERT = text(
    "INSERT INTO bookmarks (user_id, url, title, description, notes, unread, archived, private, "
    "collection_id, created_at, modified_at) VALUES (:user_id, :url, :title, :description, :notes, "
    ":unread, :archived, :private, :collection_id, :created_at, :modified_at)"
)

_TAGS = text("SELECT id, name FROM tags WHERE user_id = :user_id AND name IN :names").bindparams(
    bindparam("names", expanding=True)
)


def existing_bookmarks(conn: Connection, *, user_id: int, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(urls):
        for row in conn.execute(_EXISTING, {"user_id": user_id, "urls": list(part)}).mappings():
            found[row["url"]] = dict(row)
    return found


def insert_bookmarks(conn: Connection, *, user_id: int, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert new bookmarks in one executemany and return their ids by URL."""
    if not rows:
        return {}
    conn.execute(_INSERT, [{**row, "user_id": user_id} for row in rows])
    ids: dict[str, int] = {}
    for part in chunks([row["url"] for row in rows]):
        ids.update((url, bookmark_id) for bookmark_id, url in conn.execute(
            _IDS, {"user_id": user_id, "urls": list(part)}).tuples())
    return ids


def update_bookmarks(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """One executemany per distinct set of changed columns (few: merges change similar fields)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(k for k in change if k != "id")), []).append(change)
    for columns, params in groups.items():
        assignments = ", ".join(f"{col} = :{col}" for col in columns)
        conn.execute(text(f"UPDATE bookmarks SET {assignments} WHERE id = :id"), params)


def resolve_tags(conn: Connection, *, user_id: int, names: Iterable[str], cache: dict[str, int]) -> None:
    """Fill cache (NOCASE key -> tag id) for every name, creating the tags that do not exist."""
    wanted: dict[str, str] = {}
    for name in names:
        key = nocase(name)
        if key not in cache:
            wanted.setdefault(key, name)
    if not wanted:
        return
    for part in chunks(list(wanted.values())):
        for tag_id, name in conn.execute(_TAGS, {"user_id": user_id, "names": list(part)}).tuples():
            cache[nocase(name)] = tag_id
    missing = [name for key, name in wanted.items() if key not in cache]
    if missing:
        conn.execute(text("INSERT INTO tags (user_id, name) VALUES (:user_id, :name)"),
                     [{"user_id": user_id, "name": name} for name in missing])
        for part in chunks(missing):
            for tag_id, name in conn.execute(_TAGS, {"user_id": user_id, "names": list(part)}).tuples():
                cache[nocase(name)] = tag_id


def link_tags(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    if pairs:
        conn.execute(text("INSERT OR IGNORE INTO bookmark_tags (bookmark_id, tag_id) VALUES (:b, :t)"),
                     [{"b": b, "t": t} for b, t in pairs])


def load_collections(conn: Connection, *, user_id: int) -> list[tuple[int, int | None, str, int]]:
    return list(conn.execute(
        text("SELECT id, parent_id, name, position FROM collections WHERE user_id = :user_id"),
        {"user_id": user_id},
    ).tuples())


def insert_collection(conn: Connection, *, user_id: int, parent_id: int | None, name: str,
                      position: int, created_at: int) -> int:
    result = conn.execute(
        text("INSERT INTO collections (user_id, parent_id, name, position, created_at) "
             "VALUES (:user_id, :parent_id, :name, :position, :created_at)"),
        {"user_id": user_id, "parent_id": parent_id, "name": name, "position": position,
         "created_at": created_at},
    )
    return int(result.lastrowid)
