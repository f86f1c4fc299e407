"""The cheapest reads run on the event loop's own connection (api/transactions.py's LoopReader):
they answer what the worker-thread path answers, and a lock sends them to that path, never to a
503 and never to a long wait on the loop."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from fastapi.testclient import TestClient

from domain import listing
from common.db import Database
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account, QueryCounter

def meet_the_write_lock(conn: sqlite3.Connection, **_: object) -> str:
    """Stands for a read that meets a lock: on the loop's connection, asking for the write lock."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("ROLLBACK")
    return "event loop"


def on_a_worker(_session: object, **_: object) -> str:
    return "worker thread"


def test_the_loop_reads_answer_the_plain_list_and_one_bookmark(client: TestClient, db: Database, alice: Account,
                                                               count_queries: QueryCounter) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=12)
    with count_queries:
        page = client.get("/api/v1/bookmarks", params={"limit": 5, "sort": "title"}, headers=alice.headers)
        one = client.get(f"/api/v1/bookmarks/{page.json()['items'][0]['id']}", headers=alice.headers)
    assert page.status_code == one.status_code == 200
    assert one.json() == page.json()["items"][0]
    # The loop's statements are seen like the engine's (the counters and plan tests rely on it).
    assert sum("FROM bookmarks" in s for s in count_queries.statements) == 2, count_queries.statements


def test_a_lock_met_on_the_loop_sends_the_read_to_a_worker_thread(client: TestClient, db: Database) -> None:
    tx = client.app.state.tx
    assert client.portal.call(tx.read_quick, meet_the_write_lock, on_a_worker) == "event loop"
    with closing(sqlite3.connect(db.path, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # a writer holds the lock: the loop gives up after 20 ms
        assert client.portal.call(tx.read_quick, meet_the_write_lock, on_a_worker) == "worker thread"
        writer.execute("ROLLBACK")
    assert client.portal.call(tx.read_quick, meet_the_write_lock, on_a_worker) == "event loop"


def test_a_search_for_a_rare_word_is_ranked_by_fts5_and_a_common_one_by_the_index(
    client: TestClient, db: Database, alice: Account, count_queries: QueryCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=40)  # "python" in 5 titles and 5 descriptions
    client.get("/api/v1/search", params={"q": "garden"}, headers=alice.headers)  # the index catches up
    monkeypatch.setattr(listing, "FTS_MATCHES_MAX", 10)
    with count_queries:
        rare = client.get("/api/v1/search", params={"q": "python"}, headers=alice.headers)
    assert any("bookmarks_fts MATCH" in s for s in count_queries.statements), count_queries.statements
    monkeypatch.setattr(listing, "FTS_MATCHES_MAX", 9)
    with count_queries:
        common = client.get("/api/v1/search", params={"q": "python"}, headers=alice.headers)
    assert any("json_each" in s for s in count_queries.statements), count_queries.statements
    assert rare.json() == common.json() and len(rare.json()["items"]) == 10
