"""Compression: the archive reaches the disk as it is written, not in one burst at the end."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from backup import verify


def test_compress_puts_the_archive_on_disk_as_it_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "raw.db"
    raw.write_bytes(os.urandom(4 << 20))  # incompressible: the archive is about as large
    synced_sizes: list[int] = []
    real_fdatasync = os.fdatasync

    def recording_fdatasync(fd: int) -> None:
        synced_sizes.append(os.fstat(fd).st_size)
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", recording_fdatasync)
    packed = tmp_path / "raw.db.zst"
    raw_sha, packed_sha = verify.compress(raw, packed, level=1, sync_every=256 << 10)

    assert len(synced_sizes) >= 3  # along the way, each time another 256 KiB had been written
    assert synced_sizes == sorted(synced_sizes) and synced_sizes[-1] <= packed.stat().st_size
    assert raw_sha == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert packed_sha == hashlib.sha256(packed.read_bytes()).hexdigest()
    assert verify.decompress(packed, tmp_path / "back.db") == raw_sha
