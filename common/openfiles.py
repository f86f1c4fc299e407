"""Which process has a file open, decided by the file's identity (device, inode) via /proc/PID/fd.

Used by the restore (is the database still in use?) and the monitor (is this kura-api ours?). Paths
are not compared: inside a chroot or another mount namespace the same file shows up under another
path in /proc/PID/fd, and a path check would miss it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

FileId = tuple[int, int]


def file_identities(paths: Iterable[Path]) -> set[FileId]:
    """(device, inode) of each path that exists."""
    ids = set()
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        ids.add((st.st_dev, st.st_ino))
    return ids


def holds_any(pid: int, wanted: set[FileId]) -> bool:
    """Whether process ``pid`` has one of ``wanted`` open; False when its fds cannot be read."""
    if not wanted:
        return False
    try:
        fds = os.scandir(f"/proc/{pid}/fd")
    except OSError:
        return False
    with fds:
        for fd in fds:
            try:
                st = os.stat(fd.path)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in wanted:
                return True
    return False
