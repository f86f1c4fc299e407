"""A list page costs a constant number of SQL statements, whatever its size and its tags."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from common.db import Database
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account, QueryCounter

MAX_STATEMENTS = 2  # the token lookup (with the data version, for the ETag), the page (each row carries its tags)

LIST_QUERIES = [
    {},
    {"q": "python"},
    {"q": "python", "sort": "relevance"},
    {"tag": ["tag1", "tag2"], "sort": "title"},
    {"any_tag": ["tag1", "tag5"], "sort": "modified"},
    {"collection": "1", "unread": "true", "archived": "false"},
    {"added_since": "2000-01-01T00:00:00Z", "modified_since": "2000-01-01T00:00:00Z", "sort": "oldest"},
]


def _counted_get(client: TestClient, account: Account, counter: QueryCounter, path: str, **params: object):  # type: ignore[no-untyped-def]
    client.get("/api/v1/tokens", headers=account.headers)  # warm the token: its first use may write last_used_at
    with counter:
        response = client.get(path, params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("size", [10, 1000])
def test_a_full_list_page_costs_two_statements_at_any_size(
    client: TestClient, db: Database, alice: Account, count_queries: QueryCounter, size: int
) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=size, tags_per=6)
    response = _counted_get(client, alice, count_queries, "/api/v1/bookmarks", limit=200)
    items = response.json()["items"]
    assert len(items) == min(size, 200)
    assert all(len(item["tags"]) == 6 for item in items)
    assert count_queries.count <= MAX_STATEMENTS, count_queries.statements


@pytest.mark.parametrize("params", LIST_QUERIES, ids=lambda p: "&".join(sorted(p)) or "plain")
def test_every_filter_and_sort_costs_two_statements_at_1000_bookmarks(
    client: TestClient, db: Database, alice: Account, count_queries: QueryCounter, params: dict[str, object]
) -> None:
    seed_bookmarks(db, user_id=alice.user_id, count=1000, tags_per=4)
    first = _counted_get(client, alice, count_queries, "/api/v1/bookmarks", limit=20, **params).json()
    assert first["items"], params
    assert count_queries.count <= MAX_STATEMENTS, count_queries.statements
    if first["next_cursor"]:
        _counted_get(client, alice, count_queries, "/api/v1/bookmarks", limit=20, cursor=first["next_cursor"], **params)
        assert count_queries.count <= MAX_STATEMENTS, count_queries.statements


def test_reading_one_bookmark_costs_two_statements(
    client: TestClient, db: Database, alice: Account, count_queries: QueryCounter
) -> None:
    ids = seed_bookmarks(db, user_id=alice.user_id, count=10, tags_per=8)
    body = _counted_get(client, alice, count_queries, f"/api/v1/bookmarks/{ids[3]}").json()
    assert len(body["tags"]) == 8
    assert count_queries.count <= MAX_STATEMENTS, count_queries.statements


def test_an_empty_page_costs_the_same_two_statements(client: TestClient, alice: Account,
                                                       count_queries: QueryCounter) -> None:
    body = _counted_get(client, alice, count_queries, "/api/v1/bookmarks").json()
    assert body == {"items": [], "next_cursor": None}
    assert count_queries.count == MAX_STATEMENTS, count_queries.statements
