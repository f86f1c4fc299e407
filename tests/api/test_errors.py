"""One error body for every failure: {"error": {"code", "message", "details"}}, checked on real routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account

Call = Callable[[TestClient, Account], Any]


def _duplicate(client: TestClient, alice: Account) -> Any:
    client.post("/api/v1/bookmarks", json={"url": "https://dup.example/"}, headers=alice.headers)
    return client.post("/api/v1/bookmarks", json={"url": "https://dup.example/"}, headers=alice.headers)


def _hammered(client: TestClient, alice: Account) -> Any:
    for _ in range(client.app.state.settings.auth_fail_limit):  # type: ignore[attr-defined]
        client.get("/api/v1/bookmarks", headers={"Authorization": "Bearer wrong"})
    return client.get("/api/v1/bookmarks", headers={"Authorization": "Bearer wrong"})


CASES: dict[int, tuple[str, Call]] = {
    400: ("bad_query", lambda c, a: c.get("/api/v1/search", params={"q": '"open'}, headers=a.headers)),
    401: ("unauthorized", lambda c, a: c.get("/api/v1/bookmarks")),
    404: ("not_found", lambda c, a: c.get("/api/v1/bookmarks/424242", headers=a.headers)),
    409: ("conflict", _duplicate),
    422: ("validation_error", lambda c, a: c.post("/api/v1/collections", json={"name": "x", "bogus": 1}, headers=a.headers)),
    429: ("too_many_requests", _hammered),
}


@pytest.mark.parametrize("status", sorted(CASES))
def test_every_error_status_has_the_one_body_shape(client: TestClient, alice: Account, status: int) -> None:
    code, call = CASES[status]
    response = call(client, alice)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"].strip()


def test_a_bad_cursor_is_a_400_in_the_same_shape(client: TestClient, alice: Account) -> None:
    body = client.get("/api/v1/bookmarks", params={"cursor": "nonsense"}, headers=alice.headers).json()
    assert body["error"]["code"] == "bad_cursor" and body["error"]["details"] is None


def test_validation_errors_name_the_field_in_the_message_and_details(client: TestClient, alice: Account) -> None:
    body = client.post("/api/v1/bookmarks", json={"url": "https://e.example/", "unread": "perhaps"},
                       headers=alice.headers).json()["error"]
    assert body["message"].startswith("unread:")
    assert body["details"][0]["loc"] == ["body", "unread"]
