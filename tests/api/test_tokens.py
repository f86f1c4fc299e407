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
