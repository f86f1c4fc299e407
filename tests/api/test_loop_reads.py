"""The cheapest reads run on the event loop's own connection (api/transactions.py's LoopReader):
they answer what the worker-thread path answers, and a lock sends them to that path, never to a
503 and never to a long wait on the loop. Reads whose cost is not known in advance (a filtered page)
run there within a budget: past it they are interrupted and answered on a worker thread."""

from __future__ import annotations

import threading
from contextlib import closing
from functools import partial

import pytest
from fastapi.testclient import TestClient

from api import transactions
from api.transactions import Transactions
from common.sqlite import sqlite3
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


# ~100 ms of SQL: far past any read's budget, and no table needed.
HEAVY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*) FROM c"


class Reads:
    """A read that reports where it ran (the loop's thread or another), heavy while `heavy` says so."""

    def __init__(self, loop_thread: int, *, heavy: list[bool]) -> None:
        self.loop_thread, self.heavy, self.ran_on = loop_thread, heavy, []

    def __call__(self, conn: sqlite3.Connection) -> int:
        self.ran_on.append("loop" if threading.get_ident() == self.loop_thread else "thread")
        heavy = self.heavy.pop(0) if len(self.heavy) > 1 else self.heavy[0]
        return int(conn.execute(HEAVY if heavy else "SELECT 42").fetchone()[0])


@pytest.fixture
def tx(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Transactions:
    monkeypatch.setattr(transactions, "LOOP_BUDGET_S", 0.02)
    return client.app.state.tx


def test_a_filtered_list_is_read_on_the_event_loop_while_it_stays_within_its_budget(
        client: TestClient, db: Database, alice: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=30)
    loop_thread = client.portal.call(threading.get_ident)
    ran_on: list[bool] = []
    real = listing.list_in

    def watched(conn: sqlite3.Connection, **options: object) -> dict:
        ran_on.append(threading.get_ident() == loop_thread)
        return real(conn, **options)

    monkeypatch.setattr(listing, "list_in", watched)
    for _ in range(3):
        page = client.get("/api/v1/bookmarks", params={"tag": ["tag1", "tag2"], "limit": 5}, headers=alice.headers)
        assert page.status_code == 200 and len(page.json()["items"]) == 5
    # The first walk may run over (it counts the tags' links once); from then on it stays on the loop.
    assert ran_on[-2:] == [True, True], ran_on


def test_a_read_past_its_budget_is_interrupted_and_answered_on_a_worker_thread(client: TestClient, tx: Transactions) -> None:
    reads = Reads(client.portal.call(threading.get_ident), heavy=[True])
    assert client.portal.call(partial(tx.read_budgeted, reads, key="heavy")) == 1_000_000
    assert reads.ran_on == ["loop", "thread"]


def test_a_read_heavy_wherever_it_runs_goes_straight_to_a_thread_after_a_few_overruns(
        client: TestClient, tx: Transactions, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = Reads(client.portal.call(threading.get_ident), heavy=[True])
    for _ in range(transactions.OVERRUNS_TO_THREAD + 1):
        client.portal.call(partial(tx.read_budgeted, reads, key="heavy"))
    assert reads.ran_on == ["loop", "thread"] * transactions.OVERRUNS_TO_THREAD + ["thread"]
    monkeypatch.setattr(transactions, "HEAVY_FOR_S", 0.0)  # as if none had come for a while: the loop again
    client.portal.call(partial(tx.read_budgeted, reads, key="heavy"))
    assert reads.ran_on[-2:] == ["loop", "thread"]


def test_overruns_of_a_read_that_is_cheap_on_a_thread_never_send_it_away_from_the_loop(
        client: TestClient, tx: Transactions) -> None:
    loop_thread = client.portal.call(threading.get_ident)
    slow_on_the_loop = transactions.OVERRUNS_TO_THREAD + 1  # a first count, a cold page cache, a busy core
    ran_on: list[str] = []

    def read(conn: sqlite3.Connection) -> int:
        ran_on.append("loop" if threading.get_ident() == loop_thread else "thread")
        heavy = ran_on[-1] == "loop" and ran_on.count("loop") <= slow_on_the_loop
        return int(conn.execute(HEAVY if heavy else "SELECT 42").fetchone()[0])

    for _ in range(slow_on_the_loop + 1):
        assert client.portal.call(partial(tx.read_budgeted, read, key="once")) == 42
    assert ran_on == ["loop", "thread"] * slow_on_the_loop + ["loop"]


def test_the_budget_ends_with_its_read_and_leaves_the_loop_connection_unbounded(
        client: TestClient, tx: Transactions) -> None:
    reads = Reads(client.portal.call(threading.get_ident), heavy=[False])
    assert client.portal.call(partial(tx.read_budgeted, reads, key="cheap")) == 42
    # A read cheap by construction has no budget: nothing interrupts it on the same connection.
    assert client.portal.call(lambda: tx.loop.run(lambda conn: conn.execute(HEAVY).fetchone()[0])) == 1_000_000
