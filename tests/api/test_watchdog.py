"""The watchdog sees what users see: a wedged worker pool or write turn stops WATCHDOG=1 on a real
NOTIFY_SOCKET, and the pings resume when it clears; a lock held by another process is not a wedge."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio.to_thread

from api.server import watchdog_loop
from api.transactions import Transactions
from common.db import Database
from common.notify import Notifier
from common.sqlite import sqlite3
from tests.doubles import NotifySocket

INTERVAL = 0.2



async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def watch(db: Database, sock: NotifySocket,
          wedge: Callable[[Transactions, threading.Event], Coroutine[Any, Any, None]],
          errors: list[str], stall_s: float = 300.0) -> tuple[list[str], list[str], list[str]]:
    """Pings while healthy, while wedged (after the loop said so), and after the wedge clears."""
    tx, notifier, release = Transactions(db, write_wait_s=1.0), Notifier(), threading.Event()

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        read = lambda done, timeout: asyncio.to_thread(sock.lines_until, done, timeout)  # noqa: E731
        task = asyncio.create_task(watchdog_loop(tx, notifier, INTERVAL, stall_s=stall_s))
        healthy = await read(lambda m: m.count("WATCHDOG=1") >= 2, 10)
        errors.clear()
        wedged_task = asyncio.create_task(wedge(tx, release))
        await until(lambda: any("withholding watchdog pings" in line for line in errors))
        sock.drain()
        wedged = await read(lambda m: False, 3 * INTERVAL)
        release.set()
        await wedged_task
        recovered = await read(lambda m: "WATCHDOG=1" in m, 10)
        task.cancel()
        return healthy, wedged, recovered

    try:
        return asyncio.run(scenario())
    finally:
        release.set()
        tx.close()
        notifier.close()


def test_a_wedged_worker_pool_stops_the_watchdog_until_it_clears(
    db: Database, notify_socket: NotifySocket, errors: list[str]
) -> None:
    async def fill_the_pool(_tx: Transactions, release: threading.Event) -> None:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 2
        await asyncio.gather(*(anyio.to_thread.run_sync(release.wait) for _ in range(2)))

    healthy, wedged, recovered = watch(db, notify_socket, fill_the_pool, errors)
    assert healthy.count("WATCHDOG=1") >= 2
    assert wedged == []
    assert "WATCHDOG=1" in recovered
    assert any("no worker thread came free" in line for line in errors)


def test_a_wedged_writer_stops_the_watchdog_until_it_clears(
    db: Database, notify_socket: NotifySocket, errors: list[str]
) -> None:
    async def hold_the_write_turn(tx: Transactions, release: threading.Event) -> None:
        await tx.writer.run(release.wait)

    healthy, wedged, recovered = watch(db, notify_socket, hold_the_write_turn, errors, stall_s=0.5)
    assert healthy.count("WATCHDOG=1") >= 2
    assert wedged == []
    assert "WATCHDOG=1" in recovered
    assert any("held the write turn" in line for line in errors)


def test_another_process_holding_the_write_lock_is_not_a_wedge(
    db: Database, notify_socket: NotifySocket
) -> None:
    tx, notifier = Transactions(db, write_wait_s=1.0), Notifier()
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. `kura import` in another process: the API is busy, not hung

    async def scenario() -> list[str]:
        task = asyncio.create_task(watchdog_loop(tx, notifier, INTERVAL))
        pings = await asyncio.to_thread(notify_socket.lines_until, lambda m: m.count("WATCHDOG=1") >= 3, 10)
        task.cancel()
        return pings

    try:
        pings = asyncio.run(scenario())
    finally:
        other.execute("ROLLBACK")
        other.close()
        tx.close()
        notifier.close()
    assert pings.count("WATCHDOG=1") >= 3
