"""Tags over HTTP: list with counts, rename, merge by renaming, delete."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Account


def add(client: TestClient, owner: Account, slug: str, tags: list[str]) -> dict[str, Any]:
    response = client.post("/api/v1/bookmarks", json={"url": f"https://{slug}.example/", "tags": tags},
                           headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()


def tags_by_name(client: TestClient, owner: Account) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in client.get("/api/v1/tags", headers=owner.headers).json()}


def test_tags_are_listed_with_counts_by_name_or_by_count(client: TestClient, alice: Account) -> None:
    add(client, alice, "a", ["python", "db"])
    add(client, alice, "b", ["python"])
    add(client, alice, "c", ["python", "Zoo"])
    by_name = client.get("/api/v1/tags", headers=alice.headers).json()
    assert [(t["name"], t["count"]) for t in by_name] == [("db", 1), ("python", 3), ("Zoo", 1)]
    by_count = client.get("/api/v1/tags", params={"sort": "count"}, headers=alice.headers).json()
    assert [t["name"] for t in by_count] == ["python", "db", "Zoo"]


def test_rename_changes_the_name_on_every_bookmark(client: TestClient, alice: Account) -> None:
    first = add(client, alice, "a", ["pyhton"])
    tag = tags_by_name(client, alice)["pyhton"]
    renamed = client.patch(f"/api/v1/tags/{tag['id']}", json={"name": "python"}, headers=alice.headers)
    assert renamed.json() == {"id": tag["id"], "name": "python", "count": 1}
    after = client.get(f"/api/v1/bookmarks/{first['id']}", headers=alice.headers).json()
    assert after["tags"] == ["python"]
    assert after["modified"] > first["modified"]


def test_a_rename_that_only_changes_case_keeps_the_tag(client: TestClient, alice: Account) -> None:
    add(client, alice, "a", ["sql"])
    tag = tags_by_name(client, alice)["sql"]
    assert client.patch(f"/api/v1/tags/{tag['id']}", json={"name": "SQL"}, headers=alice.headers).json()["id"] == tag["id"]
    assert list(tags_by_name(client, alice)) == ["SQL"]


def test_renaming_onto_an_existing_tag_merges_them(client: TestClient, alice: Account) -> None:
    add(client, alice, "a", ["js"])
    add(client, alice, "b", ["js", "javascript"])
    add(client, alice, "c", ["javascript"])
    tags = tags_by_name(client, alice)
    merged = client.patch(f"/api/v1/tags/{tags['js']['id']}", json={"name": "JavaScript"}, headers=alice.headers)
    assert merged.status_code == 200
    assert merged.json() == {"id": tags["javascript"]["id"], "name": "javascript", "count": 3}
    assert list(tags_by_name(client, alice)) == ["javascript"]
    items = client.get("/api/v1/bookmarks", params={"tag": "javascript"}, headers=alice.headers).json()["items"]
    assert len(items) == 3 and all(b["tags"] == ["javascript"] for b in items)


def test_deleting_a_tag_keeps_its_bookmarks(client: TestClient, alice: Account) -> None:
    bookmark = add(client, alice, "a", ["gone", "stays"])
    tag = tags_by_name(client, alice)["gone"]
    assert client.delete(f"/api/v1/tags/{tag['id']}", headers=alice.headers).json() == {"id": tag["id"], "deleted": True}
    after = client.get(f"/api/v1/bookmarks/{bookmark['id']}", headers=alice.headers).json()
    assert after["tags"] == ["stays"] and after["modified"] > bookmark["modified"]
    assert client.delete(f"/api/v1/tags/{tag['id']}", headers=alice.headers).status_code == 404


def test_a_bad_rename_answers_422_and_changes_nothing(client: TestClient, alice: Account) -> None:
    add(client, alice, "a", ["keep"])
    tag = tags_by_name(client, alice)["keep"]
    for body in ({"name": ""}, {"name": "x" * 256}, {"name": "ok", "colour": "red"}, {}):
        assert client.patch(f"/api/v1/tags/{tag['id']}", json=body, headers=alice.headers).status_code == 422, body
    assert list(tags_by_name(client, alice)) == ["keep"]
