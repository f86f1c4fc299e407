"""Filtered pages are read over a plain sqlite3 connection, on the event loop within a budget or on a
worker thread (api/transactions.py's read_budgeted and read_plain, common/db.py's plain_read): the
same rows and cursors as a session's read, the statements still seen by the query counters, timed
into the request and named when slow."""

from __future__ import annotations

import contextvars
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from common import timing
from domain import listing
from common.db import Database, open_database
from common.settings import load_settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account, QueryCounter

FILTERS = [
    {"tag": ["tag1"]},
    {"tag": ["tag1", "tag2"]},
    {"any_tag": ["tag3", "tag5"], "sort": "title"},
    {"unread": True, "sort": "oldest"},
    {"archived": False, "sort": "modified"},
    {"q": "garden -python", "sort": "newest"},
]


@pytest.mark.parametrize("options", FILTERS, ids=lambda o: ",".join(o))
def test_a_plain_read_answers_every_page_as_a_session_does(db: Database, alice: Account, options: dict) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=60)
    cursor, pages = None, 0
    while True:
        with db.read_session() as session:
            expected = listing.list_bookmarks(session, user_id=alice.user_id, limit=7, cursor=cursor, **options)
        with db.plain_read("test") as conn:
            got = listing.list_in(conn, user_id=alice.user_id, limit=7, cursor=cursor, **options)
        assert got == expected
        pages += 1
        cursor = got["next_cursor"]
        if cursor is None:
            break
    assert pages > 1  # walked past the first page, cursors included


def test_a_filtered_list_over_http_answers_and_its_plain_statements_are_counted(
        client: TestClient, db: Database, alice: Account, count_queries: QueryCounter) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=30)
    with count_queries:
        page = client.get("/api/v1/bookmarks", params={"tag": ["tag1", "tag2"], "limit": 5}, headers=alice.headers)
    assert page.status_code == 200 and len(page.json()["items"]) == 5
    assert all(set(b["tags"]) >= {"tag1", "tag2"} for b in page.json()["items"])
    pages = [s for s in count_queries.statements if "bookmarks" in s and "LIMIT" in s]
    assert len(pages) == 1, count_queries.statements  # the thread's plain statement is seen like the engine's


def test_a_slow_plain_read_is_logged_with_its_name_in_a_request_only(tmp_path: Path,
                                                                      warnings_logged: list[str]) -> None:
    database = open_database(load_settings(data_dir=tmp_path, slow_sql_ms=0.000001), create=True)

    def read(route: str | None) -> None:
        if route is not None:
            timing.start(route)
        with database.plain_read("list_in") as conn:
            conn.execute("SELECT 1").fetchall()

    try:
        contextvars.copy_context().run(read, "GET /api/v1/bookmarks")
        contextvars.copy_context().run(read, None)  # a CLI's read: no slow-SQL warning
    finally:
        database.dispose()
    slow = [m for m in warnings_logged if "slow SQL" in m]
    assert len(slow) == 1 and "route GET /api/v1/bookmarks" in slow[0] and "plain read list_in" in slow[0]
