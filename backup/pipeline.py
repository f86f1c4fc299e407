"""The work of one `kura-backup run`: space check, snapshot, compress, verify, publish, prune.

Order is what makes it crash-safe: everything is built under temp names, the compressed file is
verified BEFORE it is renamed to its final name, and the manifest is written last. Pruning happens
only after all of that succeeded, and only when the source passed the guard without --force.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger
from sqlalchemy.exc import SQLAlchemyError
from zstandard import ZstdError

from backup import guard, integrity, retention, verify
from backup.errors import StageError
from backup.files import clean_temps, ensure_dir, no_readers, run_lock
from backup.manifest import (
    DATA_SUFFIX, Entry, Manifest, backup_stem, list_backups, manifest_path_for, orphans, write_manifest,
)
from backup.priority import CpuShare, lower_this_thread
from backup.snapshot import Snapshot, source_bytes, take_snapshot
from backup.verify import check_contents, compress, verify_archive
from common.files import fsync_file, publish, remove_quietly, temp_path
from common.settings import Settings
from common.sqlite import sqlite3
from common.version import VERSION

Clock = Callable[[], datetime]
StageHook = Callable[[str], None]
Guard = Callable[[Snapshot], str | None]  # a snapshot -> None, or why --force accepted it
T = TypeVar("T")


@dataclass(frozen=True)
class RunResult:
    entry: Entry
    pruned: list[Entry]
    duration_s: float


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def stage(name: str, hook: StageHook) -> Iterator[None]:
    """Name the stage for status lines, and tag any failure inside it with that name."""
    hook(name)
    try:
        yield
    except StageError:
        raise
    except (OSError, sqlite3.Error, SQLAlchemyError, ZstdError, RuntimeError, ValueError) as exc:
        raise StageError(name, str(exc) or type(exc).__name__) from exc


def check_space(settings: Settings, directory: Path) -> int:
    need = source_bytes(settings.db_path)
    free = shutil.disk_usage(directory).free
    if free < need:
        raise StageError("space", f"{directory} has {free:,} bytes free, the backup needs about {need:,}")
    return need


def sweep(directory: Path) -> None:
    with no_readers(directory) as alone:
        if alone:
            clean_temps(directory)
        else:  # a verify or restore is using its scratch files: they are not ours to delete
            logger.info("temporary files left for a later run: another kura-backup command is reading {}", directory)
    # Manifest-less final files come only from runs, and we hold the run lock: no one else's.
    for path in orphans(directory):
        logger.warning("removing {}: it has no manifest (an interrupted run)", path.name)
        remove_quietly(path)


def _side_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def _background(share: CpuShare, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    lower_this_thread()  # this pool thread, and the zstd workers it starts, only use idle CPU and disk
    with share.piece():
        return fn(*args, **kwargs)


def _pack(raw: Path, packed: Path, snap: Snapshot, *, level: int, created_at: datetime, forced: str | None,
          hook: StageHook, share: CpuShare) -> Manifest:
    """Compress the snapshot, then prove the archive re-read from disk: its SHA-256, and its decompressed
    stream against the snapshot's (equal bytes need no second integrity_check). zstd's own workers only
    while the host leaves the job all its share; otherwise on this thread alone."""
    with stage("compress", hook):
        threads = verify.THREADS if share.allowed > 1 else 0
        raw_sha, packed_sha = compress(raw, packed, level=level, threads=threads)
        manifest = _manifest(snap, packed, raw_sha, packed_sha, created_at=created_at)
        manifest.extra = {"guard": "forced", "guard_reason": forced} if forced else {"guard": "passed"}
    with stage("verify", hook):
        verify_archive(packed, manifest)
        # On disk while the check still runs: publish's own fsync then finds nothing left to write.
        fsync_file(packed)
    return manifest


def _check_and_pack(raw: Path, packed: Path, snap: Snapshot, *, level: int, created_at: datetime,
                    forced: str | None, hook: StageHook, share: CpuShare) -> Manifest:
    """The one full check of the snapshot, and the packing, on integrity.THREADS threads.

    The check (integrity_check in parts, row counts, newest bookmark) is most of a run's work, and its
    largest table's part the longest single piece. The parts go first; the packing, which zstd splits
    over threads of its own, starts when a thread is free and fills the cores the last parts leave
    idle. SQLite, zstd and hashlib all release the GIL. Each piece waits for its ``share`` first: while
    other processes keep the host busy, one piece runs at a time. Leaving the `with` waits for every
    part, so the snapshot is never removed under the check."""
    with ThreadPoolExecutor(max_workers=integrity.THREADS, thread_name_prefix="backup") as pool:
        with stage("verify", lambda _s: None):
            checks = pool.submit(_background, share, integrity.plan, raw).result()
        parts = [pool.submit(_background, share, integrity.run_part, raw, part) for part in checks.parts]
        packing = pool.submit(_background, share, _pack, raw, packed, snap, level=level, created_at=created_at,
                              forced=forced, hook=hook, share=share)
        try:
            with stage("verify", lambda _s: None):
                integrity.require_ok(part.result() for part in parts)
                check_contents(raw, checks.contents, expected_counts=snap.row_counts,
                               newest_id=snap.newest_bookmark_id)
            return packing.result()
        except BaseException:
            for job in [*parts, packing]:  # a failed run ends without the work still queued
                job.cancel()
            raise


def _build(settings: Settings, directory: Path, created_at: datetime, hook: StageHook,
           check_source: Guard) -> tuple[Path, Manifest]:
    """Snapshot, compress and verify under temp names; return the verified temp file and its manifest."""
    stem = backup_stem(created_at)
    raw = temp_path(directory, stem + ".db")
    packed = temp_path(directory, stem + DATA_SUFFIX)
    try:
        with CpuShare(integrity.THREADS) as share:  # sampling from the start: the first parts know the load
            # At the caller's priority, never lowered here: the snapshot holds a read transaction on the
            # live database, which should end soon (the -wal cannot be reset before it does).
            with stage("snapshot", hook):
                guard.refuse_empty_file(settings.db_path)
                snap = take_snapshot(settings, dest=raw)
                forced = check_source(snap)
            manifest = _check_and_pack(raw, packed, snap, level=settings.backup_zstd_level,
                                       created_at=created_at, forced=forced, hook=hook, share=share)
        return packed, manifest
    except BaseException:
        remove_quietly(packed)
        raise
    finally:
        remove_quietly(*_side_files(raw))


def _manifest(snap: Snapshot, packed: Path, raw_sha: str, packed_sha: str, *, created_at: datetime) -> Manifest:
    return Manifest(
        file=packed.name, created_at=created_at, source_size=snap.size, compressed_size=packed.stat().st_size,
        sha256=packed_sha, raw_sha256=raw_sha, row_counts=snap.row_counts,
        newest_bookmark_id=snap.newest_bookmark_id, schema_revision=snap.schema_revision,
        sqlite_version=sqlite3.sqlite_version, kura_version=VERSION, duration_s=0.0, verified=True,
    )


def _publish(packed: Path, manifest: Manifest, final: Path, t0: float) -> None:
    try:
        publish(packed, final)
    except BaseException:
        remove_quietly(packed)
        raise
    manifest.file = final.name
    manifest.duration_s = round(time.monotonic() - t0, 3)
    write_manifest(final, manifest)


def source_guard(settings: Settings, previous: Manifest | None, *, force: bool) -> Guard:
    """Refuse a snapshot that looks destroyed (StageError at stage guard), unless ``force``."""
    def check(snap: Snapshot) -> str | None:
        problem = guard.source_problem(snap.row_counts, snap.schema_revision, previous,
                                       settings.backup_shrink_limit_percent)
        if problem is None:
            return None
        if not force:
            raise StageError("guard", f"{problem}; {guard.FORCE_HINT}")
        logger.warning("backing up anyway (--force): {}; this run prunes no earlier backup", problem)
        return problem

    return check


def _prune(settings: Settings, directory: Path, manifest: Manifest) -> list[Entry]:
    if manifest.extra.get("guard") != "passed":  # a forced backup never costs an earlier good one
        logger.info("not pruning: this backup was accepted with --force")
        return []
    with no_readers(directory) as alone:
        if not alone:  # a verify or restore is reading a backup that retention might delete
            logger.info("not pruning now: another kura-backup command is reading {}; the next run prunes", directory)
            return []
        return retention.prune(settings, list_backups(directory))


def _previous(directory: Path) -> Manifest | None:
    verified = [e for e in list_backups(directory) if e.manifest.verified]
    return verified[-1].manifest if verified else None


def run_backup(settings: Settings, *, clock: Clock = _now, hook: StageHook = lambda _s: None,
               force: bool = False, keep: bool = False, on_locked: Callable[[], None] = lambda: None) -> RunResult:
    """One run. ``keep`` marks the backup as never pruned; ``on_locked`` runs once this process holds
    the folder's run lock."""
    t0 = time.monotonic()
    with ExitStack() as stack:
        with stage("prepare", hook):
            directory = ensure_dir(settings.backups_path)
            stack.enter_context(run_lock(directory))
            on_locked()
            sweep(directory)
            check_source = source_guard(settings, _previous(directory), force=force)
        with stage("space", hook):
            check_space(settings, directory)
        created_at = clock()
        packed, manifest = _build(settings, directory, created_at, hook, check_source)
        if keep:
            manifest.extra["keep"] = True
        final = directory / (backup_stem(created_at) + DATA_SUFFIX)
        with stage("publish", hook):
            _publish(packed, manifest, final, t0)
        with stage("prune", hook):
            pruned = _prune(settings, directory, manifest)
    entry = Entry(manifest=manifest, data_path=final, manifest_path=manifest_path_for(final))
    return RunResult(entry=entry, pruned=pruned, duration_s=time.monotonic() - t0)
