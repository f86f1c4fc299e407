"""The API's minute chores: the search log is pruned and freed memory given back, while it serves."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from api import housekeeping, searching
from common import memory
from common.db import Database
from tests.api.bookmark_seed import seed_bookmarks
from tests.api.test_searching import log_rows, pages
from tests.conftest import Account


async def chores_until_pruned(tx, index, db: Database) -> int:  # type: ignore[no-untyped-def]
    task = asyncio.create_task(housekeeping.housekeeping(tx, index, every_s=0.01))
    try:
        for _ in range(500):  # up to ~5 s on a busy machine; usually the first round
            await asyncio.sleep(0.01)
            if await asyncio.to_thread(log_rows, db) == 1:
                break
        assert not task.done(), "the chores stopped"
    finally:
        task.cancel()
    return await asyncio.to_thread(log_rows, db)


def test_the_chores_prune_the_search_log_as_the_api_serves(client: TestClient, db: Database, alice: Account,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=40)
    assert pages(client, alice, "python")  # the index has applied the seeded rows
    monkeypatch.setattr(searching, "PRUNE_AFTER_ROWS", 10)
    tx = client.app.state.tx
    assert client.portal.call(chores_until_pruned, tx, tx.search_index, db) == 1
    assert pages(client, alice, "python")  # and search still answers from the same index


def test_the_allocator_takes_the_arena_cap() -> None:
    assert memory.cap_arenas(8)  # glibc's default on this machine's core count or more: harmless here
    memory.give_back_freed_memory()


class Traffic:
    """A request counter that goes up at each of the chores' looks until `busy_looks`, then stands still."""

    def __init__(self, busy_looks: int) -> None:
        self.busy_looks, self.looks = busy_looks, 0
        self.trimmed_at: list[int] = []

    def __call__(self) -> int:
        self.looks += 1
        return min(self.looks, self.busy_looks)

    def trim(self) -> None:
        self.trimmed_at.append(self.looks)
        memory.give_back_freed_memory()


async def watch(traffic: Traffic, *, looks: int) -> None:
    task = asyncio.create_task(housekeeping.housekeeping(None, None, requests=traffic,  # type: ignore[arg-type]
                                                         every_s=3600, quiet_s=0.001))
    try:
        while traffic.looks < looks and not task.done():
            await asyncio.sleep(0.005)
        assert not task.done(), "the chores stopped"
    finally:
        task.cancel()


def test_freed_memory_goes_back_once_a_burst_of_requests_is_over(monkeypatch: pytest.MonkeyPatch) -> None:
    traffic = Traffic(busy_looks=6)
    monkeypatch.setattr(housekeeping, "give_back_freed_memory", traffic.trim)
    asyncio.run(watch(traffic, looks=30))
    # Not while the count moved (looks 1-6), once at the first look that found it still, then never again.
    assert traffic.trimmed_at == [7]


def test_an_idle_api_does_not_trim_between_the_minute_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    traffic = Traffic(busy_looks=0)
    monkeypatch.setattr(housekeeping, "give_back_freed_memory", traffic.trim)
    asyncio.run(watch(traffic, looks=30))
    assert traffic.trimmed_at == []
