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
