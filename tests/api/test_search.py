"""Full-text search over HTTP: ranking, the query language, and 400 (never 500) for nonsense."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account

API = "/api/v1/bookmarks"


def add(client: TestClient, owner: Account, slug: str, **fields: Any) -> int:
    response = client.post(API, json={"url": f"https://{slug}.example/", **fields}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def search(client: TestClient, owner: Account, q: str, **params: Any) -> list[int]:
    response = client.get("/api/v1/search", params={"q": q, **params}, headers=owner.headers)
    assert response.status_code == 200, response.text
    return [b["id"] for b in response.json()["items"]]


@pytest.fixture
def library(client: TestClient, alice: Account) -> dict[str, int]:
    return {
        "notes": add(client, alice, "n", title="misc", notes="a heron was seen"),
        "title": add(client, alice, "t", title="Heron watching"),
        "desc": add(client, alice, "d", title="birds", description="grey heron and egret"),
        "phrase": add(client, alice, "p", title="python tips", description="sqlite tricks", tags=["code"]),
        "reverse": add(client, alice, "r", title="sqlite python", tags=["code", "db"]),
        "prefix": add(client, alice, "x", title="pythonic idioms"),
    }


def test_title_matches_rank_above_description_and_notes(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    assert search(client, alice, "heron") == [library["title"], library["desc"], library["notes"]]


def test_words_are_anded(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    assert set(search(client, alice, "python sqlite")) == {library["phrase"], library["reverse"]}
    assert search(client, alice, "python heron") == []


def test_a_phrase_matches_words_in_order(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    assert search(client, alice, '"sqlite python"') == [library["reverse"]]


def test_a_minus_excludes(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    assert search(client, alice, "heron -egret -misc") == [library["title"]]
    assert search(client, alice, 'python -"python tips"') == [library["reverse"]]


def test_a_hash_filters_by_tag(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    assert search(client, alice, "python #db") == [library["reverse"]]
    assert set(search(client, alice, "#code")) == {library["phrase"], library["reverse"]}
    assert search(client, alice, "#code -tips") == [library["reverse"]]


def test_a_trailing_star_matches_a_prefix(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    assert library["prefix"] not in search(client, alice, "python")
    assert library["prefix"] in search(client, alice, "pyth*")
    assert search(client, alice, '"python ti"*') == [library["phrase"]]


def test_the_list_and_search_share_one_code_path(client: TestClient, alice: Account, library: dict[str, int]) -> None:
    listed = client.get(API, params={"q": "heron", "sort": "relevance"}, headers=alice.headers).json()["items"]
    assert [b["id"] for b in listed] == search(client, alice, "heron")
    assert search(client, alice, "heron", sort="oldest") == [library["notes"], library["title"], library["desc"]]


def test_relevance_pages_visit_every_match_once(client: TestClient, alice: Account) -> None:
    ids = {add(client, alice, f"k{i}", title="kiwi " * (i % 4 + 1), notes="kiwi") for i in range(11)}
    seen, cursor = [], None
    while True:
        params = {"q": "kiwi", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/search", params=params, headers=alice.headers).json()
        seen += [b["id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)


def test_search_follows_edits_and_deletes(client: TestClient, alice: Account) -> None:
    bookmark = add(client, alice, "e", title="original words")
    client.patch(f"{API}/{bookmark}", json={"title": "replacement"}, headers=alice.headers)
    assert search(client, alice, "original") == []
    assert search(client, alice, "replacement") == [bookmark]
    client.delete(f"{API}/{bookmark}", headers=alice.headers)
    assert search(client, alice, "replacement") == []


def test_diacritics_and_case_are_ignored(client: TestClient, alice: Account) -> None:
    bookmark = add(client, alice, "c", title="Café Crème")
    assert search(client, alice, "cafe CREME") == [bookmark]


@pytest.mark.parametrize("q", ['"unbalanced', "-only -exclusions", "...", "#", "***"])
def test_a_malformed_query_answers_400_with_a_message(client: TestClient, alice: Account, q: str) -> None:
    response = client.get("/api/v1/search", params={"q": q}, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_query"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize("q", ["title:heron", "NEAR(heron egret)", "heron OR python", "heron AND", "NOT heron",
                               "{title} : heron", "heron^", "(heron", "heron)", 'he"ron"', "-heron* egret"])
def test_fts_syntax_in_a_query_is_only_words(client: TestClient, alice: Account, library: dict[str, int], q: str) -> None:
    response = client.get("/api/v1/search", params={"q": q}, headers=alice.headers)
    assert response.status_code == 200, response.text


def test_fts_operators_typed_by_a_user_are_searched_as_words(client: TestClient, alice: Account) -> None:
    bookmark = add(client, alice, "o", title="heron or not")
    add(client, alice, "h", title="heron")
    assert search(client, alice, "heron OR") == [bookmark]
    assert search(client, alice, "title:heron") == []  # the words "title" and "heron" together


def test_search_needs_a_query(client: TestClient, alice: Account) -> None:
    assert client.get("/api/v1/search", headers=alice.headers).status_code == 422
    assert client.get("/api/v1/search", params={"q": "x" * 1001}, headers=alice.headers).status_code == 422
