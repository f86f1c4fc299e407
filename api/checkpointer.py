"""The API's WAL checkpoints, on a thread of their own instead of inside a write's COMMIT.

With synchronous=NORMAL a COMMIT in WAL mode appends to the -wal and does not fsync; the checkpoint
that copies the -wal back into the database file fsyncs both files. SQLite runs that checkpoint
inside the COMMIT that takes the -wal past `wal_autocheckpoint` pages (1,000 by default: one create in
~40 at ~26 pages each), so that one write paid the copy and two fsyncs, tens of milliseconds while
a backup kept the disk busy: the writes' p99. So the API's connections raise the threshold to
BACKSTOP_PAGES (reached only if this thread falls behind or has stopped), and this thread runs a
PASSIVE checkpoint, which never waits for a reader or the writer, shortly after each burst of commits.
"""

from __future__ import annotations

import threading
from typing import Any

from loguru import logger

from common.db import Database
from common.sqlite import sqlite3

BACKSTOP_PAGES = 10_000  # ~40 MB of -wal; SQLite's default threshold is 1,000
SETTLE_S = 0.1  # commits within this long after a poke share one checkpoint (and its two fsyncs)


class Checkpointer:
    """`poke()` after a commit; the thread starts on the first poke, so an app that never writes
    runs none, and `close()` ends it (an app served again starts a new one)."""

    def __init__(self, db: Database, *, settle_s: float = SETTLE_S) -> None:
        self.db, self.settle_s = db, settle_s
        self._poked = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.failing = False  # the last checkpoint failed (logged once per run of failures)

    def poke(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._closing.clear()
                    # A daemon: close() ends it; a process that exits without close() must not hang on it.
                    self._thread = threading.Thread(target=self._run, name="kura-checkpoint", daemon=True)
                    self._thread.start()
        self._poked.set()

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._closing.set()
            self._poked.set()
            thread.join(timeout=10)

    def _run(self) -> None:
        raw: Any = None
        try:
            while True:
                self._poked.wait()
                if self._closing.wait(self.settle_s):
                    return
                self._poked.clear()
                if raw is None:
                    raw = self.db.engine.raw_connection()  # the pragmas are set and checked there
                if not self._checkpoint(raw.driver_connection):
                    raw.invalidate()  # it may hold a broken file open: a fresh one next time
                    raw = None
        except Exception as exc:  # noqa: BLE001 - the commits' backstop still checkpoints
            logger.warning("WAL checkpoint thread stopped: {}", exc)
        finally:
            if raw is not None:
                raw.invalidate()  # held for the thread's life; never handed to a request

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            if not self.failing:
                logger.warning("WAL checkpoint failed (retried after the next write): {}", exc)
            self.failing = True
            return False
        if self.failing:
            logger.info("WAL checkpoint works again")
        self.failing = False
        return True
