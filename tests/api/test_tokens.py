"""The caller's own tokens through the API: create (optionally expiring), list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from fastapi.testclient import TestClient

from tests.conftest import Account


def test_a_token_created_through_the_api_authenticates(client: TestClient, alice: Account) -> None:
    created = client.post("/api/v1/tokens", json={"label": "phone"}, headers=alice.headers)
    assert created.status_code == 201
    token = created.json()["token"]
    listed = client.get("/api/v1/tokens", headers={"Authorization": f"Token {token}"})
    assert listed.status_code == 200
    assert {t["label"] for t in listed.json()} == {"test", "phone"}
    assert all("token" not in t for t in listed.json())


def test_a_revoked_token_answers_401(client: TestClient, alice: Account) -> None:
    token_id = client.get("/api/v1/tokens", headers=alice.headers).json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=alice.headers).status_code == 200
    response = client.get("/api/v1/tokens", headers=alice.headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_another_users_token_cannot_be_revoked(client: TestClient, alice: Account, bob: Account) -> None:
    bobs = client.get("/api/v1/tokens", headers=bob.headers).json()[0]["id"]
    response = client.delete(f"/api/v1/tokens/{bobs}", headers=alice.headers)
    assert response.status_code == 404
    assert client.get("/api/v1/tokens", headers=bob.headers).status_code == 200


def test_missing_and_malformed_headers_answer_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}, {"Authorization": "Bearer a b"}):
        response = client.get("/api/v1/tokens", headers=headers)
        assert response.status_code == 401, headers


def test_a_token_in_the_query_string_is_ignored(client: TestClient, alice: Account) -> None:
    assert client.get(f"/api/v1/tokens?token={alice.token}").status_code == 401


def test_repeated_failures_from_one_client_answer_429(client: TestClient, alice: Account, settings) -> None:
    for _ in range(settings.auth_fail_limit):
        assert client.get("/api/v1/tokens", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    blocked = client.get("/api/v1/tokens", headers={"Authorization": "Bearer wrong-token"})
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_requests"


def test_a_token_with_an_expiry_works_until_then_and_answers_401_after(client: TestClient, alice: Account) -> None:
    expires = datetime.now(UTC) + timedelta(hours=1)
    created = client.post("/api/v1/tokens", json={"label": "trial", "expires": expires.isoformat()},
                          headers=alice.headers)
    assert created.status_code == 201
    assert datetime.fromisoformat(created.json()["expires"]) == expires
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    listed = client.get("/api/v1/tokens", headers=headers).json()
    assert {t["label"]: t["expires"] for t in listed} == {"test": None, "trial": created.json()["expires"]}
    with time_machine.travel(expires + timedelta(seconds=1)):
        for path in ("/api/v1/tokens", "/api/v1/bookmarks"):  # a FastAPI route and a hot read
            refused = client.get(path, headers=headers)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        assert client.get("/api/v1/tokens", headers=alice.headers).status_code == 200  # no expiry: still fine


def test_an_expiry_may_be_given_in_unix_seconds(client: TestClient, alice: Account) -> None:
    at = int(datetime.now(UTC).timestamp()) + 3600
    created = client.post("/api/v1/tokens", json={"label": "unix", "expires": at}, headers=alice.headers)
    assert created.status_code == 201
    assert datetime.fromisoformat(created.json()["expires"]).timestamp() == at


@pytest.mark.parametrize("expires", ["2001-01-01T00:00:00Z", 0])
def test_an_expiry_in_the_past_is_refused(client: TestClient, alice: Account, expires: object) -> None:
    response = client.post("/api/v1/tokens", json={"label": "late", "expires": expires}, headers=alice.headers)
    assert response.status_code == 400 and "in the future" in response.json()["error"]["message"]
    assert [t["label"] for t in client.get("/api/v1/tokens", headers=alice.headers).json()] == ["test"]


def test_tokens_answer_with_the_bookmarks_field_names(client: TestClient, alice: Account) -> None:
    [token] = client.get("/api/v1/tokens", headers=alice.headers).json()
    assert set(token) == {"id", "label", "created", "last_used", "expires", "revoked"}
