"""How a request reaches the database: reads on the event loop while cheap, else on the worker
threads; writes through one write turn.

A write is acknowledged only after its COMMIT returned: the route awaits `write()`, which opens the
transaction, runs the domain function and commits on the writer thread, and only then does the
route shape its answer. Nothing about it hangs on a framework's dependency teardown order.

One writer at a time, and waiting for the turn holds no thread: the turn is an asyncio lock taken on
the event loop (with a deadline that ends in 503 + Retry-After), and the work runs on a thread of
its own, so the holder never needs a thread that the waiters are sitting on. Readers use the loop's
own connection (with a 20 ms busy timeout and, for reads of unknown cost, a time budget) or the
worker pool, and in WAL mode never wait for the writer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from common import timing
from common.db import Database
from common.dberrors import StorageUnavailable, storage_errors
from common.sqlite import sqlite3
from domain.searchindex import LiveIndex
from api.writer import Writer, WriterConnection

__all__ = ["LoopBusy", "LoopOverBudget", "LoopReader", "Transactions", "Writer", "WriterConnection"]

T = TypeVar("T")


# A read on the event loop holds up every other request for as long as it runs; handing a read to a
# worker thread costs ~0.5 ms of CPU (thread switch, pooled connection). Reads up to this much CPU
# are cheaper on the loop, and short enough not to matter to the others' p99.
LOOP_BUDGET_S = 0.002
OVERRUNS_TO_THREAD = 3
HEAVY_FOR_S = 60.0  # a key with no expensive read for this long tries the loop again (the data may change)
OVERRUN_KEYS_MAX = 1024


class LoopBusy(Exception):
    """The event loop's connection met a lock: the read goes to a worker thread, which may wait."""


class LoopOverBudget(Exception):
    """A read on the loop's connection ran past its budget and was interrupted (it read, never wrote)."""


class LoopReader:
    """The cheapest reads (a primary-key read, a walk of one index for a page) on the event loop,
    over a plain sqlite3 connection only the loop uses. Handing such a read to a worker thread costs
    more CPU than the read itself; in WAL mode a reader never waits for a writer, and the short busy
    timeout below bounds the rare waits (recovery, a checkpoint's restart) before LoopBusy."""

    BUSY_TIMEOUT_MS = 20
    # SQLite VM steps between two looks at a budgeted read's clock: ~0.2-0.6 ms of SQL, so a read
    # overruns the budget by at most that, and a cheap page (~3,000 steps) never calls back into Python.
    CLOCK_EVERY = 10_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._raw: Any = None

    def run(self, fn: Callable[..., T], /, *, budget_s: float | None = None, **kwargs: Any) -> T:
        """`fn(conn, **kwargs)`, timed into the request's Server-Timing; storage failures are
        classified as for any read (503), a lock raises LoopBusy, and a read past `budget_s` of this
        thread's CPU time is interrupted (LoopOverBudget). CPU time, not wall time: a pause for the
        GIL or for a busy machine must not send a cheap read to a thread (more threads wanting the
        GIL would pause the next reads longer, and send them too)."""
        started = time.perf_counter()
        deadline = None if budget_s is None else time.thread_time() + budget_s
        conn: sqlite3.Connection | None = None
        try:
            with storage_errors(self.db.health.failed):
                conn = self._connection()
                if deadline is not None:
                    conn.set_progress_handler(lambda: time.thread_time() > deadline, self.CLOCK_EVERY)
                try:
                    return fn(self.db.observed(conn), **kwargs)
                except sqlite3.OperationalError as exc:
                    if deadline is not None and getattr(exc, "sqlite_errorname", "") == "SQLITE_INTERRUPT":
                        raise LoopOverBudget(f"{getattr(fn, '__name__', fn)} ran past {budget_s} s of CPU") from None
                    raise
        except StorageUnavailable as err:
            self.close()  # a fresh connection next time: this one may hold a broken file open
            if err.kind == "busy":
                raise LoopBusy(err.message) from err
            raise
        finally:
            if deadline is not None and conn is not None and self._raw is not None:
                conn.set_progress_handler(None, 0)
            timing.add_db_time(time.perf_counter() - started)

    def _connection(self) -> sqlite3.Connection:
        if self._raw is None:
            self._raw = self.db.engine.raw_connection()  # the pragmas are set and checked there
            self._raw.driver_connection.execute(f"PRAGMA busy_timeout = {self.BUSY_TIMEOUT_MS}")
        return self._raw.driver_connection

    def close(self) -> None:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            raw.invalidate()  # its busy timeout is ours: never hand it back to the pool


