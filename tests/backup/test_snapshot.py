"""The snapshot's side effect on the live database: what the -wal gained is checkpointed by the job."""

from __future__ import annotations

import shutil
from pathlib import Path

from backup.snapshot import take_snapshot
from common.db import Database
from common.settings import Settings
from common.sqlite import sqlite3
from tests.backup.conftest import add_bookmarks


def bookmarks_in_the_file_alone(db_path: Path, tmp_path: Path) -> int:
    """Bookmarks in the database file without its -wal: what a checkpoint has copied there."""
    plain = tmp_path / "plain" / "kura.db"
    plain.parent.mkdir(exist_ok=True)
    shutil.copyfile(db_path, plain)
    conn = sqlite3.connect(plain)
    try:
        return conn.execute("SELECT count(*) FROM bookmarks").fetchone()[0]
    except sqlite3.OperationalError:  # even the schema is still only in the -wal
        return 0
    finally:
        conn.close()
        shutil.rmtree(plain.parent)


def test_snapshot_checkpoints_the_writes_the_wal_holds(settings: Settings, db: Database, tmp_path: Path) -> None:
    # The pool's connections stay open and these commits stay under the autocheckpoint's 1,000 pages,
    # so they are in the -wal only, as the API's writes during a snapshot are.
    add_bookmarks(db, 30)
    assert bookmarks_in_the_file_alone(settings.db_path, tmp_path) < 30

    snap = take_snapshot(settings, dest=tmp_path / "snap.db")

    assert snap.row_counts["bookmarks"] == 30
    assert bookmarks_in_the_file_alone(settings.db_path, tmp_path) == 30
