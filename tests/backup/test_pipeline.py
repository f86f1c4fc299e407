from __future__ import annotations

import dataclasses
import json
import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from backup import integrity, pipeline, priority, verify
from backup.errors import StageError
from backup.files import run_lock
from backup.manifest import list_backups, manifest_path_for
from backup.pipeline import run_backup
from backup.verify import verify_archive, verify_file
from domain import migrate
from common.db import Database
from common.settings import Settings
from tests.backup.conftest import add_bookmarks, open_backup


def test_run_writes_a_verified_compressed_backup_with_its_manifest(
    settings: Settings, db: Database, populated: list[int], tmp_path: Path
) -> None:
    stages: list[str] = []
    result = run_backup(settings, hook=stages.append)
    assert stages == ["prepare", "space", "snapshot", "compress", "verify", "publish", "prune"]
    data = result.entry.data_path
    manifest = json.loads(manifest_path_for(data).read_text())
    assert manifest["verified"] is True
    assert manifest["compressed_size"] == data.stat().st_size < manifest["source_size"]
    assert manifest["row_counts"]["bookmarks"] == len(populated)
    assert manifest["newest_bookmark_id"] == max(populated)
    assert manifest["schema_revision"] == migrate.head_revision()
    assert manifest["extra"] == {"guard": "passed"}
    assert {"sha256", "sqlite_version", "kura_version", "duration_s", "created_at"} <= manifest.keys()
    copy = open_backup(data, tmp_path / "copy.db")
    assert copy.execute("SELECT count(*) FROM bookmarks").fetchone()[0] == len(populated)
    copy.close()
    assert stat.S_IMODE(settings.backups_path.stat().st_mode) == 0o700
    assert sorted(p.name for p in settings.backups_path.iterdir()) == sorted(
        [".lock", ".readers.lock", data.name, manifest_path_for(data).name])


def test_backup_includes_commits_still_in_the_wal(settings: Settings, db: Database, tmp_path: Path) -> None:
    add_bookmarks(db, 5)
    wal = settings.db_path.with_name(settings.db_path.name + "-wal")
    assert wal.stat().st_size > 0  # the db fixture keeps its connection: these rows live in the -wal
    copy = open_backup(run_backup(settings).entry.data_path, tmp_path / "copy.db")
    assert copy.execute("SELECT count(*) FROM bookmarks").fetchone()[0] == 5
    copy.close()


def test_run_sweeps_temps_and_manifestless_files_of_an_interrupted_run(
    settings: Settings, db: Database, populated: list[int]
) -> None:
    first = run_backup(settings).entry
    leftovers = [settings.backups_path / ".tmp-1234-kura-x.db", settings.backups_path / ".tmp-1234-kura-x.db-journal"]
    orphan = settings.backups_path / "kura-20200101T000000.000000Z.db.zst"
    for path in [*leftovers, orphan]:
        path.write_bytes(b"partial")
    second = run_backup(settings).entry
    assert not any(p.exists() for p in [*leftovers, orphan])
    assert [e.data_path for e in list_backups(settings.backups_path)] in (
        [second.data_path], [first.data_path, second.data_path])