class Transactions:
    """The only way routes touch the database: `await tx.read(fn, ...)`, `await tx.write(fn, ...)`.

    `fn` is a domain function (domain/) taking the session first and keyword-only arguments.
    """

    def __init__(self, db: Database, *, write_wait_s: float) -> None:
        self.db, self.write_wait_s = db, write_wait_s
        self._writer: Writer | None = None
        self.search_index: LiveIndex | None = None  # set while the app runs with one (api/searching.py)
        self.loop = LoopReader(db)
        self._overran: dict[Hashable, tuple[int, float]] = {}  # read_budgeted: key -> overruns running, since
        self.writer_conn = WriterConnection(db)

    @property
    def writer(self) -> Writer:
        # Made on first use, inside the running event loop, and anew after close(): an app may be
        # served more than once (tests do), each time on a fresh loop.
        if self._writer is None:
            self._writer = Writer(wait_s=self.write_wait_s)
        return self._writer

    async def read(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        def work() -> T:
            with self.db.read_session() as session:
                return fn(session, **kwargs)

        return await run_in_threadpool(work)

    async def read_plain(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """`fn(conn, ...)` on a worker thread over a pooled plain sqlite3 connection: for reads that
        may cost too much for the event loop but need no session (a filtered page: bench, two-tag
        list 2.5 -> 1.6 ms CPU in-process)."""
        def work() -> T:
            with self.db.plain_read(fn.__name__) as conn:
                return fn(conn, **kwargs)

        return await run_in_threadpool(work)

    async def read_quick(self, plain: Callable[..., T], fallback: Callable[..., T], /, **kwargs: Any) -> T:
        """`plain(conn, ...)` on the event loop (LoopReader), or `fallback(session, ...)` on a worker
        thread when the loop's connection met a lock. Only for reads that are cheap by construction."""
        try:
            return self.loop.run(plain, **kwargs)
        except LoopBusy:
            return await self.read(fallback, **kwargs)

    async def read_budgeted(self, fn: Callable[..., T], /, *, key: Hashable, **kwargs: Any) -> T:
        """`fn(conn, ...)` on the event loop while it stays within LOOP_BUDGET_S of CPU, else on a
        worker thread (read_plain): for reads whose cost is not known in advance (a filtered page). A
        read that runs over is interrupted and run again on a thread. If it is cheap there, the overrun
        was a one-off (a first count, a cold page cache) and is forgotten; once reads of `key` were
        expensive OVERRUNS_TO_THREAD times running, they go to a thread at once, so an expensive filter
        does not waste its budget each time, until one is cheap there again or none came for
        HEAVY_FOR_S."""
        now = time.monotonic()
        times, since = self._overran.get(key, (0, now))
        if now - since > HEAVY_FOR_S:
            times = 0
        if times < OVERRUNS_TO_THREAD:
            try:
                result = self.loop.run(fn, budget_s=LOOP_BUDGET_S, **kwargs)
            except (LoopBusy, LoopOverBudget):
                pass
            else:
                self._overran.pop(key, None)
                return result
        spent = [0.0]

        @functools.wraps(fn)  # the slow-read log names the function
        def timed(conn: sqlite3.Connection, **kw: Any) -> T:
            started = time.thread_time()
            try:
                return fn(conn, **kw)
            finally:
                spent[0] = time.thread_time() - started

        result = await self.read_plain(timed, **kwargs)
        if spent[0] <= LOOP_BUDGET_S:
            self._overran.pop(key, None)
        else:
            if len(self._overran) >= OVERRUN_KEYS_MAX:
                self._overran.clear()
            self._overran[key] = (times + 1, now)
        return result

    async def write(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `fn` in a write transaction; returns only after the COMMIT returned."""

        def work() -> T:
            with self.db.write_session() as session:
                return fn(session, **kwargs)

        try:
            return await self.writer.run(work)
        finally:
            self._committed()

    async def write_plain(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """`write` for plain-SQL work: `fn(conn, ...)` on the writer's own sqlite3 connection."""
        try:
            return await self.writer.run(self.writer_conn.run, fn, **kwargs)
        finally:
            self._committed()

    async def run_writer(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `fn`, which opens its own write session(s) (an import), with the write turn held."""
        try:
            return await self.writer.run(fn, *args, **kwargs)
        finally:
            self._committed()

    def _committed(self) -> None:
        # Also after a failure: an import may have committed some of its batches. A poke costs an
        # Event.set; the index's thread finds out from search_log whether anything changed.
        if self.search_index is not None:
            self.search_index.poke()

    def close(self) -> None:
        self.loop.close()
        if self._writer is not None:
            self._writer.close()  # waits for the writer thread: nothing uses writer_conn after this
            self._writer = None
        self.writer_conn.close()



