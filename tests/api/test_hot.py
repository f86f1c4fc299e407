"""The hot reads (api/hot.py) answer exactly what the FastAPI routes answer, byte for byte, and leave
everything that is not in order to those routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.hot import Template
from common.db import Database
from common.settings import Settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/bookmarks", {}),
    ("/api/v1/bookmarks", {"limit": 7, "sort": "title"}),
    ("/api/v1/bookmarks", {"tag": ["tag1", "tag2"], "unread": "true"}),
    ("/api/v1/bookmarks", {"any_tag": ["tag1", "tag3"], "sort": "oldest", "added_since": "2000-01-01T00:00:00Z"}),
    ("/api/v1/bookmarks", {"q": "python", "sort": "relevance"}),
    ("/api/v1/search", {"q": 'pyth* -rust'}),
    ("/api/v1/search", {"q": "#tag1"}),
    ("/api/v1/bookmarks/3", {}),
    ("/api/v1/bookmarks/999999", {}),  # 404
    ("/api/v1/bookmarks", {"cursor": "not-ours"}),  # 400 bad_cursor
    ("/api/v1/bookmarks", {"limit": 0}),  # 422, from FastAPI
    ("/api/v1/bookmarks", {"colour": "red"}),  # an unknown parameter: 422, from FastAPI
    ("/api/v1/bookmarks", {"sort": ["title", "oldest"]}),  # a repeated one
    ("/api/v1/bookmarks", {"tag": ["tag 1", "tag1"], "q": ""}),  # percent-encoded, and a blank value
    ("/api/v1/search", {"q": "a+b & c=d;e"}),  # characters the query string's own syntax uses
    ("/api/v1/search", {}),  # q is required
    ("/api/v1/bookmarks/0", {}),
]


@pytest.fixture
def both(settings: Settings, db: Database, alice: Account) -> Iterator[tuple[TestClient, TestClient, list[Any]]]:
    seed_bookmarks(db, user_id=alice.user_id, count=40)
    routes: list[Any] = []
    hot = create_app(settings, db)

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        await hot(scope, receive, send)
        routes.append(scope.get("route"))

    with TestClient(spy) as fast, TestClient(create_app(settings, db, hot_reads=False)) as plain:
        yield fast, plain, routes


@pytest.mark.parametrize(("path", "params"), REQUESTS, ids=lambda v: str(v))
def test_the_hot_reads_answer_the_same_bytes_as_the_routes(both, alice: Account, path: str,  # type: ignore[no-untyped-def]
                                                           params: dict[str, Any]) -> None:
    fast, plain, _ = both
    got = fast.get(path, params=params, headers=alice.headers)
    want = plain.get(path, params=params, headers=alice.headers)
    assert (got.status_code, got.content) == (want.status_code, want.content)
    assert got.headers.get("etag") == want.headers.get("etag")


def test_valid_reads_take_the_hot_path_and_the_rest_the_routes(both, alice: Account) -> None:  # type: ignore[no-untyped-def]
    fast, _, routes = both
    assert fast.get("/api/v1/bookmarks", params={"limit": 5}, headers=alice.headers).status_code == 200
    assert fast.get("/api/v1/bookmarks/1", headers=alice.headers).status_code == 200
    assert routes == [Template("/api/v1/bookmarks"), Template("/api/v1/bookmarks/{bookmark_id}")]
    routes.clear()
    assert fast.get("/api/v1/bookmarks", params={"limit": 0}, headers=alice.headers).status_code == 422
    assert fast.get("/api/v1/bookmarks").status_code == 401
    assert [type(route).__name__ for route in routes] == ["APIRoute", "APIRoute"]


def test_a_failed_login_on_a_hot_path_is_counted_once(settings: Settings, db: Database) -> None:
    limited = settings.model_copy(update={"auth_fail_limit": 2})
    with TestClient(create_app(limited, db)) as client:
        bad = {"Authorization": "Bearer wrong"}
        assert [client.get("/api/v1/bookmarks", headers=bad).status_code for _ in range(3)] == [401, 401, 429]
