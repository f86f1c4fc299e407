"""The index as kura-api uses it: checked at startup, kept current by a thread of its own.

A tantivy commit costs under a millisecond of CPU but tens of milliseconds of wall time (its threads
hand off, it fsyncs), so no request waits for one: a write pokes the syncer after its COMMIT and
answers; the syncer applies everything logged since its last pass in one commit, however many pokes
came. A search that finds the log ahead of the index (another request's or process's write) waits a
bounded moment for the syncer, so a client that writes and then searches finds what it wrote.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from loguru import logger

from common.sqlite import sqlite3
from domain.search import ParsedQuery
from domain.searchindex.build import ensure_current, rebuild
from domain.searchindex.store import IndexBusy, IndexUnusable, SearchIndex, Watermark

CATCH_UP_WAIT_S = 0.5
T = TypeVar("T")


class IndexBehind(Exception):
    """The index did not catch up with the log within the wait the search allowed. `mark` is its
    watermark's seq when the search looked: a sync pass that applies anything moves it."""

    def __init__(self, mark: int) -> None:
        super().__init__("the search index is still catching up")
        self.mark = mark

# A tantivy commit costs about as much CPU as the write that asked for it: gathering the writes of
# this long into one commit makes the index's share of a write small under load (creates at 4
# connections: ~0.3 ms of CPU each in tantivy's threads with 50 ms, ~0.1 with 250 ms). No search
# waits for the window: one that finds the index behind cuts it short.
COALESCE_S = 0.25
SYNC_NICENESS = 10
READER_CACHE_KB = 512
# Searches run on a thread of the index's own, with its reader connection and a page cache the size
# of the pool's (a page's candidates' texts and its rows, read again each time from the OS, cost
# more). One thread: a search is mostly Python, so more threads only take turns at the GIL, and each
# sqlite3 step lets it go. At 4 connections a common word cost 4.0-5.2 ms of CPU per request with
# four threads, 3.9-4.5 with two, 2.9-4.1 with one, which also answered the most (its p99 was lower).
# A search waiting for the index to catch up waits on the event loop, not here (api/searching.py).
SEARCH_THREADS = 1
SEARCH_CACHE_KB = 2000


