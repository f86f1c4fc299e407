"""Conditional GET on bookmark answers: a client holding the current answer gets 304 without a bookmark
being read, and any change to what the answer shows gives a new ETag (api/conditional.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from common.db import Database
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account, QueryCounter

READS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/bookmarks", {"limit": 5}),
    ("/api/v1/bookmarks", {"tag": "tag1", "sort": "title"}),
    ("/api/v1/search", {"q": "python"}),
    ("/api/v1/bookmarks/1", {}),
]


@pytest.fixture
def seeded(db: Database, alice: Account, bob: Account) -> Account:
    seed_bookmarks(db, user_id=alice.user_id, count=30)
    seed_bookmarks(db, user_id=bob.user_id, count=5)
    return alice


def etag_of(client: TestClient, owner: Account, path: str, params: dict[str, Any]) -> str:
    answer = client.get(path, params=params, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return answer.headers["etag"]


def asked_again(client: TestClient, owner: Account, path: str, params: dict[str, Any], etag: str) -> int:
    return client.get(path, params=params, headers={**owner.headers, "If-None-Match": etag}).status_code


@pytest.mark.parametrize(("path", "params"), READS, ids=lambda v: str(v))
def test_a_current_etag_answers_304_without_reading_a_bookmark(client: TestClient, seeded: Account,
                                                               count_queries: QueryCounter, path: str,
                                                               params: dict[str, Any]) -> None:
    etag = etag_of(client, seeded, path, params)
    with count_queries:
        again = client.get(path, params=params, headers={**seeded.headers, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert not [s for s in count_queries.statements if "bookmarks" in s], count_queries.statements


CHANGES = {
    "create": lambda c, h: c.post("/api/v1/bookmarks", json={"url": "https://new.example/"}, headers=h),
    "mark read": lambda c, h: c.patch("/api/v1/bookmarks/2", json={"unread": False}, headers=h),
    "delete": lambda c, h: c.delete("/api/v1/bookmarks/3", headers=h),
    "rename a tag": lambda c, h: c.patch(f"/api/v1/tags/{c.get('/api/v1/tags', headers=h).json()[0]['id']}",
                                         json={"name": "renamed"}, headers=h),
    "bulk tag": lambda c, h: c.post("/api/v1/bookmarks/bulk", json={"ids": [4], "action": "add_tags",
                                                                      "tags": ["more"]}, headers=h),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_by_the_owner_makes_every_answer_new(client: TestClient, seeded: Account, change: str) -> None:
    etags = [etag_of(client, seeded, path, params) for path, params in READS]
    assert CHANGES[change](client, seeded.headers).status_code in (200, 201)
    for (path, params), etag in zip(READS, etags):
        assert asked_again(client, seeded, path, params, etag) == 200, (change, path)


def test_another_users_change_keeps_the_answer_current(client: TestClient, seeded: Account, bob: Account) -> None:
    etags = [etag_of(client, seeded, path, params) for path, params in READS]
    assert CHANGES["create"](client, bob.headers).status_code == 201
    assert [asked_again(client, seeded, path, params, etag) for (path, params), etag in zip(READS, etags)] == \
        [304] * len(READS)


def test_each_question_and_each_user_has_its_own_etag(client: TestClient, seeded: Account, bob: Account) -> None:
    tags = {etag_of(client, seeded, path, params) for path, params in READS}
    tags.add(etag_of(client, seeded, "/api/v1/bookmarks", {"limit": 6}))
    tags.add(etag_of(client, bob, "/api/v1/bookmarks", {"limit": 5}))
    assert len(tags) == len(READS) + 2
    mine = etag_of(client, seeded, "/api/v1/bookmarks", {"limit": 5})
    assert asked_again(client, bob, "/api/v1/bookmarks", {"limit": 5}, mine) == 200
