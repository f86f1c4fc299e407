from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from backup import runlog
from backup.files import ensure_dir
from backup.manifest import DATA_SUFFIX, Manifest, backup_stem, write_manifest
from backup.status import check_staleness, newest_verified_backup, recent_runs
from common.db import Database
from common.settings import Settings

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
KURA_TABLES = {"alembic_version": 1, "users": 1, "bookmarks": 0}


def fake_backup(settings: Settings, created_at: datetime, *, verified: bool = True, size: int = 10) -> Path:
    directory = ensure_dir(settings.backups_path)
    data = directory / (backup_stem(created_at) + DATA_SUFFIX)
    data.write_bytes(b"x" * size)
    write_manifest(data, Manifest(
        file=data.name, created_at=created_at, source_size=size, compressed_size=size, sha256="0" * 64,
        raw_sha256="0" * 64, row_counts=dict(KURA_TABLES), newest_bookmark_id=None, schema_revision="0001",
        sqlite_version="3", kura_version="0", duration_s=0.1, verified=verified,
    ))
    return data


def test_no_backup_at_all_is_stale(settings: Settings) -> None:
    ok, message = check_staleness(settings, now=NOW)
    assert not ok
    assert "no verified backup" in message


def test_recent_verified_backup_is_fresh(settings: Settings) -> None:
    fake_backup(settings, NOW - timedelta(hours=30))
    newest = fake_backup(settings, NOW - timedelta(hours=2), size=42)
    info = newest_verified_backup(settings)
    assert info is not None and info.path == newest and info.size_bytes == 42
    assert info.created_at == NOW - timedelta(hours=2)
    ok, message = check_staleness(settings, now=NOW)
    assert ok, message


def test_backup_older_than_the_limit_is_stale(settings: Settings) -> None:
    fake_backup(settings, NOW - timedelta(hours=27))
    ok, message = check_staleness(settings, now=NOW)
    assert not ok
    assert "27.0 h old (limit 26 h)" in message


def test_unverified_truncated_and_manifestless_backups_do_not_count(settings: Settings) -> None:
    fake_backup(settings, NOW - timedelta(days=5))
    fake_backup(settings, NOW - timedelta(hours=1), verified=False)
    truncated = fake_backup(settings, NOW - timedelta(hours=2))
    truncated.write_bytes(b"x")
    (settings.backups_path / (backup_stem(NOW) + DATA_SUFFIX)).write_bytes(b"no manifest")
    info = newest_verified_backup(settings)
    assert info is not None and info.created_at == NOW - timedelta(days=5)
    ok, message = check_staleness(settings, now=NOW)
    assert not ok and "5.0 days old" in message


def test_recent_runs_are_newest_first_and_limited(settings: Settings, db: Database) -> None:
    for hour in (1, 3, 2):
        runlog.start_run(settings, started_at=NOW.replace(hour=hour))
    with db.read_session() as session:
        runs = recent_runs(session, limit=2)
    assert [r.started_at.hour for r in runs] == [3, 2]
    assert {r.status for r in runs} == {"running"}
