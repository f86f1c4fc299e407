"""The bulk SQL behind an import: a few statements per batch, never one per bookmark.

Plain SQL over the Core connection with integer microseconds, because the importer already holds
the values in storage form. New rows reach the FTS5 index, the change logs and the stored API JSON
in bulk, with the insert triggers off (deferred_triggers); updates still go through their triggers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, text

from domain.bookmark_rows import API_JSON, tag_set_update
from domain.fields import BOOKMARK_COLUMNS, tag_key
from domain.transfer.rows import INSERT_FIELDS

IN_CHUNK = 500  # well under SQLite's bound-parameter limit
IMPORT_CACHE_KIB = 32 * 1024
SMALL_TABLE = 2000  # bookmarks: below this an import builds the secondary indexes once (indexes_built_after)
_EXISTING_COLUMNS = ("id", *BOOKMARK_COLUMNS)  # what a merge compares an incoming row with
nocase = tag_key  # the key SQLite's NOCASE collation compares by: only ASCII letters fold


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


_EXISTING = f"SELECT {', '.join(_EXISTING_COLUMNS)} FROM bookmarks WHERE user_id = ? AND url IN "

_IDS = text("SELECT id, url FROM bookmarks WHERE user_id = :user_id AND url IN :urls").bindparams(
    bindparam("urls", expanding=True)
)

# The order of a row's tuple: user_id, the importer's Row.insert fields, collection_id, and the stored
# API JSON (bookmark_rows.answer_text, made for the id the row is expected to get).
INSERT_COLUMNS = ("user_id", *INSERT_FIELDS, "collection_id", "api_json")
# exec_driver_sql with tuples: no per-row parameter compilation, which would dominate a bulk insert.
_INSERT = f"INSERT INTO bookmarks ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"
FTS_COLUMNS = "title, description, url, notes"  # as migrations/versions/0001_initial.py defines them
FTS_INSERT_TRIGGER = "bookmarks_fts_ai"

_TAGS = text("SELECT id, name FROM tags WHERE user_id = :user_id AND name IN :names").bindparams(
    bindparam("names", expanding=True)
)


def existing_bookmarks(conn: Connection, *, user_id: int, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
    # Driver-level SQL: SQLAlchemy would re-render the expanding IN list for every call.
    found: dict[str, dict[str, Any]] = {}
    for part in chunks(urls):
        sql = f"{_EXISTING}({', '.join('?' * len(part))})"
        for row in conn.exec_driver_sql(sql, (user_id, *part)):
            bookmark = dict(zip(_EXISTING_COLUMNS, row))
            found[bookmark["url"]] = bookmark
    return found


def last_id(conn: Connection) -> int:
    return conn.exec_driver_sql("SELECT max(id) FROM bookmarks").scalar() or 0


def insert_bookmarks(conn: Connection, rows: Sequence[tuple[Any, ...]], *, top: int) -> Sequence[int]:
    """Insert new bookmarks (tuples in INSERT_COLUMNS order) in one executemany, ``top`` being
    last_id() before it; their ids, in order: range(top + 1, top + 1 + len(rows)) as a rule."""
    if not rows:
        return []
    conn.exec_driver_sql(_INSERT, list(rows))
    # SQLite gives a new row max(id) + 1 (documented, for a table without AUTOINCREMENT), and we are
    # the only writer: the ids are top+1 … top+n unless max(id) reached 2**63-1 and it went random.
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar()
    if last == top + len(rows):
        return range(top + 1, last + 1)
    ids: dict[str, int] = {}
    user_id = rows[0][0]
    for part in chunks([row[1] for row in rows]):
        ids.update((url, bookmark_id) for bookmark_id, url in conn.execute(
            _IDS, {"user_id": user_id, "urls": list(part)}).all())
    return [ids[row[1]] for row in rows]


def update_bookmarks(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """One executemany per distinct set of changed columns (few: merges change similar fields)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        groups.setdefault(tuple(sorted(k for k in change if k != "id")), []).append(change)
    for columns, params in groups.items():
        assignments = ", ".join(f"{col} = :{col}" for col in columns)
        conn.execute(text(f"UPDATE bookmarks SET {assignments} WHERE id = :id"), params)


def resolve_tags(conn: Connection, *, user_id: int, names: Iterable[tuple[str, str]], cache: dict[str, tuple[int, str]]) -> None:
    """Fill cache (NOCASE key -> (tag id, the name as stored)) for every (key, name), creating the
    tags that do not exist."""
    wanted: dict[str, str] = {}
    for key, name in names:
        if key not in cache:
            wanted.setdefault(key, name)
    if not wanted:
        return
    for part in chunks(list(wanted.values())):
        for tag_id, name in conn.execute(_TAGS, {"user_id": user_id, "names": list(part)}).all():
            cache[nocase(name)] = (tag_id, name)
    missing = [name for key, name in wanted.items() if key not in cache]
    if missing:
        conn.execute(text("INSERT INTO tags (user_id, name) VALUES (:user_id, :name)"),
                     [{"user_id": user_id, "name": name} for name in missing])
        for part in chunks(missing):
            for tag_id, name in conn.execute(_TAGS, {"user_id": user_id, "names": list(part)}).all():
                cache[nocase(name)] = (tag_id, name)


