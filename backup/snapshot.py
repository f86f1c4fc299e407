"""A consistent online snapshot of the live database, without blocking the API's writers.

The copy is made by SQLite's online backup API in ONE step from a connection that only reads, inside
the same read transaction that counted the rows: in WAL mode a reader sees a fixed snapshot and never
blocks writers, so the copy is exactly the database as of that moment, -wal commits included. Copying
the file itself would silently drop every commit still in the -wal. When the read ends, the job
checkpoints what the API wrote meanwhile (`backfill`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from common.db import open_database
from common.settings import Settings
from common.sqlite import sqlite3


@dataclass(frozen=True)
class Snapshot:
    path: Path
    size: int
    row_counts: dict[str, int]
    newest_bookmark_id: int | None
    schema_revision: str | None


def table_names(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name"
    ).fetchall()
    return [r[0] for r in rows]


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in table_names(conn)}


def newest_bookmark_id(conn: sqlite3.Connection, tables: dict[str, int]) -> int | None:
    if "bookmarks" not in tables:
        return None
    return conn.execute("SELECT max(id) FROM bookmarks").fetchone()[0]


def schema_revision(conn: sqlite3.Connection, tables: dict[str, int]) -> str | None:
    if "alembic_version" not in tables:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def source_bytes(db_path: Path) -> int:
    """The database plus its -wal: what a snapshot may need at most before compression."""
    total = 0
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def backfill(source: sqlite3.Connection) -> None:
    """End the snapshot's read transaction on ``source`` and at once checkpoint what the -wal gained
    while it lasted.

    Nothing committed after a reader began can be checkpointed until that reader ends, so the API's
    writes during a snapshot of a large database pile up in the -wal (~230-440 MB in the bench's, at 4
    connections). Left alone, the API's first COMMIT after the snapshot runs that whole checkpoint in
    its write turn, and every write waits for it (450-800 ms, measured). Run here instead (PASSIVE),
    it holds the checkpoint lock, not the write lock: the API's own checkpoints find that lock taken
    and skip at once, and its writes go on. On the same connection, right after the read ends: from a
    second connection opened after it, the API's next COMMIT (one every ~2 ms under load) got there
    first in a bench run and held every write for 720 ms."""
    source.commit()  # ends the read; the session's own end finds nothing left to do
    try:
        busy, frames, copied = source.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error as exc:  # the next COMMIT in the API checkpoints instead: nothing lost
        logger.warning("could not checkpoint after the snapshot: {}", exc)
        return
    logger.debug("checkpoint after the snapshot: {} of {} -wal frames in the database (busy {})",
                 copied, frames, busy)


def take_snapshot(settings: Settings, *, dest: Path) -> Snapshot:
    """Copy the live database to ``dest`` (a new file) and describe what the copy must contain."""
    if not settings.db_path.is_file():
        raise FileNotFoundError(f"database {settings.db_path} does not exist")
    db = open_database(settings, pool_size=1)
    try:
        with db.read_session() as session:
            source = session.connection().connection.driver_connection
            assert isinstance(source, sqlite3.Connection)
            # The first read fixes the snapshot; the backup below reuses this read transaction.
            counts = row_counts(source)
            newest = newest_bookmark_id(source, counts)
            revision = schema_revision(source, counts)
            target = sqlite3.connect(dest, isolation_level=None)
            try:
                # The copy is scratch until its archive is verified and fsynced: no journal and no fsync
                # here. Syncing it cost a flush of the whole database to disk, which the API's own
                # checkpoints then queued behind; unsynced, the kernel may never write it at all.
                target.execute("PRAGMA synchronous = OFF")
                target.execute("PRAGMA journal_mode = OFF")
                source.backup(target, pages=-1)
                # A self-contained file: no -wal to forget when the copy is moved or restored.
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
            backfill(source)
    finally:
        db.dispose()
    return Snapshot(path=dest, size=dest.stat().st_size, row_counts=counts,
                    newest_bookmark_id=newest, schema_revision=revision)
