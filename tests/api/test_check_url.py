"""`GET /api/v1/bookmarks/check?url=`: is this URL saved already, and as which bookmark."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.urls import normalize_url
from tests.conftest import Account

API = "/api/v1/bookmarks"
SAVED = "https://sqlite.org/fts5.html"


def check(client: TestClient, owner: Account, url: str) -> dict[str, object]:
    answer = client.get(f"{API}/check", params={"url": url}, headers=owner.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_unsaved_url_answers_not_saved(client: TestClient, alice: Account) -> None:
    assert check(client, alice, "https://example.org/new") == {"url": "https://example.org/new", "saved": False,
                                                               "id": None}


@pytest.mark.parametrize("written", [SAVED, "HTTPS://SQLite.org:443/fts5.html", " https://SQLITE.ORG/fts5.html "])
def test_any_form_of_a_saved_url_answers_its_id_as_a_create_would(client: TestClient, alice: Account,
                                                                  written: str) -> None:
    created = client.post(API, json={"url": SAVED}, headers=alice.headers).json()
    assert check(client, alice, written) == {"url": normalize_url(written), "saved": True, "id": created["id"]}
    conflict = client.post(API, json={"url": written}, headers=alice.headers)
    assert conflict.status_code == 409 and conflict.json()["error"]["details"]["id"] == created["id"]


@pytest.mark.parametrize("other", ["https://sqlite.org/FTS5.html", "https://sqlite.org/fts5.html?x=1",
                                   "http://sqlite.org/fts5.html"])
def test_a_url_that_normalises_differently_is_not_saved(client: TestClient, alice: Account, other: str) -> None:
    client.post(API, json={"url": SAVED}, headers=alice.headers)
    answer = check(client, alice, other)
    assert answer["saved"] is (normalize_url(other) == SAVED)
    assert client.post(API, json={"url": other}, headers=alice.headers).status_code == (409 if answer["saved"] else 201)


def test_another_users_bookmark_is_not_yours(client: TestClient, alice: Account, bob: Account) -> None:
    client.post(API, json={"url": SAVED}, headers=alice.headers)
    assert check(client, bob, SAVED)["saved"] is False


def test_a_deleted_bookmark_is_no_longer_saved(client: TestClient, alice: Account) -> None:
    created = client.post(API, json={"url": SAVED}, headers=alice.headers).json()
    client.delete(f"{API}/{created['id']}", headers=alice.headers)
    assert check(client, alice, SAVED)["saved"] is False


@pytest.mark.parametrize(("query", "status", "code"), [
    ({"url": "javascript:alert(1)"}, 400, "invalid_url"),
    ({"url": "not a url"}, 400, "invalid_url"),
    ({}, 422, "validation_error"),
    ({"url": ""}, 422, "validation_error"),
])
def test_a_missing_or_unusable_url_answers_in_the_error_shape(client: TestClient, alice: Account,
                                                              query: dict[str, str], status: int, code: str) -> None:
    answer = client.get(f"{API}/check", params=query, headers=alice.headers)
    assert answer.status_code == status and answer.json()["error"]["code"] == code


def test_check_needs_a_token(client: TestClient) -> None:
    assert client.get(f"{API}/check", params={"url": SAVED}).status_code == 401


def test_check_is_in_the_openapi_document(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][f"{API}/check"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["url"]
    assert {"400", "401", "422"} <= set(operation["responses"])
