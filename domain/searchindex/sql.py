"""The SQL the search index needs from the database: a change log kept by triggers, and its reads.

LOG_SQL belongs in a migration. Every statement that can change what a search finds (a bookmark's
text, owner or tags, a tag's name) appends the bookmark's id to `search_log` in the same transaction,
so the log is exactly as durable as the change: a crash, a kill or another process (`kura import`)
cannot make the index miss a write, only fall behind until its next sync.

Each row carries a random nonce. The index remembers (seq, nonce) of the last row it applied; if that
row is gone or has another nonce, the database is not the one the index was built from (a restored
backup, a pruned log) and the index is rebuilt. The sentinel row inserted by the migration gives even
a fresh database an identity.
"""

from __future__ import annotations

LOG_SQL = [
    """CREATE TABLE search_log (
        seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        bookmark_id INTEGER NOT NULL,
        nonce INTEGER NOT NULL DEFAULT (random()))""",
    "INSERT INTO search_log (bookmark_id) VALUES (0)",
    """CREATE TRIGGER search_log_bookmark_ai AFTER INSERT ON bookmarks BEGIN
        INSERT INTO search_log (bookmark_id) VALUES (new.id); END""",
    # Toggling unread, archived or the collection changes nothing the index holds: no row.
    """CREATE TRIGGER search_log_bookmark_au AFTER UPDATE OF title, description, url, notes, user_id
        ON bookmarks BEGIN INSERT INTO search_log (bookmark_id) VALUES (new.id); END""",
    """CREATE TRIGGER search_log_bookmark_ad AFTER DELETE ON bookmarks BEGIN
        INSERT INTO search_log (bookmark_id) VALUES (old.id); END""",
    """CREATE TRIGGER search_log_link_ai AFTER INSERT ON bookmark_tags BEGIN
        INSERT INTO search_log (bookmark_id) VALUES (new.bookmark_id); END""",
    """CREATE TRIGGER search_log_link_ad AFTER DELETE ON bookmark_tags BEGIN
        INSERT INTO search_log (bookmark_id) VALUES (old.bookmark_id); END""",
    """CREATE TRIGGER search_log_link_au AFTER UPDATE ON bookmark_tags BEGIN
        INSERT INTO search_log (bookmark_id) VALUES (old.bookmark_id);
        INSERT INTO search_log (bookmark_id) VALUES (new.bookmark_id); END""",
    """CREATE TRIGGER search_log_tag_au AFTER UPDATE OF name ON tags BEGIN
        INSERT INTO search_log (bookmark_id) SELECT bookmark_id FROM bookmark_tags WHERE tag_id = new.id;
    END""",
]
LOG_DOWNGRADE_SQL = [
    *(f"DROP TRIGGER IF EXISTS search_log_{name}" for name in (
        "bookmark_ai", "bookmark_au", "bookmark_ad", "link_ai", "link_ad", "link_au", "tag_au")),
    "DROP TABLE IF EXISTS search_log",
]

DOCS_SQL = (
    "SELECT b.id, b.user_id, b.title, b.description, b.url, b.notes,"
    " (SELECT json_group_array(t.name) FROM bookmark_tags bt JOIN tags t ON t.id = bt.tag_id"
    "  WHERE bt.bookmark_id = b.id) FROM bookmarks b"
)
DOCS_BY_ID_SQL = DOCS_SQL + " WHERE b.id IN (SELECT value FROM json_each(?))"
HEAD_SQL = "SELECT seq, nonce FROM search_log ORDER BY seq DESC LIMIT 1"
HEAD_SEQ_SQL = "SELECT max(seq) FROM search_log"
NONCE_SQL = "SELECT nonce FROM search_log WHERE seq = ?"
CHANGED_SQL = "SELECT DISTINCT bookmark_id FROM search_log WHERE seq > ? AND seq <= ?"
# Keeps the row at the index's watermark: it is how the index recognises this database.
PRUNE_SQL = "DELETE FROM search_log WHERE seq < ?"
