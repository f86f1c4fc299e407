"""Authentication: Bearer and Token schemes, never the query string, and a bound on failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import FailureLimiter, TooManyFailures, bearer_token
from domain import accounts
from common.db import Database
from common.settings import Settings, load_settings
from tests.conftest import Account


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", auth_fail_limit=3, auth_fail_window_s=60)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Token", "TOKEN"])
def test_both_schemes_are_accepted_in_any_case(client: TestClient, alice: Account, scheme: str) -> None:
    response = client.get("/api/v1/tokens", headers={"Authorization": f"{scheme} {alice.token}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearertoken", "Digest x"],
)
def test_malformed_headers_answer_401_in_the_standard_shape(client: TestClient, header: str) -> None:
    response = client.get("/api/v1/tokens", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "Authorization: Bearer" in error["message"]


def test_the_query_string_and_cookies_are_never_read(client: TestClient, alice: Account) -> None:
    for params in ({"token": alice.token}, {"access_token": alice.token}):  # 2 of the 3 failures allowed
        assert client.get("/api/v1/tokens", params=params).status_code == 401
    client.cookies.set("token", alice.token)
    assert client.get("/api/v1/tokens").status_code == 401


def test_a_token_that_differs_only_in_its_last_character_fails(client: TestClient, alice: Account) -> None:
    near = alice.token[:-1] + ("A" if alice.token[-1] != "A" else "B")
    assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {near}"}).status_code == 401


def test_only_the_hash_of_a_token_is_stored(db: Database, alice: Account) -> None:
    with db.read_session() as session:
        [row] = accounts.list_tokens(session, user_id=alice.user_id)
    assert row.token_hash == accounts.hash_token(alice.token) and alice.token not in row.token_hash


def test_failures_beyond_the_limit_answer_429_with_retry_after(client: TestClient) -> None:
    for _ in range(3):
        refused = client.get("/api/v1/tokens", headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    blocked = client.get("/api/v1/tokens", headers={"Authorization": "Bearer wrong"})
    assert blocked.status_code == 429
    error = blocked.json()["error"]
    assert error["code"] == "too_many_requests" and 0 < error["details"]["retry_after"] <= 61
    assert blocked.headers["retry-after"] == str(error["details"]["retry_after"])


def test_a_valid_token_is_never_refused_by_the_limiter(client: TestClient, alice: Account) -> None:
    for _ in range(5):
        client.get("/api/v1/tokens", headers={"Authorization": "Bearer wrong"})
    assert client.get("/api/v1/bookmarks", headers={"Authorization": "Bearer wrong"}).status_code == 429
    assert client.get("/api/v1/tokens", headers=alice.headers).status_code == 200
    assert client.get("/api/v1/bookmarks", headers=alice.headers).status_code == 200  # the hot path too


def test_failures_are_logged_as_warnings_with_the_address_and_never_the_token(
    client: TestClient, alice: Account, warnings_logged: list[str]
) -> None:
    secret = alice.token[:-1] + ("A" if alice.token[-1] != "A" else "B")
    for _ in range(4):
        client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert [line.split(" from ")[1].split(" ")[0] for line in warnings_logged] == ["testclient"] * 4
    assert sum("(429" in line for line in warnings_logged) == 1
    assert not any(secret in line or alice.token in line for line in warnings_logged)


def test_successes_do_not_count_towards_the_limit(client: TestClient, alice: Account) -> None:
    for _ in range(10):
        assert client.get("/api/v1/tokens", headers=alice.headers).status_code == 200


def test_the_limiter_counts_per_client_and_forgets_after_its_window() -> None:
    limiter = FailureLimiter(limit=2, window_s=0.2)
    limiter.fail("10.0.0.1")
    limiter.fail("10.0.0.1")
    with pytest.raises(TooManyFailures):
        limiter.check("10.0.0.1")
    limiter.check("10.0.0.2")  # another client is unaffected
    time.sleep(0.25)
    limiter.check("10.0.0.1")


def test_last_used_is_recorded_without_a_write_on_every_request(
    client: TestClient, alice: Account, db: Database, count_queries: Callable[..., object]
) -> None:
    assert client.get("/api/v1/tokens", headers=alice.headers).json()[0]["last_used"] is not None
    with count_queries:  # type: ignore[attr-defined]
        client.get("/api/v1/tokens", headers=alice.headers)
    writes = [s for s in count_queries.statements if s.lstrip().upper().startswith("UPDATE")]  # type: ignore[attr-defined]
    assert writes == []


@pytest.mark.parametrize(("header", "expected"), [
    ("Bearer abc", "abc"), ("token  abc ", "abc"), ("Bearer a b", None), ("Basic abc", None), (None, None),
])
def test_bearer_token_parsing(header: str | None, expected: str | None) -> None:
    class FakeRequest:  # only the headers mapping is read
        headers = {"authorization": header} if header is not None else {}

    assert bearer_token(FakeRequest()) == expected  # type: ignore[arg-type]


def test_a_token_revoked_elsewhere_fails_on_the_very_next_request(app, db, alice) -> None:  # type: ignore[no-untyped-def]
    # The lookup runs on a connection the event loop keeps; it must not read from an old snapshot.
    with TestClient(app) as client:
        assert client.get("/api/v1/tokens", headers=alice.headers).status_code == 200
        with db.write_session() as session:
            token_id = accounts.list_tokens(session, user_id=alice.user_id)[0].id
            accounts.revoke_token(session, token_id=token_id)
        assert client.get("/api/v1/tokens", headers=alice.headers).status_code == 401


def test_the_lookup_connection_is_closed_when_the_app_stops(app, alice) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as client:
        assert client.get("/api/v1/tokens", headers=alice.headers).status_code == 200
        conn = app.state.tx.loop._raw  # the lookup ran on the event loop's own connection
        assert conn is not None and conn.driver_connection is not None
    assert conn.driver_connection is None and app.state.tx.loop._raw is None
