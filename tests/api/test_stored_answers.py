"""Every write path keeps each bookmark's stored API answer (`api_json`, migration 0008) exact."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from domain.bookmark_rows import session_sql, stale_rows
from common.db import Database
from tests.conftest import Account

API = "/api/v1"
NETSCAPE = ('<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><H3>Folder</H3>\n<DL><p>\n'
            '<DT><A HREF="https://one.example/" TAGS="imported,Web">One, again</A>\n'
            '<DT><A HREF="https://new.example/" TAGS="fresh">New</A>\n'
            '<DT><A HREF="https://bare.example/">Bare</A>\n</DL><p>\n</DL>\n').encode()


def _stale(db: Database) -> list[int]:
    with db.read_session() as session:
        return stale_rows(session_sql(session))


def _created(client: TestClient, alice: Account, url: str, **fields: object) -> int:
    response = client.post(f"{API}/bookmarks", headers=alice.headers, json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def three(client: TestClient, alice: Account) -> list[int]:
    collection = client.post(f"{API}/collections", headers=alice.headers, json={"name": "Reading"}).json()["id"]
    return [_created(client, alice, "https://one.example/", title="One", tags=["web", "Alpha"], collection=collection),
            _created(client, alice, "https://two.example/", tags=["web"], unread=True),
            _created(client, alice, "https://three.example/", description="no tags")]


def _tag_id(client: TestClient, alice: Account, name: str) -> int:
    return next(t["id"] for t in client.get(f"{API}/tags", headers=alice.headers).json() if t["name"] == name)


WRITES: dict[str, Callable[[TestClient, Account, list[int]], object]] = {
    "update fields": lambda c, a, ids: c.patch(f"{API}/bookmarks/{ids[0]}", headers=a.headers,
                                               json={"title": "Renamed", "archived": True, "collection": None}),
    "replace tags": lambda c, a, ids: c.patch(f"{API}/bookmarks/{ids[1]}", headers=a.headers,
                                              json={"tags": ["zeta", "Beta"]}),
    "bulk add tags": lambda c, a, ids: c.post(f"{API}/bookmarks/bulk", headers=a.headers,
                                              json={"ids": ids, "action": "add_tags", "tags": ["bulk"]}),
    "bulk remove tags": lambda c, a, ids: c.post(f"{API}/bookmarks/bulk", headers=a.headers,
                                                 json={"ids": ids, "action": "remove_tags", "tags": ["web"]}),
    "bulk flags": lambda c, a, ids: c.post(f"{API}/bookmarks/bulk", headers=a.headers,
                                           json={"ids": ids, "action": "mark_unread"}),
    "rename a tag": lambda c, a, ids: c.patch(f"{API}/tags/{_tag_id(c, a, 'web')}", headers=a.headers,
                                              json={"name": "www"}),
    "merge a tag": lambda c, a, ids: c.patch(f"{API}/tags/{_tag_id(c, a, 'Alpha')}", headers=a.headers,
                                             json={"name": "web"}),
    "delete a tag": lambda c, a, ids: c.delete(f"{API}/tags/{_tag_id(c, a, 'web')}", headers=a.headers),
    "delete a collection": lambda c, a, ids: c.delete(
        f"{API}/collections/{c.get(f'{API}/collections', headers=a.headers).json()[0]['id']}", headers=a.headers),
    "delete a bookmark": lambda c, a, ids: c.delete(f"{API}/bookmarks/{ids[0]}", headers=a.headers),
    "import": lambda c, a, ids: c.post(f"{API}/import", headers=a.headers, content=NETSCAPE),
    "import tags as folders": lambda c, a, ids: c.post(f"{API}/import?folders_as_tags=true", headers=a.headers,
                                                       content=NETSCAPE),
}


@pytest.mark.parametrize("write", WRITES)
def test_each_write_leaves_every_stored_answer_as_the_row_says(client: TestClient, db: Database, alice: Account,
                                                               three: list[int], write: str) -> None:
    before = {b["id"]: b for b in client.get(f"{API}/bookmarks", headers=alice.headers).json()["items"]}
    response = WRITES[write](client, alice, three)
    assert response.status_code < 300, response.text  # type: ignore[attr-defined]
    assert _stale(db) == []
    after = client.get(f"{API}/bookmarks", headers=alice.headers).json()["items"]
    assert after != list(before.values())  # the write showed in the list
    for item in after:
        assert client.get(f"{API}/bookmarks/{item['id']}", headers=alice.headers).json() == item

