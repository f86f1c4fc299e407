"""The API's chores: once a minute, prune the search index's change log; and give the memory a burst of
requests freed back to the system as soon as the burst is over (glibc keeps it for reuse otherwise,
and the API would look 10-15 MB larger than it is until the next minute's round)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import anyio.to_thread

from api.searching import prune_log
from api.transactions import Transactions
from common.memory import give_back_freed_memory
from domain.searchindex import LiveIndex

EVERY_S = 60.0
# A burst counts as over after this long without a request. Trimming while requests still come would
# only hand pages back that the next request faults in again.
QUIET_S = 2.0


async def housekeeping(tx: Transactions, index: LiveIndex | None, *, requests: Callable[[], int] = lambda: 0,
                       every_s: float = EVERY_S, quiet_s: float = QUIET_S) -> None:
    """`requests` counts the requests answered so far (the /metrics counter): when it has moved and
    then stood still for `quiet_s`, freed memory goes back at once, not at the next minute."""
    seen, busy = requests(), False
    next_round = time.monotonic() + every_s
    while True:
        await asyncio.sleep(min(quiet_s, every_s))
        count = requests()
        burst_over, busy, seen = busy and count == seen, count != seen, count
        if time.monotonic() >= next_round:
            next_round = time.monotonic() + every_s
            if index is not None:
                await prune_log(tx, index)
        elif not burst_over:
            continue
        await anyio.to_thread.run_sync(give_back_freed_memory)
