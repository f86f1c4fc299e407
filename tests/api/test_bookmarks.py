"""Bookmark create, read, update, delete and bulk actions over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.routes.bookmarks import BookmarkOut
from domain.bookmarks import BULK_MAX
from common.db import Database
from domain.fields import BOOKMARK_FIELDS
from domain.models import TITLE_MAX
from domain.tags import MAX_TAGS_PER_BOOKMARK
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account

API = "/api/v1/bookmarks"


def create(client: TestClient, owner: Account, **fields: Any) -> dict[str, Any]:
    fields.setdefault("url", "https://example.com/page")
    response = client.post(API, json=fields, headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_normalises_the_url_and_returns_every_field(client: TestClient, alice: Account) -> None:
    body = create(client, alice, url="HTTPS://Example.COM:443", title="Ex", tags=["b", "A", "a"], unread=True)
    assert body["url"] == "https://example.com/"
    assert body["tags"] == ["A", "b"]  # duplicates (ignoring case) dropped, sorted
    assert (body["unread"], body["archived"], body["private"], body["collection"]) == (True, False, False, None)
    assert body["created"] == body["modified"]
    assert client.get(f"{API}/{body['id']}", headers=alice.headers).json() == body


def test_a_bookmark_answer_shows_exactly_the_api_fields_of_the_field_list(client: TestClient, alice: Account) -> None:
    shown = {"id", "tags", *(f.key for f in BOOKMARK_FIELDS if f.in_api)}
    assert set(BookmarkOut.model_fields) == shown
    assert set(create(client, alice)) == shown  # the stored answer (migration 0008's SQL) too


def test_the_same_url_twice_answers_409_with_the_existing_id(client: TestClient, alice: Account, bob: Account) -> None:
    first = create(client, alice, url="https://example.com/a")
    again = client.post(API, json={"url": "https://EXAMPLE.com/a"}, headers=alice.headers)
    assert again.status_code == 409
    assert again.json()["error"]["details"]["id"] == first["id"]
    assert create(client, bob, url="https://example.com/a")["id"] != first["id"]  # per user, not global


@pytest.mark.parametrize("url", ["mailto:a@b.example", "not a url", "javascript:alert(1)", "http://"])
def test_an_invalid_url_answers_400_and_stores_nothing(client: TestClient, alice: Account, url: str) -> None:
    response = client.post(API, json={"url": url}, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert client.get(API, headers=alice.headers).json()["items"] == []


@pytest.mark.parametrize("body", [
    {"url": "https://e.com/", "colour": "red"},
    {"url": "https://e.com/", "title": "x" * (TITLE_MAX + 1)},
    {"url": "https://e.com/", "tags": [f"t{i}" for i in range(MAX_TAGS_PER_BOOKMARK + 1)]},
    {"url": "https://e.com/", "tags": [" "]},
    {"url": "https://e.com/", "collection": 0},
])
def test_bad_bodies_answer_422(client: TestClient, alice: Account, body: dict[str, Any]) -> None:
    response = client.post(API, json=body, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


def test_patch_changes_only_the_fields_sent_and_moves_modified(client: TestClient, alice: Account) -> None:
    collection = client.post("/api/v1/collections", json={"name": "c"}, headers=alice.headers).json()["id"]
    before = create(client, alice, title="old", notes="keep", tags=["x"], collection=collection)
    patched = client.patch(f"{API}/{before['id']}", json={"title": "new", "archived": True, "tags": ["y", "z"]},
                           headers=alice.headers).json()
    assert (patched["title"], patched["notes"], patched["archived"], patched["tags"]) == ("new", "keep", True, ["y", "z"])
    assert patched["collection"] == collection
    assert patched["created"] == before["created"]
    assert patched["modified"] > before["modified"]
    uncollected = client.patch(f"{API}/{before['id']}", json={"collection": None}, headers=alice.headers).json()
    assert uncollected["collection"] is None and uncollected["tags"] == ["y", "z"]


def test_patch_with_an_empty_body_still_moves_modified(client: TestClient, alice: Account) -> None:
    before = create(client, alice)
    after = client.patch(f"{API}/{before['id']}", json={}, headers=alice.headers).json()
    assert after["modified"] > before["modified"]
    assert {k: v for k, v in after.items() if k != "modified"} == {k: v for k, v in before.items() if k != "modified"}


def test_patch_onto_another_bookmarks_url_answers_409_and_changes_nothing(client: TestClient, alice: Account) -> None:
    first = create(client, alice, url="https://a.example/")
    second = create(client, alice, url="https://b.example/")
    response = client.patch(f"{API}/{second['id']}", json={"url": "https://A.example", "title": "t"}, headers=alice.headers)
    assert response.status_code == 409
    assert response.json()["error"]["details"]["id"] == first["id"]
    assert client.get(f"{API}/{second['id']}", headers=alice.headers).json() == second


def test_patch_refuses_null_for_fields_that_cannot_be_empty(client: TestClient, alice: Account) -> None:
    bookmark = create(client, alice)
    response = client.patch(f"{API}/{bookmark['id']}", json={"title": None}, headers=alice.headers)
    assert response.status_code == 422
    assert "title may not be null" in response.json()["error"]["message"]


def test_a_url_change_keeps_the_bookmark_findable_by_its_new_address(client: TestClient, alice: Account) -> None:
    bookmark = create(client, alice, url="https://old.example/")
    client.patch(f"{API}/{bookmark['id']}", json={"url": "https://fresh.example/zebra"}, headers=alice.headers)
    found = client.get(API, params={"q": "zebra"}, headers=alice.headers).json()["items"]
    assert [b["id"] for b in found] == [bookmark["id"]]


def test_delete_removes_the_bookmark(client: TestClient, alice: Account) -> None:
    bookmark = create(client, alice, tags=["t"])
    assert client.delete(f"{API}/{bookmark['id']}", headers=alice.headers).json() == {"id": bookmark["id"], "deleted": True}
    assert client.get(f"{API}/{bookmark['id']}", headers=alice.headers).status_code == 404
    assert client.delete(f"{API}/{bookmark['id']}", headers=alice.headers).status_code == 404


def _bulk(client: TestClient, owner: Account, ids: list[int], action: str, **extra: Any) -> Any:
    return client.post(f"{API}/bulk", json={"ids": ids, "action": action, **extra}, headers=owner.headers)


def test_bulk_actions_apply_to_every_listed_bookmark(client: TestClient, alice: Account) -> None:
    ids = [create(client, alice, url=f"https://e.com/{i}", tags=["keep"], unread=True)["id"] for i in range(3)]
    assert _bulk(client, alice, ids[:2], "add_tags", tags=["new", "Other"]).json()["updated"] == ids[:2]
    _bulk(client, alice, ids, "remove_tags", tags=["KEEP"])
    _bulk(client, alice, ids[1:], "archive")
    _bulk(client, alice, ids, "mark_read")
    _bulk(client, alice, [ids[2]], "mark_unread")
    _bulk(client, alice, [ids[2]], "unarchive")
    got = {b["id"]: b for b in client.get(API, headers=alice.headers).json()["items"]}
    assert [got[i]["tags"] for i in ids] == [["new", "Other"], ["new", "Other"], []]
    assert [got[i]["archived"] for i in ids] == [False, True, False]
    assert [got[i]["unread"] for i in ids] == [False, False, True]
    assert _bulk(client, alice, ids[:2] + [999], "delete").json() == {"action": "delete", "updated": ids[:2], "not_found": [999]}
    assert [b["id"] for b in client.get(API, headers=alice.headers).json()["items"]] == [ids[2]]


def test_bulk_tag_actions_need_tags(client: TestClient, alice: Account) -> None:
    bookmark = create(client, alice)
    response = _bulk(client, alice, [bookmark["id"]], "add_tags")
    assert response.status_code == 400
    assert "needs a non-empty list of tags" in response.json()["error"]["message"]


def test_bulk_tagging_past_the_cap_fails_whole_and_changes_nothing(client: TestClient, alice: Account) -> None:
    full = create(client, alice, url="https://full.example/", tags=[f"t{i}" for i in range(MAX_TAGS_PER_BOOKMARK)])
    light = create(client, alice, url="https://light.example/")
    response = _bulk(client, alice, [light["id"], full["id"]], "add_tags", tags=["one-more"])
    assert response.status_code == 400
    assert client.get(f"{API}/{light['id']}", headers=alice.headers).json()["tags"] == []


def test_bulk_rejects_unknown_actions_and_empty_id_lists(client: TestClient, alice: Account) -> None:
    assert _bulk(client, alice, [1], "explode").status_code == 422
    assert _bulk(client, alice, [], "archive").status_code == 422


def test_bulk_tagging_the_largest_batch_works(client: TestClient, db: Database, alice: Account) -> None:
    ids = seed_bookmarks(db, user_id=alice.user_id, count=BULK_MAX, tags_per=0)
    names = [f"batch{i}" for i in range(20)]  # 20,000 links: more than SQLite's bound-parameter limit at once
    response = _bulk(client, alice, ids, "add_tags", tags=names)
    assert response.status_code == 200, response.text
    assert len(response.json()["updated"]) == BULK_MAX
    counts = {t["name"]: t["count"] for t in client.get("/api/v1/tags", headers=alice.headers).json()}
    assert all(counts[name] == BULK_MAX for name in names)
