"""Safe file writes: a file reaches its final name only complete and on disk, or not at all.

Every such file starts under a ``.tmp-`` name in the same directory (so the rename stays within one
file system and is atomic) and reaches its final name through ``os.replace`` after an fsync, so a
crash at any moment leaves either the old state or the complete new file, never a torn one under a
final name. Backups, exports and the API's request figures are all written this way.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def temp_path(directory: Path, final_name: str) -> Path:
    return directory / f"{TEMP_PREFIX}{secrets.token_hex(4)}-{final_name}"


def is_temp(path: Path) -> bool:
    return path.name.startswith(TEMP_PREFIX)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(temp: Path, final: Path) -> None:
    """fsync the finished temp file, rename it into place and fsync the directory."""
    # What is written this way holds users' data (backups, exports): readable by the service user only.
    os.chmod(temp, 0o600)
    fsync_file(temp)
    os.replace(temp, final)
    fsync_dir(final.parent)


def remove_quietly(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def write_atomic(final: Path, data: bytes) -> None:
    temp = temp_path(final.parent, final.name)
    try:
        with open(temp, "wb") as fh:
            fh.write(data)
        publish(temp, final)
    except BaseException:
        remove_quietly(temp)
        raise
