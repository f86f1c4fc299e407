"""Collections over HTTP: create, nest, rename, move (never into their own subtree), delete, list."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account

API = "/api/v1/collections"


def make(client: TestClient, owner: Account, name: str, parent_id: int | None = None) -> dict[str, Any]:
    response = client.post(API, json={"name": name, "parent_id": parent_id}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


def tree(client: TestClient, owner: Account) -> dict[str, tuple[int | None, int]]:
    """name -> (parent id, bookmark count)."""
    return {c["name"]: (c["parent_id"], c["count"]) for c in client.get(API, headers=owner.headers).json()}


def test_collections_nest_and_list_with_counts(client: TestClient, alice: Account) -> None:
    work = make(client, alice, "Work")
    project = make(client, alice, "Project", work["id"])
    client.post("/api/v1/bookmarks", json={"url": "https://w.example/", "collection": project["id"]}, headers=alice.headers)
    assert tree(client, alice) == {"Project": (work["id"], 1), "Work": (None, 0)}
    assert client.get(f"{API}/{project['id']}", headers=alice.headers).json()["count"] == 1


def test_rename_and_move(client: TestClient, alice: Account) -> None:
    a, b = make(client, alice, "a"), make(client, alice, "b")
    moved = client.patch(f"{API}/{b['id']}", json={"name": "b2", "parent_id": a["id"]}, headers=alice.headers).json()
    assert (moved["name"], moved["parent_id"]) == ("b2", a["id"])
    renamed = client.patch(f"{API}/{b['id']}", json={"name": "b3"}, headers=alice.headers).json()
    assert renamed["parent_id"] == a["id"]  # leaving parent_id out keeps the parent
    top = client.patch(f"{API}/{b['id']}", json={"parent_id": None}, headers=alice.headers).json()
    assert (top["name"], top["parent_id"]) == ("b3", None)


def test_moving_a_collection_into_its_own_subtree_answers_400(client: TestClient, alice: Account) -> None:
    root = make(client, alice, "root")
    child = make(client, alice, "child", root["id"])
    grandchild = make(client, alice, "grandchild", child["id"])
    for target in (root["id"], grandchild["id"]):
        response = client.patch(f"{API}/{root['id']}", json={"parent_id": target}, headers=alice.headers)
        assert response.status_code == 400
        assert "descendants" in response.json()["error"]["message"]
    assert tree(client, alice)["root"] == (None, 0)


def test_deleting_moves_children_up_and_uncollects_bookmarks(client: TestClient, alice: Account) -> None:
    top = make(client, alice, "top")
    middle = make(client, alice, "middle", top["id"])
    make(client, alice, "leaf", middle["id"])
    bookmark = client.post("/api/v1/bookmarks", json={"url": "https://m.example/", "collection": middle["id"]},
                           headers=alice.headers).json()
    assert client.delete(f"{API}/{middle['id']}", headers=alice.headers).json() == {"id": middle["id"], "deleted": True}
    assert tree(client, alice) == {"leaf": (top["id"], 0), "top": (None, 0)}
    after = client.get(f"/api/v1/bookmarks/{bookmark['id']}", headers=alice.headers).json()
    assert after["collection"] is None and after["modified"] > bookmark["modified"]
    assert client.get(f"{API}/{middle['id']}", headers=alice.headers).status_code == 404


def test_bad_collection_bodies_answer_422(client: TestClient, alice: Account) -> None:
    existing = make(client, alice, "x")
    for body in ({"name": " "}, {"name": "n" * 256}, {"name": "ok", "extra": 1}, {"name": "ok", "parent_id": 0}):
        assert client.post(API, json=body, headers=alice.headers).status_code == 422, body
    assert client.patch(f"{API}/{existing['id']}", json={"name": None}, headers=alice.headers).status_code == 422
    assert list(tree(client, alice)) == ["x"]


def test_a_missing_parent_answers_404(client: TestClient, alice: Account) -> None:
    response = client.post(API, json={"name": "orphan", "parent_id": 12345}, headers=alice.headers)
    assert response.status_code == 404
    assert tree(client, alice) == {}