def tag_links(conn: Connection, bookmark_ids: Sequence[int]) -> dict[int, set[int]]:
    """The tag ids each of these bookmarks carries (to tell an unchanged re-import from an update)."""
    links: dict[int, set[int]] = {}
    for part in chunks(bookmark_ids):
        sql = f"SELECT bookmark_id, tag_id FROM bookmark_tags WHERE bookmark_id IN ({', '.join('?' * len(part))})"
        for bookmark_id, tag_id in conn.exec_driver_sql(sql, tuple(part)):
            links.setdefault(bookmark_id, set()).add(tag_id)
    return links


def link_tags(conn: Connection, links: Sequence[tuple[int, int, int]]) -> None:
    """Link in bulk: (bookmark id, the bookmark's created_at as the batch leaves it, tag id), so
    neither a trigger nor a lookup per link has to fill the date in (the lookup cost 30 % of the
    links' time). The links' search log is log_for_search's (its per-link trigger is off:
    deferred_triggers); the tag sets of their bookmarks are written here."""
    if links:
        conn.exec_driver_sql(_LINK, links)
        # Their bookmarks' tag sets (migration 0010; its per-link trigger is off: deferred_triggers),
        # once per bookmark rather than once per link.
        conn.exec_driver_sql(_TAG_SET_IDS, (orjson.dumps(sorted({link[0] for link in links})).decode(),))


def log_for_search(conn: Connection, ids: Iterable[int]) -> None:
    """Log these bookmarks for the search index once each (the per-row triggers are off:
    deferred_triggers)."""
    if unique := sorted(set(ids)):
        conn.exec_driver_sql(_SEARCH_LOG_IDS, (orjson.dumps(unique).decode(),))


def store_answers(conn: Connection, ids: Iterable[int]) -> None:
    """The stored API JSON of a batch's newly linked bookmarks (and of new ones that did not get the
    id their inserted JSON names), once each, after its links (their insert and link triggers are
    off: deferred_triggers). Done per batch, while the batch's pages are still in the cache."""
    if touched := sorted(set(ids)):
        conn.exec_driver_sql(_API_JSON_IDS, (orjson.dumps(touched).decode(),))


