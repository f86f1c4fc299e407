"""The derived search index while the API runs: opened before READY, poked after every commit,
its change log pruned now and then through the write turn.

SQLite stays the only source of truth. If the index cannot be opened or built, the API still
serves: every search then goes to SQLite's FTS5, as with KURA_SEARCH_INDEX=false.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
from loguru import logger
from sqlalchemy.orm import Session

from api.transactions import Transactions
from common import timing
from common.sqlite import sqlite3
from domain.bookmark_rows import Shape, to_dicts
from common.dberrors import storage_errors
from common.errors import KuraError
from common.memory import give_back_freed_memory
from domain.searchindex import PRUNE_SQL, IndexBusy, IndexUnusable, LiveIndex
from domain.searchindex.live import CATCH_UP_WAIT_S, IndexBehind
from domain.searchindex.page import ranked_page
from common.settings import Settings

PRUNE_AFTER_ROWS = 10_000  # the log costs ~20 bytes a row: prune in batches, not on every write
LOG_TAIL_SQL = "SELECT min(seq) FROM search_log"
CATCH_UP_POLL_S = 0.005


def index_dir(settings: Settings) -> Path:
    return settings.search_index_path


async def open_index(settings: Settings, tx: Transactions) -> LiveIndex | None:
    """Check, catch up or rebuild the index (seconds per 100k bookmarks) and start its thread."""
    if not settings.search_index:
        return None
    index = LiveIndex(tx.db.path, index_dir(settings))
    try:
        await anyio.to_thread.run_sync(index.start)
    except (IndexBusy, IndexUnusable, OSError, sqlite3.Error, ValueError) as exc:
        logger.error("search index unavailable ({}); searching with SQLite FTS5 instead", exc)
        return None
    finally:
        give_back_freed_memory()  # a rebuild's 64 MB writer heap, which glibc would otherwise keep
    tx.search_index = index
    return index


def close_index(tx: Transactions, index: LiveIndex | None) -> None:
    tx.search_index = None
    if index is not None:
        index.stop()


async def search_page(tx: Transactions, *, user_id: int, q: str, limit: int,
                      cursor: str | None, shape: Shape = to_dicts) -> dict[str, Any] | None:
    """A relevance search (`q` alone) ranked by the index, on one of its search threads; None when
    there is no index or it cannot answer this one (see ranked_page): SQLite's FTS5 then does."""
    index = tx.search_index
    if index is None:
        return None
    db = tx.db

    def work() -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            with storage_errors(db.health.failed):  # as any read: a 503 that readiness hears about
                return ranked_page(index, db.observed(index.reader()), user_id=user_id, q=q, limit=limit,
                                   cursor=cursor, shape=shape)
        finally:
            timing.add_db_time(time.perf_counter() - started)

    deadline = time.monotonic() + CATCH_UP_WAIT_S
    while True:
        try:
            return await asyncio.wrap_future(index.submit(work))
        except IndexBehind as behind:
            # The write this search must find is not in the index yet. Waiting here, not on the
            # search thread, lets the searches queued behind this one go on meanwhile.
            if not await _index_moved(index, behind.mark, deadline):
                return None  # a large backlog (an import, a busy machine): FTS5 answers this one


async def _index_moved(index: LiveIndex, mark: int, deadline: float) -> bool:
    """Whether a sync pass moved the index's watermark from `mark` before the deadline. Polled: a
    pass takes tens of milliseconds (a tantivy commit), and a poll costs no thread."""
    while index.watermark.seq == mark:
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(CATCH_UP_POLL_S)
    return True


def _log_tail(session: Session) -> int:
    return session.connection().exec_driver_sql(LOG_TAIL_SQL).scalar_one() or 0


def _prune(session: Session, *, below: int) -> None:
    session.connection().exec_driver_sql(PRUNE_SQL, (below,))


async def prune_log(tx: Transactions, index: LiveIndex) -> bool:
    """Drop the log's rows the index has applied, keeping the one at its watermark (how the index
    recognises this database); True when it pruned."""
    mark = index.watermark.seq
    try:
        if mark - await tx.read(_log_tail) < PRUNE_AFTER_ROWS:
            return False
        await tx.write(_prune, below=mark)
    except KuraError as exc:  # busy, or storage trouble that readiness reports: the next round retries
        logger.info("search log not pruned this time: {}", exc)
        return False
    return True
