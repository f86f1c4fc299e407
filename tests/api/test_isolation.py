"""Every object belongs to one user: another user's id answers 404 and changes nothing, on every route.

The test walks app.routes, so a route added later with an `{..._id}` path parameter is covered the
day it is added. A new kind of id needs one entry in ALICE_OBJECTS (how to make alice one), and a
route whose body has required fields needs one entry in BODIES.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from common.db import Database
from common.sqlite import sqlite3
from tests.conftest import Account

ID_PARAM = re.compile(r"\{(\w+_id)\}")
CONVERTOR = re.compile(r"\{(\w+):\w+\}")  # "{tag_id:int}" is "{tag_id}" to a client

Maker = Callable[[TestClient, Account], int]


def _post(path: str, body: dict[str, Any]) -> Maker:
    def make(client: TestClient, owner: Account) -> int:
        response = client.post(path, json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    return make


def _alices_tag(client: TestClient, owner: Account) -> int:
    _post("/api/v1/bookmarks", {"url": "https://tagged.example/", "tags": ["secret"]})(client, owner)
    tags = client.get("/api/v1/tags", headers=owner.headers).json()
    return next(t["id"] for t in tags if t["name"] == "secret")


def _alices_token(client: TestClient, owner: Account) -> int:
    return int(client.get("/api/v1/tokens", headers=owner.headers).json()[0]["id"])


ALICE_OBJECTS: dict[str, Maker] = {
    "bookmark_id": _post("/api/v1/bookmarks", {"url": "https://alice.example/", "title": "alice's"}),
    "collection_id": _post("/api/v1/collections", {"name": "alice's"}),
    "tag_id": _alices_tag,
    "token_id": _alices_token,
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/bookmarks/{bookmark_id}"): {"title": "taken", "tags": ["taken"], "collection": None},
    ("PATCH", "/api/v1/tags/{tag_id}"): {"name": "taken"},
    ("PATCH", "/api/v1/collections/{collection_id}"): {"name": "taken", "parent_id": None},
}
SKIP_PREFIXES = ("/api/v1/system/",)  # admin-only: every non-admin gets 403 there, whoever owns what


def walk_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(full path, methods) of every API route in app.routes, included routers flattened."""
    return [(CONVERTOR.sub(r"{\1}", ctx.path), set(ctx.methods)) for ctx in iter_route_contexts(app.routes)
            if isinstance(ctx.original_route, APIRoute)]


def routes_with_ids(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, methods in walk_routes(app):
        params = ID_PARAM.findall(path)
        # The web pages' own routes (outside /api/) have their test: tests/api/web/test_page_isolation.py.
        if params and path.startswith("/api/") and not path.startswith(SKIP_PREFIXES):
            found.extend((method, path, params) for method in sorted(methods - {"HEAD", "OPTIONS"}))
    return found


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (last_used_at aside: the caller's own token use may touch it)."""
    with sqlite3.connect(db.path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'bookmarks_fts%'")]
        out = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
        out["api_tokens"] = conn.execute("SELECT id, user_id, label, token_hash, revoked_at FROM api_tokens").fetchall()
    return out


def test_the_walk_finds_the_resource_routes(app: FastAPI) -> None:
    walked = {(m, p) for m, p, _ in routes_with_ids(app)}
    assert {("GET", "/api/v1/bookmarks/{bookmark_id}"), ("DELETE", "/api/v1/tags/{tag_id}"),
            ("PATCH", "/api/v1/collections/{collection_id}"), ("DELETE", "/api/v1/tokens/{token_id}")} <= walked


def test_another_users_ids_answer_404_and_change_nothing_on_every_route(
    client: TestClient, app: FastAPI, db: Database, alice: Account, bob: Account
) -> None:
    routes = routes_with_ids(app)
    unknown = sorted({p for _, _, params in routes for p in params} - ALICE_OBJECTS.keys())
    assert not unknown, f"add a maker for {unknown} to ALICE_OBJECTS in tests/api/test_isolation.py"
    ids = {name: make(client, alice) for name, make in ALICE_OBJECTS.items()}
    client.get("/api/v1/tokens", headers=bob.headers)  # bob's first request may write his last_used_at
    before = snapshot(db)
    for method, path, params in routes:
        url = path.format(**{p: ids[p] for p in params})
        body = BODIES.get((method, path), {}) if method in {"POST", "PUT", "PATCH"} else None
        response = client.request(method, url, json=body, headers=bob.headers)
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"
        assert response.json()["error"]["code"] == "not_found"
        assert snapshot(db) == before, f"{method} {path} changed alice's data"
    for method, path, params in routes:  # and the same calls are real for alice: the ids were live
        if method == "GET":
            url = path.format(**{p: ids[p] for p in params})
            assert client.get(url, headers=alice.headers).status_code == 200, url


def test_bulk_actions_skip_and_report_other_users_ids(client: TestClient, alice: Account, bob: Account) -> None:
    mine = client.post("/api/v1/bookmarks", json={"url": "https://bob.example/"}, headers=bob.headers).json()["id"]
    hers = client.post("/api/v1/bookmarks", json={"url": "https://alice.example/"}, headers=alice.headers).json()["id"]
    response = client.post("/api/v1/bookmarks/bulk", json={"ids": [hers, mine], "action": "delete"}, headers=bob.headers)
    assert response.json() == {"action": "delete", "updated": [mine], "not_found": [hers]}
    assert client.get(f"/api/v1/bookmarks/{hers}", headers=alice.headers).status_code == 200


@pytest.mark.parametrize("params", [{"collection": "COLL"}, {"tag": "private"}, {"q": "alice"}])
def test_lists_never_show_another_users_bookmarks(
    client: TestClient, alice: Account, bob: Account, params: dict[str, str]
) -> None:
    collection = client.post("/api/v1/collections", json={"name": "c"}, headers=alice.headers).json()["id"]
    client.post("/api/v1/bookmarks", json={"url": "https://alice.example/", "title": "alice", "tags": ["private"],
                                           "collection": collection}, headers=alice.headers)
    query = {k: (str(collection) if v == "COLL" else v) for k, v in params.items()}
    assert len(client.get("/api/v1/bookmarks", params=query, headers=alice.headers).json()["items"]) == 1
    assert client.get("/api/v1/bookmarks", params=query, headers=bob.headers).json()["items"] == []
    assert client.get("/api/v1/tags", headers=bob.headers).json() == []
    assert client.get("/api/v1/collections", headers=bob.headers).json() == []


def test_another_users_collection_cannot_be_used_as_a_parent_or_a_home(
    client: TestClient, alice: Account, bob: Account
) -> None:
    hers = client.post("/api/v1/collections", json={"name": "hers"}, headers=alice.headers).json()["id"]
    as_parent = client.post("/api/v1/collections", json={"name": "x", "parent_id": hers}, headers=bob.headers)
    as_home = client.post("/api/v1/bookmarks", json={"url": "https://b.example/", "collection": hers}, headers=bob.headers)
    assert (as_parent.status_code, as_home.status_code) == (404, 404)
    assert client.get("/api/v1/collections", headers=bob.headers).json() == []
    assert client.get("/api/v1/bookmarks", headers=bob.headers).json()["items"] == []