@contextmanager
def page_cache(conn: Connection, kib: int) -> Iterator[None]:
    """This connection's page cache at `kib` while a transfer runs, then the size it had.

    An import touches every index of bookmarks at random places; with the default 2 MB cache
    SQLite spills dirty pages to the WAL and reads them back. 32 MB (IMPORT_CACHE_KIB) cut the
    writer's CPU by ~17% on 100k bookmarks (64 MB and 256 MB gained nothing more), at the price of
    32 MB of memory for the import's duration. An export reads each page once, so a cache would only
    keep them (exporter.EXPORT_CACHE_KIB). The pragma is per connection and not transactional, so
    it is put back whatever happens: a pooled connection must not keep a transfer's cache. Setting
    it smaller drops the pages over the new size at once.
    """
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar())
    conn.exec_driver_sql(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    except BaseException:
        with suppress(Exception):  # the transfer's own error is the one to raise
            conn.exec_driver_sql(f"PRAGMA cache_size = {before}")
        raise
    conn.exec_driver_sql(f"PRAGMA cache_size = {before}")


@contextmanager
def indexes_built_after(conn: Connection) -> Iterator[None]:
    """Into a nearly empty database, insert without the secondary indexes and build them once at
    the end.

    A first import (a whole browser's bookmarks into a new install) is the large one, and SQLite
    builds an index from a sorted pass far faster than it inserts into it row by row at random
    places: for the bench's 100k file, 1.4 + 0.7 s to insert the bookmarks and links without them
    and 2.7 s to build them, against 3.8 + 3.0 s with them. Only while the table holds fewer than
    SMALL_TABLE rows: the build reads the whole table, which on a large one costs more than the
    import saves. The unique indexes stay (the import looks URLs up by one, and links are INSERT OR
    IGNORE by the other), and so do those of KEPT_LIVE. DDL is transactional: a failed import's
    rollback restores the indexes.
    """
    if conn.exec_driver_sql(f"SELECT 1 FROM bookmarks LIMIT 1 OFFSET {SMALL_TABLE - 1}").first() is not None:
        yield
        return
    with _set_aside(conn, "index", "sql IS NOT NULL AND tbl_name IN ('bookmarks', 'bookmark_tags')"
                                   f" AND sql NOT LIKE 'CREATE UNIQUE%' AND name NOT IN ({', '.join('?' * len(KEPT_LIVE))})",
                    KEPT_LIVE):
        yield


# Indexes an import keeps up row by row even into an empty table: their new entries land near each
# other (creation dates), so keeping them costs the batches less than building them costs the end,
# where nothing else runs (100k file: +0.5 s spread over the batches, while the parser process is the
# slower half, against 0.8 s saved at the end).
KEPT_LIVE = ("ix_bookmarks_user_created", "ix_bookmarks_collection_created")


@contextmanager
def _set_aside(conn: Connection, kind: str, where: str, params: Sequence[Any] = ()) -> Iterator[None]:
    """Drop the schema objects of ``kind`` that match ``where`` for the import's transaction and
    create them again from their own stored SQL before it commits. DDL is transactional in SQLite:
    if the import fails, the rollback restores them, so nothing is put back by hand then."""
    stored = conn.exec_driver_sql(f"SELECT name, sql FROM sqlite_master WHERE type = ? AND {where}",
                                  (kind, *params)).all()
    for name, _ in stored:
        conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    yield
    for _, sql in stored:
        conn.exec_driver_sql(sql)


@contextmanager
def deferred_triggers(conn: Connection, *, user_id: int) -> Iterator[Callable[[Sequence[int]], None]]:
    """Do the per-row insert triggers' work in bulk for the import's transaction.

    FTS5 fed by the per-row insert trigger is several times slower than one INSERT … SELECT per
    batch, and the change logs (search_log, data_versions, migrations 0003 and 0005) add three
    statements per row and per link. So for the import's transaction the insert triggers are dropped
    and put back, from their own stored SQL, before commit; the callable yielded indexes and logs a
    batch of new bookmarks, log_for_search logs those that gain links, new rows come with their stored
    API JSON and store_answers writes it for those that gain links (migration 0008), and the user's
    data version moves once.
    DDL is transactional in SQLite: if the import fails the rollback restores the triggers, and no
    other writer can run meanwhile (we hold BEGIN IMMEDIATE). Update and delete triggers stay.
    """
    def index(ids: Sequence[int]) -> None:
        if isinstance(ids, range) and ids:  # consecutive: one statement by range
            conn.exec_driver_sql(_FTS_INDEX_RANGE, (ids[0], ids[-1]))
        else:
            for part in chunks(list(ids)):
                conn.execute(_FTS_INDEX, {"ids": list(part)})
        log_for_search(conn, ids)

    with _set_aside(conn, "trigger", f"name IN ({', '.join('?' * len(DEFERRED))})", DEFERRED):
        yield index
    conn.exec_driver_sql(_VERSION_BUMP, (user_id,))


# The insert triggers an import does the work of in bulk (migrations 0001, 0003, 0005, 0008, 0010).
DEFERRED = (FTS_INSERT_TRIGGER, "search_log_bookmark_ai", "search_log_link_ai", "data_version_bookmark_ai",
            "data_version_link_ai", "tag_link_created_ai", "api_json_bookmark_ai", "api_json_link_ai",
            "tag_set_link_ai")
_TAG_SET_IDS = tag_set_update(bookmark="bookmark_tags.bookmark_id",
                              where="bookmark_id IN (SELECT value FROM json_each(?))")
_API_JSON_IDS = f"UPDATE bookmarks SET api_json = {API_JSON} WHERE bookmarks.id IN (SELECT value FROM json_each(?))"
_LINK = "INSERT OR IGNORE INTO bookmark_tags (bookmark_id, created_at, tag_id) VALUES (?, ?, ?)"
_SEARCH_LOG_IDS = "INSERT INTO search_log (bookmark_id) SELECT value FROM json_each(?)"
_VERSION_BUMP = ("INSERT INTO data_versions (user_id, version) VALUES (?, 1)"
                 " ON CONFLICT (user_id) DO UPDATE SET version = version + 1")
_FTS_INDEX_RANGE = (f"INSERT INTO bookmarks_fts (rowid, {FTS_COLUMNS}) "
                    f"SELECT id, {FTS_COLUMNS} FROM bookmarks WHERE id BETWEEN ? AND ?")
_FTS_INDEX = text(
    f"INSERT INTO bookmarks_fts (rowid, {FTS_COLUMNS}) SELECT id, {FTS_COLUMNS} FROM bookmarks WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def load_collections(conn: Connection, *, user_id: int) -> list[tuple[int, int | None, str, int]]:
    return list(conn.execute(
        text("SELECT id, parent_id, name, position FROM collections WHERE user_id = :user_id"),
        {"user_id": user_id},
    ).all())


def insert_collection(conn: Connection, *, user_id: int, parent_id: int | None, name: str,
                      position: int, created_at: int) -> int:
    result = conn.execute(
        text("INSERT INTO collections (user_id, parent_id, name, position, created_at) "
             "VALUES (:user_id, :parent_id, :name, :position, :created_at)"),
        {"user_id": user_id, "parent_id": parent_id, "name": name, "position": position,
         "created_at": created_at},
    )
    return int(result.lastrowid)
