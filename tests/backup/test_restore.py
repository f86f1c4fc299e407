from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backup.errors import StageError
from backup.manifest import manifest_path_for
from backup.pipeline import run_backup
from backup.restore import holders, restore
from common.db import Database, open_database
from common.sqlite import sqlite3
from domain.models import Bookmark
from common.settings import Settings
from tests.backup.conftest import ROOT, add_bookmarks

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM bookmarks").fetchone()
print("holding", flush=True)
time.sleep(60)
"""


def _bookmark_count(settings: Settings, path: Path | None = None) -> int:
    db = open_database(settings, path=path)
    try:
        with db.read_session() as session:
            return session.scalar(select(func.count()).select_from(Bookmark)) or 0
    finally:
        db.dispose()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def holder(settings: Settings, populated: list[int]) -> Iterator[subprocess.Popen[str]]:
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(settings.db_path)], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        yield proc
        proc.kill()


def test_restore_round_trip_brings_the_data_back_and_keeps_the_replaced_database(
    settings: Settings, db: Database, populated: list[int]
) -> None:
    backup = run_backup(settings).entry.data_path
    add_bookmarks(db, 10)
    db.dispose()
    target = restore(settings, source=backup.name)
    assert target == settings.db_path
    assert _bookmark_count(settings) == len(populated)
    pre = settings.db_path.with_name("kura.db.pre-restore")
    assert _bookmark_count(settings, pre) == len(populated) + 10
    assert not [p for p in settings.data_dir.iterdir() if p.name.startswith(".tmp-")]


def test_restore_refuses_a_corrupt_backup_and_leaves_the_database_alone(
    settings: Settings, db: Database, populated: list[int]
) -> None:
    backup = run_backup(settings).entry.data_path
    raw = bytearray(backup.read_bytes())
    raw[-10] ^= 0xFF
    backup.write_bytes(bytes(raw))
    db.dispose()
    before = _digest(settings.db_path)
    with pytest.raises(StageError, match="SHA-256 mismatch"):
        restore(settings, source=str(backup))
    assert _digest(settings.db_path) == before
    assert not settings.db_path.with_name("kura.db.pre-restore").exists()
    assert not [p for p in settings.data_dir.iterdir() if p.name.startswith(".tmp-")]


def test_restore_refuses_while_another_process_holds_the_database(
    settings: Settings, db: Database, holder: subprocess.Popen[str]
) -> None:
    backup = run_backup(settings).entry.data_path
    with pytest.raises(StageError, match="systemctl stop kura-api") as info:
        restore(settings, source=backup.name)
    assert f"pid {holder.pid}" in info.value.message
    assert not settings.db_path.with_name("kura.db.pre-restore").exists()


def test_force_swaps_even_while_held_and_keeps_the_old_file(
    settings: Settings, db: Database, populated: list[int], holder: subprocess.Popen[str]
) -> None:
    backup = run_backup(settings).entry.data_path
    add_bookmarks(db, 3)
    db.dispose()
    restore(settings, source=backup.name, force=True)
    assert _bookmark_count(settings) == len(populated)
    assert _bookmark_count(settings, settings.db_path.with_name("kura.db.pre-restore")) == len(populated) + 3


def test_restore_to_another_path_leaves_the_live_database_untouched(
    settings: Settings, db: Database, populated: list[int], tmp_path: Path
) -> None:
    backup = run_backup(settings).entry.data_path
    add_bookmarks(db, 4)
    elsewhere = tmp_path / "elsewhere" / "copy.db"
    restore(settings, source=backup.name, to=elsewhere)
    assert _bookmark_count(settings, elsewhere) == len(populated)
    assert _bookmark_count(settings) == len(populated) + 4
    with pytest.raises(StageError, match="already exists"):
        restore(settings, source=backup.name, to=elsewhere)
    restore(settings, source=backup.name, to=elsewhere, force=True)
    assert _bookmark_count(settings, elsewhere) == len(populated)


def test_restore_needs_an_existing_backup_with_its_manifest(settings: Settings, db: Database) -> None:
    with pytest.raises(StageError, match="no backup file"):
        restore(settings, source="kura-nothing.db.zst")
    backup = run_backup(settings).entry.data_path
    manifest_path_for(backup).unlink()
    with pytest.raises(StageError, match="no readable manifest"):
        restore(settings, source=backup.name)


def test_a_holder_is_found_by_file_identity_even_under_another_path(
    settings: Settings, db: Database, populated: list[int]
) -> None:
    # Inside a chroot or another mount namespace /proc/PID/fd shows the file under a different path;
    # a hard link gives the same situation here: another name, the same file.
    alias = settings.db_path.with_name("alias-of-kura.db")
    os.link(settings.db_path, alias)
    opener = "import sys, time; f = open(sys.argv[1], 'rb'); print('holding', flush=True); time.sleep(60)"
    with subprocess.Popen([sys.executable, "-c", opener, str(alias)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
            assert f"pid {proc.pid}" in " ".join(holders(settings.db_path))
        finally:
            proc.kill()
    assert not any(f"pid {proc.pid}" in h for h in holders(settings.db_path))


def test_a_restored_database_shows_no_backup_run_as_still_running(
    settings: Settings, db: Database, populated: list[int], tmp_path: Path
) -> None:
    from backup.job import run_job
    from backup.runlog import RESTORED_ERROR
    from backup.status import recent_runs

    backup = run_job(settings).entry.data_path  # its own run was `running` when the snapshot was taken
    db.dispose()
    restore(settings, source=backup.name)
    restored = open_database(settings)
    try:
        with restored.read_session() as session:
            [run] = recent_runs(session)
            assert (run.status, run.error) == ("interrupted", RESTORED_ERROR)
    finally:
        restored.dispose()
    restore(settings, source=backup.name, to=tmp_path / "copy.db")  # a copy elsewhere: the same
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("SELECT status FROM backup_runs").fetchall() == [("interrupted",)]
    conn.close()
