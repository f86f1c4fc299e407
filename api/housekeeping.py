"""The API's chores, once a minute: prune the search index's change log, and give the memory a
burst of requests freed back to the system (glibc keeps it for reuse otherwise, and the API would
look tens of MB larger than it is)."""

from __future__ import annotations

import asyncio

import anyio.to_thread

from api.searching import prune_log
from api.transactions import Transactions
from common.memory import give_back_freed_memory
from domain.searchindex import LiveIndex

EVERY_S = 60.0


async def housekeeping(tx: Transactions, index: LiveIndex | None, *, every_s: float = EVERY_S) -> None:
    while True:
        await asyncio.sleep(every_s)
        if index is not None:
            await prune_log(tx, index)
        await anyio.to_thread.run_sync(give_back_freed_memory)
