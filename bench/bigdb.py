"""The ~1 GB database for the backup figures: the 100k dataset, then the main user's bookmarks copied
to extra users in SQL until the file passes the target size.

The copies go through plain INSERT ... SELECT into the real schema, so the FTS5 triggers index every
copied row and each copy gets its own tags and links: the file has the shape of a big real one. Each
copy prunes the search index's change log in its own transaction, as kura-api does every minute.
"""

from __future__ import annotations

from pathlib import Path

from bench import datagen
from common.sqlite import sqlite3

TARGET_BYTES = 1_000_000_000


def _db_bytes(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]


def _copy_user(conn: sqlite3.Connection, source: dict, name: str) -> None:
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    cur.execute("INSERT INTO users (name, is_admin, created_at) VALUES (?, 0, ?)", (name, datagen.END_MICROS))
    uid = cur.lastrowid
    cur.execute("INSERT INTO tags (user_id, name) SELECT ?, name FROM tags WHERE user_id = ?", (uid, source["id"]))
    offset = cur.execute("SELECT max(id) FROM bookmarks").fetchone()[0] + 1 - source["first_id"]
    cur.execute(
        "INSERT INTO bookmarks (id, user_id, url, title, description, notes, unread, archived, private,"
        " collection_id, created_at, modified_at) SELECT id + ?, ?, url, title, description, notes, unread,"
        " archived, private, NULL, created_at, modified_at FROM bookmarks WHERE user_id = ?",
        (offset, uid, source["id"]),
    )
    cur.execute(
        "INSERT INTO bookmark_tags (bookmark_id, tag_id) SELECT bt.bookmark_id + ?, nt.id FROM bookmark_tags bt"
        " JOIN bookmarks b ON b.id = bt.bookmark_id JOIN tags t ON t.id = bt.tag_id"
        " JOIN tags nt ON nt.user_id = ? AND nt.name = t.name WHERE b.user_id = ?",
        (offset, uid, source["id"]),
    )
    datagen.prune_change_log(conn)  # the next copy reuses the log's pages, as a host's writes would
    cur.execute("COMMIT")


def build(directory: Path, *, cache: Path, target_bytes: int, spec: datagen.Spec | None = None) -> dict:
    source, meta = datagen.cached(spec or datagen.Spec(), cache)
    datagen.copy_database(source, directory)
    conn = sqlite3.connect(directory / "kura.db", isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        main = meta["users"][0]
        copies = 0
        while _db_bytes(conn) < target_bytes:
            copies += 1
            _copy_user(conn, main, f"bulk{copies:02d}")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = _db_bytes(conn)
    finally:
        conn.close()
    return {**meta, "copies": copies, "bytes": size}


def cached(cache: Path, *, target_bytes: int = TARGET_BYTES) -> tuple[Path, dict]:
    final = cache / f"big-{datagen.Spec().key()}-{target_bytes}"
    return datagen.cached_build(final, lambda temp: build(temp, cache=cache, target_bytes=target_bytes))
