"""`kura-backup restore`: verify, unpack next to the target, and swap it in atomically.

The live database is replaced only while nobody holds it (the API would keep writing into the old
file and its -wal), and the replaced one is kept as ``<db>.pre-restore`` so a restore can be undone.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil
from loguru import logger

from backup import runlog
from backup.errors import StageError
from backup.files import reading
from backup.manifest import read_manifest
from backup.verify import unpack_verified
from common.db import open_database
from common.files import fsync_dir, fsync_file, remove_quietly, temp_path
from common.openfiles import file_identities, holds_any
from common.settings import Settings
from common.sqlite import sqlite3

STOP_API = "systemctl stop kura-api"
SIDE = ("-wal", "-shm", "-journal")


def _with_side(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in SIDE)]


def holders(db_path: Path) -> list[str]:
    """Other processes with the database or its -wal/-shm open (by file identity, via /proc/*/fd)."""
    wanted = file_identities(_with_side(db_path))
    if not wanted:
        return []
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.pid != os.getpid() and holds_any(proc.pid, wanted):
            found.append(f"pid {proc.pid} ({proc.info['name']})")
    return found


def resolve_backup(settings: Settings, name: str) -> Path:
    for candidate in (Path(name), settings.backups_path / name):
        if candidate.is_file():
            return candidate
    raise StageError("restore", f"no backup file {name} (looked in . and {settings.backups_path})")


def _set_aside(settings: Settings, db_path: Path) -> Path:
    """Keep the current database as <db>.pre-restore, its -wal content included."""
    try:  # fold the -wal into the file so the kept copy is one self-contained file
        db = open_database(settings, path=db_path, pool_size=1)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
    except Exception as exc:  # noqa: BLE001 - a damaged database is exactly what a restore replaces
        logger.warning("could not checkpoint {} before the restore: {}", db_path, exc)
    pre = db_path.with_name(db_path.name + ".pre-restore")
    remove_quietly(*_with_side(pre))
    os.link(db_path, pre)
    wal = db_path.with_name(db_path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        os.replace(wal, pre.with_name(pre.name + "-wal"))  # still someone's (--force): it belongs to the old file
    # A stale -wal/-shm beside the new file would be replayed into it: they go before the swap.
    remove_quietly(*_with_side(db_path)[1:])
    return pre


def _settle_runs(unpacked: Path) -> None:
    try:
        if settled := runlog.settle_restored(unpacked):
            logger.info("{} backup run(s) that were running when the backup was taken are marked interrupted", settled)
    except sqlite3.Error as exc:
        raise StageError("restore", f"cannot update backup_runs in the restored copy: {exc}") from exc


def restore(settings: Settings, *, source: str, to: Path | None = None, force: bool = False) -> Path:
    """Restore ``source`` to ``to`` (default: the live database); return the path written."""
    data = resolve_backup(settings, source)
    with reading(data.parent):  # a run's retention must not delete the backup while we read it
        return _restore_from(settings, data, to=to, force=force)


def _restore_from(settings: Settings, data: Path, *, to: Path | None, force: bool) -> Path:
    try:
        manifest = read_manifest(data)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise StageError("restore", f"{data.name} has no readable manifest, so it cannot be verified: {exc}") from exc
    live = to is None or Path(to).resolve() == settings.db_path.resolve()
    target = settings.db_path if live else Path(to)  # type: ignore[arg-type]
    if not live and target.exists() and not force:
        raise StageError("restore", f"{target} already exists; pick another --to path or add --force")
    if live and not force and (held := holders(target)):
        raise StageError("restore", f"the database is in use by {', '.join(held)}; run `{STOP_API}` first "
                                    "(or add --force if you stopped it and this is wrong)")
    target.parent.mkdir(parents=True, exist_ok=True)
    unpacked = temp_path(target.parent, target.name + ".restore")
    try:
        unpack_verified(data, manifest, unpacked)
        _settle_runs(unpacked)
        fsync_file(unpacked)
        pre = _set_aside(settings, target) if live and target.exists() else None
        if not live:
            remove_quietly(*_with_side(target)[1:])
        os.replace(unpacked, target)
        fsync_dir(target.parent)
    except BaseException:
        remove_quietly(*_with_side(unpacked))
        raise
    remove_quietly(*_with_side(unpacked)[1:])
    logger.info("restored {} to {}{}", data.name, target, f"; the previous database is kept as {pre}" if pre else "")
    return target
