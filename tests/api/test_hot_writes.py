"""The hot writes (api/hot_writes.py) answer what the FastAPI routes answer, and leave everything that
is not in order (a bad body, no token, another content type) to those routes, body intact.

Two real databases seeded alike receive the same writes, one through the full app and one through
the routes alone; only the times a write stamps differ between them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from api.app import create_app
from api.hot import Template
from domain import accounts, migrate
from common.db import open_database
from common.settings import load_settings
from tests.api.bookmark_seed import seed_bookmarks

B = "/api/v1/bookmarks"
# (method, path, body or None, extra headers); run in this order on both apps.
WRITES: list[tuple[str, str, Any, dict[str, str]]] = [
    ("POST", B, {"url": "https://Example.org:443/new", "title": "New", "tags": ["Tag1", "fresh", "FRESH"]}, {}),
    ("POST", B, {"url": "https://example.org/new"}, {}),  # 409, naming the first
    ("POST", B, {"url": "https://example.org/c", "collection": 999}, {}),  # 404 collection
    ("POST", B, {"url": "https://example.org/c", "collection": 1, "unread": True, "private": True}, {}),
    ("POST", B, {"url": "https://example.org/d", "title": "a\u0000b"}, {}),  # 400 control character
    ("POST", B, {"title": "no url"}, {}),  # 422 from FastAPI
    ("POST", B, {"url": "https://example.org/e", "colour": "red"}, {}),  # 422: unknown field
    ("POST", B, "[1, 2]", {"content-type": "application/json"}),  # 422: not an object
    ("POST", B, "{not json", {"content-type": "application/json"}),  # 422: not JSON
    ("POST", B, '{"url": "https://example.org/f"}', {"content-type": "text/plain"}),
    ("POST", B, {"url": "https://example.org/g"}, {"authorization": "Bearer wrong"}),  # 401
    ("POST", f"{B}?x=1", {"url": "https://example.org/h"}, {}),
    ("PATCH", f"{B}/3", {"title": "Changed", "tags": ["tag2", "new"], "collection": None}, {}),
    ("PATCH", f"{B}/4", {"url": "https://example.org/new"}, {}),  # 409
    ("PATCH", f"{B}/5", {"title": None}, {}),  # 422: only collection may be null
    ("PATCH", f"{B}/999999", {"title": "x"}, {}),  # 404
    ("PATCH", f"{B}/0", {"title": "x"}, {}),  # 422 path
    ("PATCH", f"{B}/6", {}, {}),  # nothing sent: modified still moves
    ("DELETE", f"{B}/7", None, {}),
    ("DELETE", f"{B}/7", None, {}),  # 404: gone
    ("DELETE", f"{B}/999999", None, {}),
    ("DELETE", f"{B}/abc", None, {}),
    ("DELETE", f"{B}/8", None, {"authorization": "Token wrong"}),  # 401
]
MOMENT = re.compile(rb'"(created|modified)":"[^"]*"')


@pytest.fixture
def both(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, list[dict[str, str]], list[Any]]]:
    """The full app and the routes alone, each on its own database, with each one's token header."""
    clients, dbs, routes = [], [], []
    for name in ("hot", "plain"):
        settings = load_settings(data_dir=tmp_path / name)
        db = open_database(settings, create=True)
        migrate.upgrade(db)
        with db.write_session() as session:
            user = accounts.create_user(session, name="alice")
            _, token = accounts.create_token(session, user_id=user.id, label="t")
        seed_bookmarks(db, user_id=user.id, count=20)
        app = create_app(settings, db, hot_reads=name == "hot")
        dbs.append(db)
        clients.append((app, token))

    async def spy(scope: Scope, receive: Receive, send: Send) -> None:
        await clients[0][0](scope, receive, send)
        routes.append(scope.get("route"))

    try:
        with TestClient(spy) as fast, TestClient(clients[1][0]) as plain:
            yield fast, plain, [{"Authorization": f"Bearer {token}"} for _, token in clients], routes
    finally:
        for db in dbs:
            db.dispose()


def send(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if isinstance(body, str):
        return client.request(method, path, content=body, headers=headers)
    return client.request(method, path, json=body, headers=headers)


def test_the_hot_writes_answer_what_the_routes_answer(both) -> None:  # type: ignore[no-untyped-def]
    fast, plain, (hot_auth, plain_auth), _ = both
    for method, path, body, extra in WRITES:
        got = send(fast, method, path, body, {**hot_auth, **extra})
        want = send(plain, method, path, body, {**plain_auth, **extra})
        assert (got.status_code, MOMENT.sub(b"", got.content)) == (want.status_code, MOMENT.sub(b"", want.content)), \
            (method, path, body)
        for header in ("location", "content-type", "retry-after", "www-authenticate"):
            assert got.headers.get(header) == want.headers.get(header), (method, path, header)


def test_valid_writes_take_the_hot_path_and_the_rest_the_routes(both) -> None:  # type: ignore[no-untyped-def]
    fast, _, (auth, _), routes = both
    made = fast.post(B, json={"url": "https://example.org/hot"}, headers=auth)
    assert made.status_code == 201 and made.headers["location"] == f"{B}/{made.json()['id']}"
    assert fast.patch(f"{B}/2", json={"unread": False}, headers=auth).status_code == 200
    assert fast.delete(f"{B}/2", headers=auth).status_code == 200
    one = Template(f"{B}/{{bookmark_id}}")
    assert routes == [Template(B), one, one]
    routes.clear()
    assert fast.post(B, json={"url": ""}, headers=auth).status_code == 422
    assert fast.patch(f"{B}/3", json={"title": "x"}).status_code == 401
    assert fast.post(B, content=b'{"url": "https://example.org/t"}', headers={**auth, "content-type": "text/plain"}
                     ).status_code == 422
    assert [type(route).__name__ for route in routes] == ["APIRoute", "APIRoute", "APIRoute"]