def test_a_flipped_byte_fails_verification(settings: Settings, db: Database, populated: list[int]) -> None:
    data = run_backup(settings).entry.data_path
    verify_file(data)
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    with pytest.raises(StageError, match="SHA-256 mismatch") as info:
        verify_file(data)
    assert info.value.stage == "verify"
    assert not [p for p in settings.backups_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_second_run_on_the_same_folder_is_refused(settings: Settings, db: Database) -> None:
    settings.backups_path.mkdir(parents=True)
    with run_lock(settings.backups_path):
        with pytest.raises(StageError, match="another kura-backup") as info:
            run_backup(settings)
    assert info.value.stage == "prepare"


def test_missing_database_fails_at_snapshot_and_creates_nothing(settings: Settings) -> None:
    with pytest.raises(StageError, match="does not exist") as info:
        run_backup(settings)
    assert info.value.stage == "snapshot"
    assert not settings.db_path.exists()
    assert sorted(p.name for p in settings.backups_path.iterdir()) == [".lock", ".readers.lock"]


def test_backup_folder_is_tightened_to_owner_only(settings: Settings, db: Database) -> None:
    settings.backups_path.mkdir(mode=0o755)
    os.chmod(settings.backups_path, 0o755)
    run_backup(settings)
    assert stat.S_IMODE(settings.backups_path.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in settings.backups_path.glob("kura-*"))


@pytest.mark.parametrize("change, message", [
    ({"row_counts": {"bookmarks": 10_000}}, "copy is missing rows: bookmarks 25 < 10000"),
    ({"newest_bookmark_id": 10_000}, "newest bookmark 10000 is missing from the copy"),
])
def test_verify_fails_when_the_copy_lacks_what_the_manifest_promises(
    settings: Settings, db: Database, populated: list[int], change: dict[str, object], message: str
) -> None:
    data = run_backup(settings).entry.data_path
    path = manifest_path_for(data)
    manifest = json.loads(path.read_text())
    for key, value in change.items():
        manifest[key] = {**manifest[key], **value} if isinstance(value, dict) else value
    path.write_text(json.dumps(manifest))
    with pytest.raises(StageError, match=message):
        verify_file(data)


def test_a_run_proves_its_archive_by_hash_and_decompression_against_the_checked_snapshot(
    settings: Settings, db: Database, populated: list[int]
) -> None:
    entry = run_backup(settings).entry
    verify_archive(entry.data_path, entry.manifest)  # what the run itself checked before publishing
    wrong_raw = dataclasses.replace(entry.manifest, raw_sha256="0" * 64)
    with pytest.raises(StageError, match="decompressed data does not match the manifest"):
        verify_archive(entry.data_path, wrong_raw)
    raw = bytearray(entry.data_path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    entry.data_path.write_bytes(bytes(raw))
    with pytest.raises(StageError, match="SHA-256 mismatch|does not decompress"):
        verify_archive(entry.data_path, entry.manifest)


def test_while_the_host_is_busy_the_check_parts_and_the_packing_run_one_at_a_time(
    settings: Settings, db: Database, populated: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Busy(priority.CpuShare):  # a host that other work keeps busy from the first moment
        def __enter__(self) -> priority.CpuShare:
            self.observe(others=priority.BUSY_CORES + 1, now=0.0)
            return super().__enter__()

    at_once, most, threads = [0], [0], []
    lock = threading.Lock()

    def counted(fn: Callable[..., object]) -> Callable[..., object]:
        def run(*args: object, **kwargs: object) -> object:
            with lock:
                at_once[0] += 1
                most[0] = max(most[0], at_once[0])
            try:
                time.sleep(0.05)  # long enough for a second piece to start, if it were let in
                return fn(*args, **kwargs)
            finally:
                with lock:
                    at_once[0] -= 1
        return run

    monkeypatch.setattr(pipeline, "CpuShare", Busy)
    monkeypatch.setattr(integrity, "SPLIT_BYTES", 0)  # the small test database checked in parts too
    monkeypatch.setattr(integrity, "run_part", counted(integrity.run_part))
    real_compress = pipeline.compress
    monkeypatch.setattr(pipeline, "compress", counted(lambda *a, **kw: threads.append(kw["threads"])
                                                      or real_compress(*a, **kw)))
    entry = run_backup(settings).entry
    assert entry.manifest.verified and most[0] == 1 and threads == [0]  # zstd without workers of its own
    # Where the host's load cannot be read (/proc/stat hidden), the job keeps its whole share.
    monkeypatch.setattr(pipeline, "CpuShare", lambda most: priority.CpuShare(most, read=lambda: None))
    run_backup(settings)
    assert threads[-1] == verify.THREADS
