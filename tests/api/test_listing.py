"""The bookmark list: every filter, every sort, and keyset pages that visit each bookmark once."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from common.db import Database
from domain.listing import encode_cursor
from common.settings import load_settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account

API = "/api/v1/bookmarks"


@pytest.fixture
def seeded(db: Database, alice: Account, bob: Account) -> Account:
    seed_bookmarks(db, user_id=bob.user_id, count=5)  # someone else's rows must never show up
    seed_bookmarks(db, user_id=alice.user_id, count=30, tags_per=2)
    return alice


def walk(client: TestClient, owner: Account, **params: Any) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        response = client.get(API, params={**params, **({"cursor": cursor} if cursor else {})}, headers=owner.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params.get("limit", 50)
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


SORT_KEYS = {
    "newest": (lambda b: (b["created"], b["id"]), True),
    "oldest": (lambda b: (b["created"], b["id"]), False),
    "modified": (lambda b: (b["modified"], b["id"]), True),
    "title": (lambda b: (b["title"].lower(), b["id"]), False),
}


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_pages_visit_every_bookmark_once_in_sort_order(client: TestClient, seeded: Account, sort: str) -> None:
    items = list(walk(client, seeded, sort=sort, limit=7))
    key, reverse = SORT_KEYS[sort]
    assert len(items) == 30
    assert items == sorted(items, key=key, reverse=reverse)


def test_the_default_order_is_newest_first(client: TestClient, seeded: Account) -> None:
    items = client.get(API, headers=seeded.headers).json()["items"]
    assert [b["id"] for b in items] == [b["id"] for b in walk(client, seeded, sort="newest", limit=4)]
    assert items[0]["created"] >= items[-1]["created"]


def test_titles_sort_ignoring_case(client: TestClient, alice: Account) -> None:
    for title in ("beta", "Alpha", "gamma", "Delta"):
        client.post(API, json={"url": f"https://e.com/{title}", "title": title}, headers=alice.headers)
    titles = [b["title"] for b in walk(client, alice, sort="title", limit=3)]
    assert titles == ["Alpha", "beta", "Delta", "gamma"]


def test_a_page_never_exceeds_the_configured_cap(db: Database, alice: Account, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seed_bookmarks(db, user_id=alice.user_id, count=12)
    app = create_app(load_settings(data_dir=tmp_path / "data", list_limit_max=5), db)
    with TestClient(app) as capped:
        page = capped.get(API, params={"limit": 1000}, headers=alice.headers).json()
    assert len(page["items"]) == 5 and page["next_cursor"]


def _ids(client: TestClient, owner: Account, **params: Any) -> list[int]:
    return [b["id"] for b in walk(client, owner, limit=100, **params)]


def test_filters_select_exactly_the_matching_bookmarks(client: TestClient, seeded: Account) -> None:
    every = list(walk(client, seeded, limit=100))
    by_tag = lambda *names: {b["id"] for b in every if set(names) <= {t for t in b["tags"]}}  # noqa: E731
    assert set(_ids(client, seeded, tag=["tag1", "tag2"])) == by_tag("tag1", "tag2") != set()
    assert set(_ids(client, seeded, any_tag=["tag1", "tag5"])) == by_tag("tag1") | by_tag("tag5")
    assert set(_ids(client, seeded, unread="true")) == {b["id"] for b in every if b["unread"]}
    assert set(_ids(client, seeded, archived="false")) == {b["id"] for b in every if not b["archived"]}
    collection = every[0]["collection"] or every[3]["collection"]
    assert set(_ids(client, seeded, collection=collection)) == {b["id"] for b in every if b["collection"] == collection}
    cut = sorted(b["created"] for b in every)[20]
    assert set(_ids(client, seeded, added_since=cut)) == {b["id"] for b in every if b["created"] >= cut}
    cut = sorted(b["modified"] for b in every)[10]
    assert set(_ids(client, seeded, modified_since=cut)) == {b["id"] for b in every if b["modified"] >= cut}


def test_filters_combine_and_tags_match_ignoring_case(client: TestClient, seeded: Account) -> None:
    both = _ids(client, seeded, tag=["TAG1"], unread="true", archived="false")
    every = {b["id"]: b for b in walk(client, seeded, limit=100)}
    expected = {i for i, b in every.items() if "tag1" in b["tags"] and b["unread"] and not b["archived"]}
    assert set(both) == expected != set()


def test_since_filters_accept_a_naive_time_as_utc(client: TestClient, alice: Account) -> None:
    client.post(API, json={"url": "https://e.com/"}, headers=alice.headers)
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    hour_ahead = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert len(_ids(client, alice, added_since=hour_ago)) == 1
    assert _ids(client, alice, added_since=hour_ahead) == []


def test_an_unknown_tag_matches_nothing(client: TestClient, seeded: Account) -> None:
    assert _ids(client, seeded, tag=["nope"]) == []


def _raw_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


@pytest.mark.parametrize("cursor", [
    "garbage", "!!!", encode_cursor("title", "x", 1), "WzEsMiwzXQ", "eyJhIjoxfQ",
    _raw_cursor("newest", "yesterday", 1), _raw_cursor("newest", 10**30, 1), _raw_cursor("newest", 2**62, 1),
    _raw_cursor("newest", 1, 2**70),
    _raw_cursor("newest", True, 1), _raw_cursor("newest", 1, -1),
])
def test_a_bad_cursor_answers_400(client: TestClient, seeded: Account, cursor: str) -> None:
    response = client.get(API, params={"cursor": cursor, "sort": "newest"}, headers=seeded.headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


def test_unknown_query_parameters_and_bad_values_answer_422(client: TestClient, seeded: Account) -> None:
    for params in ({"colour": "red"}, {"sort": "random"}, {"limit": 0}, {"unread": "maybe"}, {"added_since": "soon"}):
        response = client.get(API, params=params, headers=seeded.headers)
        assert response.status_code == 422, params


@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("names", [["tag1"], ["tag1", "tag2"], ["TAG2", "tag1", "tag3"], ["rare", "tag1"],
                                   ["tag1", "rare"], ["tag1", "nope"]], ids=lambda v: "+".join(v))
def test_tag_filters_in_date_order_page_through_exactly_the_tagged_bookmarks(
    client: TestClient, seeded: Account, sort: str, names: list[str]
) -> None:
    """The walk of one tag's links (migration 0005), whichever tag is rarest, gives the same pages."""
    every = list(walk(client, seeded, limit=100))
    for item in every[3:5]:  # a tag on two bookmarks only: the rarest, wherever it is named
        assert client.patch(f"{API}/{item['id']}", json={"tags": [*item["tags"], "rare"]},
                            headers=seeded.headers).status_code == 200
    tagged = [b for b in walk(client, seeded, limit=100) if {n.lower() for n in names} <= set(b["tags"])]
    key, reverse = SORT_KEYS[sort]
    assert list(walk(client, seeded, tag=names, sort=sort, limit=3)) == sorted(tagged, key=key, reverse=reverse)