class LiveIndex:
    def __init__(self, db_path: Path, index_dir: Path) -> None:
        self.db_path = db_path
        self.index_dir = index_dir
        self._index: SearchIndex | None = None
        self._sync_conn: sqlite3.Connection | None = None  # the syncer thread's, opened by start()
        self._poked = threading.Event()
        self._urgent = threading.Event()
        self._synced = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="kura-searchindex", daemon=True)
        self._readers = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._searchers = ThreadPoolExecutor(max_workers=SEARCH_THREADS, thread_name_prefix="kura-search",
                                             initializer=self._search_thread)

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection for searches, outside any transaction. Its page cache
        is small except on the index's own search threads: elsewhere it reads only the log's head
        and a page's candidate texts."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA cache_size = -{getattr(self._readers, 'cache_kb', READER_CACHE_KB)}")
            self._readers.conn = conn
            with self._synced:
                self._opened.append(conn)
        return conn

    def _search_thread(self) -> None:
        self._readers.cache_kb = SEARCH_CACHE_KB  # cannot fail: a failing initializer breaks the pool

    def submit(self, fn: Callable[..., T], /, **kwargs: Any) -> Future[T]:
        """`fn(**kwargs)` on one of the index's search threads, in the caller's context (the request's
        timing record); there `reader()` is that thread's connection."""
        return self._searchers.submit(contextvars.copy_context().run, lambda: fn(**kwargs))

    def start(self) -> None:
        """The startup check (rebuild if missing, foreign or from another version; catch up if
        behind), then the syncer thread. Blocks for a rebuild: seconds per 100k bookmarks."""
        self._index = ensure_current(self.db_path, self.index_dir)
        # Opened here, not in the thread: a file gone by the time a late-scheduled thread ran killed
        # it with an unhandled error (seen under load when a test deleted the database).
        self._sync_conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, isolation_level=None,
                                          check_same_thread=False)
        self._thread.start()

    def poke(self, *, urgent: bool = False) -> None:
        """After a write's COMMIT: returns at once; the syncer picks the change up from search_log,
        within COALESCE_S, so a burst of writes costs one index commit. `urgent`: a search waits."""
        if urgent:
            self._urgent.set()
        self._poked.set()

    def search_ids(self, conn: sqlite3.Connection, *, user_id: int, query: ParsedQuery, limit: int,
                   after: tuple[float, int] | None = None,
                   catch_up_s: float = CATCH_UP_WAIT_S) -> list[tuple[int, float]]:
        """SearchIndex.search_ids, after waiting up to `catch_up_s` for writes the log has and the
        index not yet (0: raise IndexBehind at once, and the caller waits elsewhere). `conn` is any
        connection to the database outside a transaction (one whose snapshot cannot lag behind the
        index); `reader()` gives one per thread."""
        assert self._index is not None, "LiveIndex.start() first"
        mark = self._index.watermark.seq  # before the check: a pass in between then counts as a move
        if self._index.is_behind(conn):
            self.poke(urgent=True)
            # Not caught up in time (a large backlog: an import, a busy machine): SQLite answers.
            if not (catch_up_s > 0 and self._caught_up(conn, catch_up_s)):
                raise IndexBehind(mark)
        return self._index.search_ids(conn, user_id=user_id, query=query, limit=limit, after=after)

    def _caught_up(self, conn: sqlite3.Connection, timeout: float) -> bool:
        assert self._index is not None
        with self._synced:
            return self._synced.wait_for(lambda: not self._index.is_behind(conn), timeout=timeout)

    def few_matches(self, query: ParsedQuery, *, most: int) -> bool:
        """Whether some word of the query occurs in at most `most` bookmarks (all users', as the
        index's term statistics count them): then FTS5 ranks every match faster than the index
        re-ranks its candidates. Never with exclusions, which FTS5 evaluates in full, nor while the
        index is behind the log: its counts may be stale (the index's own search waits for it)."""
        assert self._index is not None, "LiveIndex.start() first"
        if query.exclude or self._index.is_behind(self.reader()):
            return False
        return self._index.fewest_rows(query) <= most

    @property
    def watermark(self) -> Watermark:
        assert self._index is not None, "LiveIndex.start() first"
        return self._index.watermark

    def stop(self) -> None:
        self._searchers.shutdown(wait=True)  # before their connections close below
        self._stopping = True
        self._urgent.set()
        self._poked.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._index is not None:
            self._index.close()
        with self._synced:
            for conn in self._opened:
                conn.close()
            self._opened.clear()

    def _run(self) -> None:
        # Keeping the index current must not take CPU from requests when the machine is busy (a
        # backup compressing): this thread, and the threads tantivy starts from it, run niced.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), SYNC_NICENESS)
        conn = self._sync_conn
        assert conn is not None, "LiveIndex.start() opens it"
        try:
            while True:
                self._poked.wait()
                if not self._stopping:
                    self._urgent.wait(COALESCE_S)  # more writes may follow; a waiting search cuts it short
                self._poked.clear()
                self._urgent.clear()
                if self._stopping:
                    return
                self._pass(conn)
        finally:
            conn.close()

    def _pass(self, conn: sqlite3.Connection) -> None:
        try:
            self._catch_up(conn)
        except (IndexUnusable, IndexBusy, sqlite3.Error, OSError, ValueError) as exc:
            # The next write or search pokes again; until then searches answer from the last commit.
            logger.error("search index could not catch up: {}", exc)
        with self._synced:
            self._synced.notify_all()

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        assert self._index is not None
        try:
            self._index.sync(conn)
        except IndexUnusable as exc:
            logger.warning("search index: {}; rebuilding it", exc)
            self._index.close()
            self._index = rebuild(self.db_path, self.index_dir)
            self._index.sync(conn)
