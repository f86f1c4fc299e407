"""Building the index from scratch, and the startup check that decides when to.

A rebuild reads every bookmark in one read transaction of SQLite (so its watermark and its rows
agree), writes a new index beside the old one and moves it into place; the old one stays usable until
then, and a rebuild killed halfway leaves only a directory the next one removes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

from common.sqlite import sqlite3
from domain.searchindex import sql
from domain.searchindex.schema import build_schema, document, register
from domain.searchindex.store import (
    REBUILD_HEAP_BYTES, SYNC_HEAP_BYTES, IndexBusy, IndexUnusable, SearchIndex, head_of, open_writer, write_watermark,
)


def _hold_lock(index_dir: Path) -> tantivy.IndexWriter | None:
    """The old index's writer lock, held through a rebuild so it never swaps out the files a running
    kura-api writes to (IndexBusy instead). An index that cannot be opened has no one to protect."""
    try:
        return open_writer(tantivy.Index.open(str(index_dir)), SYNC_HEAP_BYTES)
    except ValueError:
        return None


@contextmanager
def _rebuilding(index_dir: Path) -> Iterator[None]:
    """One rebuild at a time (kura-api's startup and `kura search rebuild` may meet); under it, what
    a killed rebuild left beside the index is removed."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(index_dir.with_name(f".{index_dir.name}.lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy("another rebuild of the search index is running") from None
        for leftover in [*index_dir.parent.glob(f".{index_dir.name}.building-*"),
                         *index_dir.parent.glob(f".{index_dir.name}.old-*")]:
            shutil.rmtree(leftover, ignore_errors=True)
        yield  # closing the file releases the lock


def rebuild(db_path: Path, index_dir: Path) -> SearchIndex:
    """A fresh index of every bookmark, built beside the old one and moved into its place."""
    with _rebuilding(index_dir):
        old_lock = _hold_lock(index_dir)
        _build(db_path, index_dir)
        del old_lock  # dropping the writer releases the old directory's lock
    return SearchIndex.open(index_dir)


def _build(db_path: Path, index_dir: Path) -> None:
    building = index_dir.with_name(f".{index_dir.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    index = tantivy.Index(build_schema(), path=str(building))
    register(index)
    writer = index.writer(heap_size=REBUILD_HEAP_BYTES, num_threads=1)
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("BEGIN")  # the watermark and the rows come from one snapshot
        head = head_of(conn)
        tokens = 0
        for row in conn.execute(sql.DOCS_SQL):
            doc, length = document(row)
            writer.add_document(doc)
            tokens += length
        conn.execute("COMMIT")
    finally:
        conn.close()
    writer.commit()
    writer.wait_merging_threads()
    write_watermark(building, head, tokens)
    _replace_dir(building, index_dir)


def _replace_dir(new: Path, target: Path) -> None:
    # Two renames, not one: a crash between them leaves no index at `target`, which the next start
    # sees as missing and rebuilds; never a half-written one.
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def ensure_current(db_path: Path, index_dir: Path) -> SearchIndex:
    """At startup: open the index, rebuild it if missing, unusable or foreign, then catch it up."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        try:
            index = SearchIndex.open(index_dir)
            index.sync(conn)
        except IndexUnusable:
            index = rebuild(db_path, index_dir)
            index.sync(conn)  # writes committed while it was being built
        return index
    finally:
        conn.close()
