"""Readiness and liveness, checked through the very paths that requests take.

`/readyz` means "can serve reads and writes now": a worker thread opens the file afresh and checks the
schema (as every read would need), and a write commits through the write turn. While other writes hold
the turn, their outcome stands in for the probe, so readiness answers at once under load.
The watchdog asks less: that a worker thread and the write turn both come free within a deadline,
so a wedged pool, writer thread or event loop stops the pings and systemd restarts the unit, while
a full disk (which a restart cannot cure) is left to readiness and the monitor's alert.
"""

from __future__ import annotations

import asyncio
import threading
import time

from loguru import logger
from sqlalchemy.dialects.sqlite import insert
from starlette.concurrency import run_in_threadpool

from api.transactions import Transactions
from common.sqlite import sqlite3
from domain import migrate
from common.db import Database
from common.dberrors import StorageUnavailable, WriteBusy
from domain.models import HealthProbe, utcnow

# For the read side: a worker thread that cannot read by then is not ready. Generous, because a false
# "not ready" on a busy machine pages the admin; a healthy check takes milliseconds.
READY_DEADLINE_S = 2.0
TURN_WAIT_S = 0.2  # the write probe waits this long for a free turn, then lets the writers' outcome speak
COMMIT_DEADLINE_S = 2.0  # a probe commit slower than this (a lock held elsewhere) is not ready
STALL_S = 300.0  # one write holding the turn longer than this (an import included) counts as wedged


class NotReady(Exception):
    """Why the API cannot serve reads and writes right now (one line)."""


def _read_side(db: Database) -> str:
    if db.replaced():
        raise NotReady(f"database {db.path} was removed or replaced while the API ran: restart kura-api")
    if not db.ping():
        raise NotReady(f"database {db.path} is not reachable (missing, replaced or unreadable)")
    try:
        revision = migrate.ensure_at_head(db)
    except migrate.SchemaNotAtHead as exc:
        raise NotReady(str(exc)) from None
    if db.health.damaged is not None:
        _recheck_damage(db)
    return revision


def _recheck_damage(db: Database) -> None:
    """A query met a damaged page earlier; only a passing integrity check clears that."""
    conn = sqlite3.connect(f"{db.path.resolve().as_uri()}?mode=ro", uri=True, timeout=db.ping_timeout_s)
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.Error as exc:
        verdict = str(exc)
    finally:
        conn.close()
    if verdict != "ok":
        raise NotReady(f"{db.health.damaged} (quick_check: {verdict})")
    logger.info("database {} passes quick_check again", db.path)
    db.health.damaged = None


def _probe_commit(db: Database) -> None:
    now = utcnow()
    with db.write_session() as session:
        stmt = insert(HealthProbe).values(id=1, written_at=now)
        session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"written_at": now}))


async def readiness(tx: Transactions) -> str:
    """The schema revision when reads and writes work now; else NotReady with the reason."""
    try:
        revision = await asyncio.wait_for(run_in_threadpool(_read_side, tx.db), READY_DEADLINE_S)
    except TimeoutError:
        raise NotReady(f"no worker thread could read the database within {READY_DEADLINE_S:g} s") from None
    if not tx.writer.locked():  # while other writes hold the turn, their outcome is the answer
        await _write_side(tx)
    failure = tx.db.health.failure
    if failure is not None:
        raise NotReady(f"writes fail: {failure.message}")
    return revision


async def _write_side(tx: Transactions) -> None:
    started = threading.Event()

    def probe() -> None:
        started.set()
        _probe_commit(tx.db)

    try:
        await asyncio.wait_for(tx.writer.run(probe, wait_s=TURN_WAIT_S), TURN_WAIT_S + COMMIT_DEADLINE_S)
    except WriteBusy:
        return  # another write took the turn first
    except TimeoutError:
        if started.is_set():
            raise NotReady(f"a write could not commit within {COMMIT_DEADLINE_S:g} s "
                           "(another process may hold the write lock)") from None
    except StorageUnavailable as exc:
        raise NotReady(f"writes fail: {exc.message}") from None


async def liveness(tx: Transactions, *, deadline: float, stall_s: float = STALL_S) -> str | None:
    """None when the request paths move; else what is wedged."""
    try:
        await asyncio.wait_for(run_in_threadpool(lambda: None), deadline)
    except TimeoutError:
        return f"no worker thread came free within {deadline:g} s"
    try:
        await tx.writer.run(lambda: None, wait_s=deadline)
    except WriteBusy:
        since = tx.writer.busy_since
        if since is not None and time.monotonic() - since > stall_s:
            return f"one write has held the write turn for {time.monotonic() - since:.0f} s"
    if tx.db.replaced():
        return f"database {tx.db.path} was removed or replaced: a restart opens the file now at that path"
    if not await run_in_threadpool(tx.db.ping):
        return f"database {tx.db.path} does not answer (missing or unreadable)"
    return None
