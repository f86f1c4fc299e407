"""Compression, checksums and the checks that make a backup "verified"."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import BinaryIO

import zstandard
from tqdm import tqdm

from backup.errors import StageError
from backup.files import reading
from backup.integrity import Contents, check_database
from backup.manifest import Manifest, read_manifest
from common.files import remove_quietly, temp_path
from common.sqlite import sqlite3

CHUNK = 1 << 20
THREADS = 2  # zstd worker threads: level 1 on two cores keeps a 1 GB backup within its time budget
# The archive goes to disk as it is written, this much at a time. Kept in the page cache until the
# final fsync, a 1 GB database's ~430 MB archive went out in one burst that the API's checkpoints
# (their fsyncs) queued behind: writes stalled 0.5-2 s at the end of every backup under load.
SYNC_EVERY = 16 << 20


def _progress(total: int, desc: str) -> tqdm:  # type: ignore[type-arg]
    # A bar for people at a terminal; nothing in the journal or in a pipe.
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, leave=False, disable=not sys.stderr.isatty())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Hashing:
    """A file wrapper that hashes every byte passing through read() or write()."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.digest = fh, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


class _WriteBehind:
    """A file wrapper that puts what was written on disk every ``every`` bytes (fdatasync), so no
    more than that is ever waiting in the page cache for a flush."""

    def __init__(self, fh: BinaryIO, every: int) -> None:
        self.fh, self.every, self.pending = fh, every, 0

    def write(self, data: bytes) -> int:
        written = self.fh.write(data)
        self.pending += written
        if self.pending >= self.every:
            self.fh.flush()
            os.fdatasync(self.fh.fileno())
            self.pending = 0
        return written

    def flush(self) -> None:
        self.fh.flush()


def compress(raw: Path, dest: Path, *, level: int, threads: int = THREADS,
             sync_every: int = SYNC_EVERY) -> tuple[str, str]:
    """Stream ``raw`` into a zstd file at ``dest``; return the SHA-256 of the raw and of the packed bytes."""
    digest = hashlib.sha256()
    cctx = zstandard.ZstdCompressor(level=level, write_checksum=True, threads=threads)
    with open(raw, "rb") as src, open(dest, "wb") as out, _progress(raw.stat().st_size, "compress") as bar:
        packed = _Hashing(_WriteBehind(out, sync_every))  # type: ignore[arg-type]
        with cctx.stream_writer(packed, closefd=False) as writer:  # type: ignore[arg-type]
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                writer.write(chunk)
                bar.update(len(chunk))
    return digest.hexdigest(), packed.digest.hexdigest()


def archive_hashes(src: Path) -> tuple[str, str]:
    """One read of a .zst file: the SHA-256 of its bytes and of what they decompress to (not kept)."""
    digest = hashlib.sha256()
    with open(src, "rb") as fh, _progress(src.stat().st_size, "decompress") as bar:
        packed = _Hashing(fh)
        reader = zstandard.ZstdDecompressor().stream_reader(packed)  # type: ignore[arg-type]
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            bar.n = fh.tell()
            bar.refresh()
        while packed.read(CHUNK):  # bytes after the frame, if any, are part of the file's hash too
            pass
    return packed.digest.hexdigest(), digest.hexdigest()


def decompress(src: Path, dest: Path) -> str:
    """Stream-decompress ``src`` into ``dest``; return the SHA-256 of the decompressed bytes."""
    digest = hashlib.sha256()
    dctx = zstandard.ZstdDecompressor()
    with open(src, "rb") as fh, open(dest, "wb") as out, _progress(src.stat().st_size, "decompress") as bar:
        reader = dctx.stream_reader(fh)
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            bar.n = fh.tell()
            bar.refresh()
    return digest.hexdigest()


def check_contents(path: Path, found: Contents, *, expected_counts: dict[str, int], newest_id: int | None) -> None:
    """Every table holds at least the rows counted at backup start; the newest bookmark is there."""
    short = {t: (n, found.row_counts.get(t, 0)) for t, n in expected_counts.items() if found.row_counts.get(t, 0) < n}
    if short:
        detail = ", ".join(f"{t} {got} < {want}" for t, (want, got) in sorted(short.items()))
        raise StageError("verify", f"copy is missing rows: {detail}")
    if newest_id is None:
        return
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        present = conn.execute("SELECT 1 FROM bookmarks WHERE id = ?", (newest_id,)).fetchone()
    finally:
        conn.close()
    if not present:
        raise StageError("verify", f"newest bookmark {newest_id} is missing from the copy")


def verify_archive(data_path: Path, manifest: Manifest) -> None:
    """Prove the archive holds exactly the checked snapshot: its SHA-256 re-read from disk, and the
    SHA-256 of its decompressed stream against the snapshot's. Equal bytes need no second integrity_check."""
    try:
        packed_sha, raw_sha = archive_hashes(data_path)
    except zstandard.ZstdError as exc:
        raise StageError("verify", f"{data_path.name} does not decompress: {exc}") from exc
    if packed_sha != manifest.sha256:
        raise StageError("verify", f"{data_path.name}: SHA-256 mismatch (file {packed_sha[:12]}…, "
                                   f"manifest {manifest.sha256[:12]}…)")
    if raw_sha != manifest.raw_sha256:
        raise StageError("verify", f"{data_path.name}: decompressed data does not match the manifest")


def unpack_verified(data_path: Path, manifest: Manifest, dest: Path) -> Contents:
    """Check the SHA-256, decompress to ``dest`` and check integrity and contents against the manifest."""
    actual = sha256_file(data_path)
    if actual != manifest.sha256:
        raise StageError("verify", f"{data_path.name}: SHA-256 mismatch (file {actual[:12]}…, manifest {manifest.sha256[:12]}…)")
    try:
        raw_sha = decompress(data_path, dest)
    except zstandard.ZstdError as exc:
        raise StageError("verify", f"{data_path.name} does not decompress: {exc}") from exc
    if raw_sha != manifest.raw_sha256:
        raise StageError("verify", f"{data_path.name}: decompressed data does not match the manifest")
    found = check_database(dest)
    check_contents(dest, found, expected_counts=manifest.row_counts, newest_id=manifest.newest_bookmark_id)
    return found


def verify_file(data_path: Path, manifest: Manifest | None = None) -> Contents:
    """Fully verify one backup, using a temp copy beside it that is always removed.

    The folder is held for reading meanwhile, so a run neither sweeps the copy away nor prunes the
    backup under it."""
    if not data_path.is_file():
        raise StageError("verify", f"{data_path.name}: no such file")
    with reading(data_path.parent):
        if manifest is None:
            try:
                manifest = read_manifest(data_path)
            except (OSError, ValueError, TypeError, KeyError) as exc:
                raise StageError("verify", f"{data_path.name} has no readable manifest: {exc}") from exc
        scratch = temp_path(data_path.parent, data_path.name + ".check.db")
        try:
            return unpack_verified(data_path, manifest, scratch)
        finally:
            remove_quietly(scratch, *(scratch.with_name(scratch.name + s) for s in ("-wal", "-shm", "-journal")))
