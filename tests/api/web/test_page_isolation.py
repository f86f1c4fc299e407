"""Every web page and form with an id answers 404 for another user's object and changes nothing,
as tests/api/test_isolation.py checks for the API.

The test walks the app's routes, so a page added later with an `{..._id}` path parameter is covered
the day it is added: a new kind of id needs a maker in ALICE_OBJECTS (tests/api/test_isolation.py),
and a form whose fields are required needs an entry in FORMS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI

from common.db import Database
from common.sqlite import sqlite3
from tests.api import test_isolation as api_isolation
from tests.conftest import Account

# What each form posts besides its csrf field: a change that would show if it went through.
FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/b/{bookmark_id}/edit"): {"url": "https://taken.example/", "title": "taken", "description": "taken",
                                       "tags": "taken", "collection": ""},
    ("POST", "/tags/{tag_id}/rename"): {"name": "taken"},
    ("POST", "/collections/{collection_id}/rename"): {"name": "taken"},
    ("POST", "/collections/{collection_id}/move"): {"parent_id": ""},
}
BULK_ACTIONS = [{"action": "tag", "tag": "taken"}, {"action": "untag", "tag": "secret"}, {"action": "archive"},
                {"action": "unarchive"}, {"action": "read"}, {"action": "unread"}, {"action": "delete"}]


def page_routes(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """(method, path, id parameters) of every web route with an id: all routes outside the API."""
    found = []
    for path, methods in api_isolation.walk_routes(app):
        params = api_isolation.ID_PARAM.findall(path)
        if params and not path.startswith(("/api/", "/static/")):
            found.extend((method, path, params) for method in sorted(methods - {"HEAD", "OPTIONS"}))
    return found


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """The API test's snapshot; a browser's own session row may slide its expiry, so only who owns
    which session counts."""
    out = api_isolation.snapshot(db)
    with sqlite3.connect(db.path) as conn:
        out["web_sessions"] = conn.execute("SELECT id, user_id, token_hash, csrf FROM web_sessions").fetchall()
    return out


@pytest.fixture
def alices(web: Callable[[Account], Any], alice: Account) -> dict[str, int]:
    """One of each kind of alice's objects, made through the API (tagged "secret", in a collection)."""
    c = web(alice)
    ids = {name: make(c, alice) for name, make in api_isolation.ALICE_OBJECTS.items()}
    c.patch(f"/api/v1/bookmarks/{ids['bookmark_id']}", json={"tags": ["secret"], "collection": ids["collection_id"]},
            headers=alice.headers).raise_for_status()
    return ids


def test_the_walk_finds_every_page_with_an_id(app: FastAPI) -> None:
    walked = {(m, p) for m, p, _ in page_routes(app)}
    assert {("POST", "/tags/{tag_id}/rename"), ("POST", "/tags/{tag_id}/delete"),
            ("POST", "/collections/{collection_id}/rename"), ("POST", "/collections/{collection_id}/move"),
            ("POST", "/collections/{collection_id}/delete"), ("POST", "/tokens/{token_id}/revoke"),
            ("GET", "/b/{bookmark_id}/edit"), ("POST", "/b/{bookmark_id}/edit"),
            ("POST", "/b/{bookmark_id}/delete")} <= walked


def test_another_users_ids_answer_404_and_change_nothing_on_every_page(
    app: FastAPI, db: Database, web: Callable[[Account], Any], alices: dict[str, int], bob: Account, alice: Account
) -> None:
    routes = page_routes(app)
    unknown = sorted({p for _, _, params in routes for p in params} - alices.keys())
    assert not unknown, f"add a maker for {unknown} to ALICE_OBJECTS in tests/api/test_isolation.py"
    c = web(bob)
    before = snapshot(db)
    for method, path, params in routes:
        url = path.format(**{p: alices[p] for p in params})
        data = {"csrf": c.csrf, **FORMS.get((method, path), {})} if method == "POST" else None
        response = c.request(method, url, data=data, follow_redirects=False)
        assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text[:300]}"
        assert response.headers["content-type"].startswith("text/html"), f"{method} {path}"
        assert snapshot(db) == before, f"{method} {path} changed alice's data"
    mine = web(alice)  # and the same pages are real for alice: the ids were live
    for method, path, params in routes:
        if method == "GET":
            url = path.format(**{p: alices[p] for p in params})
            assert mine.get(url).status_code == 200, url


@pytest.mark.parametrize("form", BULK_ACTIONS, ids=[f["action"] for f in BULK_ACTIONS])
def test_a_bulk_action_on_another_users_bookmark_answers_404_and_changes_nothing(
    db: Database, web: Callable[[Account], Any], alices: dict[str, int], bob: Account, form: dict[str, str]
) -> None:
    c = web(bob)
    before = snapshot(db)
    response = c.post("/bulk", data={"csrf": c.csrf, "ids": str(alices["bookmark_id"]), **form},
                      follow_redirects=False)
    assert response.status_code == 404, response.text[:300]
    assert snapshot(db) == before


def test_a_bulk_action_mixing_ids_changes_only_the_users_own(
    web: Callable[[Account], Any], alices: dict[str, int], alice: Account, bob: Account
) -> None:
    c = web(bob)
    own = c.post("/api/v1/bookmarks", json={"url": "https://bob.example/"}, headers=bob.headers).json()["id"]
    c.post("/bulk", data={"csrf": c.csrf, "ids": [str(alices["bookmark_id"]), str(own)], "action": "delete"})
    assert c.get(f"/api/v1/bookmarks/{own}", headers=bob.headers).status_code == 404
    assert c.get(f"/api/v1/bookmarks/{alices['bookmark_id']}", headers=alice.headers).status_code == 200


@pytest.mark.parametrize("query", ["collection=COLL", "tag=secret", "q=alice"])
def test_the_list_never_shows_another_users_bookmarks(
    web: Callable[[Account], Any], alices: dict[str, int], alice: Account, bob: Account, query: str
) -> None:
    url = "/?" + query.replace("COLL", str(alices["collection_id"]))
    assert "https://alice.example/" in web(alice).get(url).text  # the filter finds it for its owner
    c = web(bob)
    c.post("/api/v1/bookmarks", json={"url": "https://bob.example/", "title": "bob's"}, headers=bob.headers)
    response = c.get(url)
    assert response.status_code in (200, 404)
    assert "alice.example" not in response.text and "alice&#39;s" not in response.text


@pytest.mark.parametrize("page", ["/tags", "/collections", "/tokens"])
def test_the_manage_pages_list_only_the_users_own_objects(
    web: Callable[[Account], Any], alices: dict[str, int], bob: Account, page: str
) -> None:
    html = web(bob).get(page).text
    assert "secret" not in html and "alice&#39;s" not in html
    assert f"/{page.strip('/')}/{alices[page.strip('/')[:-1] + '_id']}/" not in html


def test_another_users_collection_cannot_be_a_parent_on_the_collections_page(
    db: Database, web: Callable[[Account], Any], alices: dict[str, int], bob: Account
) -> None:
    c = web(bob)
    before = snapshot(db)
    response = c.post("/collections", data={"csrf": c.csrf, "name": "x", "parent_id": str(alices["collection_id"])})
    assert response.status_code == 404
    assert snapshot(db) == before
