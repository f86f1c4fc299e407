"""The backup folder itself: its private mode, sweeping what an interrupted run left, and its locks.

Every file the job creates is written the safe way (common/files.py: a ``.tmp-`` name, fsync, atomic
rename), so what a crash leaves behind is temp files, which the next run sweeps here.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loguru import logger

from common.files import TEMP_PREFIX, remove_quietly

LOCK_NAME = ".lock"
# Held shared by every command that reads backups or keeps scratch files in the folder (verify,
# restore); a run takes it exclusively, without waiting, only to sweep temp files and to prune.
READERS_LOCK_NAME = ".readers.lock"


class BackupLocked(RuntimeError):
    """Another kura-backup process holds the backup folder."""


def ensure_dir(path: Path) -> Path:
    """Create the backup folder private to the service user (0700), tightening an existing one."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def clean_temps(directory: Path) -> int:
    """Remove what an interrupted run left behind (its temp files, SQLite side files included)."""
    removed = 0
    for path in directory.glob(f"{TEMP_PREFIX}*"):
        remove_quietly(path)
        removed += 1
    if removed:
        logger.info("removed {} stale temporary file(s) from {}", removed, directory)
    return removed


def _open_lock(path: Path) -> int:
    # Read-only and 0644: a lock file that root created (sudo kura-backup verify) must still open for
    # the service user; the folder itself is 0700, so nobody else reaches it.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        os.fchmod(fd, 0o644)
    except PermissionError:
        pass
    return fd


@contextmanager
def reading(directory: Path) -> Iterator[None]:
    """While held, no run deletes anything here: not this process's scratch files, not a backup.

    A folder no run has ever locked (a copy of a backup in someone's home, say) gets no lock file."""
    try:
        fd = _open_lock(directory / READERS_LOCK_NAME) if (directory / LOCK_NAME).exists() else None
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        fd = None  # a folder we cannot write to is one where no run of ours deletes anything either
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a run sweeps or prunes (milliseconds)
        yield
    finally:
        os.close(fd)


@contextmanager
def no_readers(directory: Path) -> Iterator[bool]:
    """Yield True while nobody reads the folder (hold it to delete); False when someone does."""
    fd = _open_lock(directory / READERS_LOCK_NAME)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


@contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """One job at a time per backup folder; the kernel drops the lock if the process dies."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupLocked(f"another kura-backup is already working in {directory}") from None
        yield
    finally:
        os.close(fd)
