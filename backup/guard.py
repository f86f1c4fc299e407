"""The source guard: refuse to back up a database that looks destroyed rather than used.

A backup of an emptied database is worse than no backup: it reads as "verified", and retention then
deletes the real backups to make room for it. So a run refuses a source that is an empty file, that
lacks Kura's schema, or that lost more than ``KURA_BACKUP_SHRINK_LIMIT_PERCENT`` of any table's rows
against the previous verified backup's manifest. ``kura-backup run --force`` accepts the last two
(after a deliberate mass deletion, say); a forced run keeps its backup but prunes nothing.
"""

from __future__ import annotations

from pathlib import Path

from backup.errors import StageError
from backup.manifest import Manifest

# Tables every Kura database has from the first migration on; without them there is no Kura data.
REQUIRED_TABLES = ("alembic_version", "users", "bookmarks")
# The tables that hold what users put into Kura, and the only ones compared: FTS5's shadow tables
# (bookmarks_fts_data …) shrink whenever the index merges its segments, and the bookkeeping tables
# (alembic_version, backup_runs, health_probe) say nothing about lost data.
DATA_TABLES = ("users", "api_tokens", "collections", "tags", "bookmarks", "bookmark_tags")
# Below this many rows a table is not compared: 3 tags becoming 1 is ordinary use, not a disaster.
MIN_ROWS = 20
FORCE_HINT = "nothing was backed up or pruned; `kura-backup run --force` accepts this source"


def refuse_empty_file(db_path: Path) -> None:
    """A 0-byte file holds nothing to back up, even with --force. Checked before SQLite opens it,
    because opening it in WAL mode would write a header into the very file we back up."""
    if db_path.is_file() and db_path.stat().st_size == 0 and not _has_wal_content(db_path):
        raise StageError("guard", f"database {db_path} is empty (0 bytes): there is nothing to back up; "
                                  "earlier backups are kept")


def _has_wal_content(db_path: Path) -> bool:
    try:
        return db_path.with_name(db_path.name + "-wal").stat().st_size > 0
    except FileNotFoundError:
        return False


def schema_problem(counts: dict[str, int], revision: str | None) -> str | None:
    missing = [t for t in REQUIRED_TABLES if t not in counts]
    if not counts:
        return "the database has no tables (an empty database)"
    if missing:
        return f"the database has no Kura schema (no {', '.join(missing)} table)"
    if revision is None:
        return "the database has no schema revision (alembic_version is empty)"
    return None


def shrink_problem(counts: dict[str, int], previous: Manifest | None, limit_percent: float) -> str | None:
    """Tables that lost more than ``limit_percent`` of their rows since ``previous`` (MIN_ROWS and up)."""
    if previous is None:
        return None
    lost = []
    for table, before in sorted(previous.row_counts.items()):
        if table not in DATA_TABLES:
            continue
        now = counts.get(table, 0)
        if before >= MIN_ROWS and (before - now) * 100 > limit_percent * before:
            lost.append(f"{table} {before:,} -> {now:,}")
    if not lost:
        return None
    return (f"the database lost more than {limit_percent:g}% of the rows of {', '.join(lost)} "
            f"since the previous backup {previous.file}")


def source_problem(counts: dict[str, int], revision: str | None, previous: Manifest | None,
                   limit_percent: float) -> str | None:
    """Why this snapshot must not become a backup, or None when it looks like a used database."""
    return schema_problem(counts, revision) or shrink_problem(counts, previous, limit_percent)
