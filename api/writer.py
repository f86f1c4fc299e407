"""The write turn and the writer thread's own connection (api/transactions.py puts them together).

One writer at a time, and waiting for the turn holds no thread: the turn is an asyncio lock taken on
the event loop (with a deadline that ends in 503 + Retry-After), and the work runs on a thread of
its own, so the holder never needs a thread that the waiters are sitting on.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from common import timing
from common.db import Database
from common.dberrors import StorageUnavailable, WriteBusy, storage_errors
from common.sqlite import sqlite3

T = TypeVar("T")


class Writer:
    """The write turn: an asyncio lock with a deadline in front of one dedicated thread.

    The thread takes its jobs from a queue and hands each outcome back with one call_soon_threadsafe:
    a ThreadPoolExecutor's futures, wrapped for asyncio, cost three times the CPU of this hand-off
    (0.13 ms against 0.04 per write, measured for issue 11)."""

    def __init__(self, *, wait_s: float) -> None:
        self.wait_s = wait_s
        self._lock = asyncio.Lock()
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # A daemon: close() ends it; a process that exits without close() must not hang on it.
        self._thread = threading.Thread(target=self._work, name="kura-writer", daemon=True)
        self._thread.start()
        self._closed = False
        self.busy_since: float | None = None  # when the current holder's work started (monotonic)

    def locked(self) -> bool:
        return self._lock.locked()

    async def run(self, fn: Callable[..., T], /, *args: Any, wait_s: float | None = None, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the writer thread once the turn is ours (or raise WriteBusy)."""
        if self._closed:
            raise RuntimeError("the writer is closed")
        if self._lock.locked():  # a free turn is taken at once, without arming a deadline
            wait = self.wait_s if wait_s is None else wait_s
            try:
                async with asyncio.timeout(wait):
                    await self._lock.acquire()
            except TimeoutError:
                raise WriteBusy(f"the server is busy with other writes (waited {wait:g} s); retry shortly") from None
        else:
            await self._lock.acquire()
        self.busy_since = time.monotonic()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, done, contextvars.copy_context(), fn, args, kwargs))
        return await done

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, done, context, fn, args, kwargs = job
            try:
                outcome = (True, context.run(fn, *args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting request as is
                outcome = (False, exc)
            _call_soon(loop, functools.partial(self._finish, done, *outcome))

    def _finish(self, done: asyncio.Future[Any], ok: bool, value: Any) -> None:
        # The turn is given back when the work has really ended, even if the request was cancelled
        # meanwhile: the next writer must not start while this one may still commit.
        self._release()
        if done.done():
            return
        if ok:
            done.set_result(value)
        else:
            done.set_exception(value)

    def _release(self) -> None:
        self.busy_since = None
        self._lock.release()

    def close(self) -> None:
        self._closed = True
        self._jobs.put(None)
        self._thread.join()


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop has closed: nobody is left waiting for the turn
        pass


class WriterConnection:
    """The writer thread's own sqlite3 connection, for writes that are plain SQL (a bookmark's create,
    update, delete): BEGIN IMMEDIATE, the database's guard, the work, COMMIT, as
    `Database.write_session` does, but without a session, whose setup, events and unit of work cost
    more CPU than such a write's statements. Only the writer thread uses it; the database's write
    lock is still taken, so it takes turns with sessions that write in this process (an import)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._raw: Any = None

    def run(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """`fn(conn, **kwargs)` in one write transaction; returns only after COMMIT returned."""
        db = self.db
        if not db.write_lock.acquire(timeout=db.write_wait_s):
            raise WriteBusy(f"another write held the database for over {db.write_wait_s:g} s; retry shortly")
        started = time.perf_counter()
        try:
            with storage_errors(self._failed):
                result = self._transaction(fn, kwargs)
            db.health.wrote()
            return result
        finally:
            timing.add_db_time(time.perf_counter() - started)
            db.write_lock.release()

    def _transaction(self, fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")  # fails (SQLITE_BUSY: 503 busy) if another process holds the lock
        try:
            self.db.guard(conn)
            result = fn(self.db.observed(conn), **kwargs)
            # The COMMIT that crosses 1,000 pages of -wal also checkpoints, holding the turn (tens of ms).
            # A checkpointer thread beside this one was tried: under steady writes its PASSIVE rounds
            # never caught up with the -wal's end, so the -wal was never reset and grew ~100 MB/s.
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise
        return result

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            self.close()  # a connection that cannot roll back is not used again

    def _failed(self, err: StorageUnavailable) -> None:
        self.db.health.failed(err)
        if err.kind != "busy":
            self.close()  # a fresh connection next time: this one may hold a broken or replaced file open

    def _connection(self) -> sqlite3.Connection:
        if self._raw is None:
            self._raw = self.db.engine.raw_connection()  # the pragmas are set and checked there
        return self._raw.driver_connection

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            raw.invalidate()  # closed, never handed back to the pool half-used
