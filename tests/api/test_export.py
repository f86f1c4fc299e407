"""GET /api/v1/export: streamed Netscape HTML or Kura JSON, only the caller's bookmarks."""

from __future__ import annotations

from pathlib import Path

import orjson

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bookmarks"


def meaning(export: dict) -> list[tuple]:
    """The bookmarks of a JSON export keyed by content, with collection ids replaced by paths."""
    cols = {c["id"]: c for c in export["collections"]}

    def path(cid):
        return () if cid is None else (*path(cols[cid]["parent_id"]), cols[cid]["name"])

    return sorted((b["url"], b["title"], b["description"], tuple(b["tags"]), path(b["collection"]),
                   b["created"], b["modified"], b["unread"], b["archived"], b["private"])
                  for b in export["bookmarks"])


def test_a_browser_file_imports_exports_and_reimports_into_an_empty_user_identically(client, alice, bob) -> None:
    client.post("/api/v1/import", headers=alice.headers, content=(FIXTURES / "firefox.html").read_bytes())
    first = client.get("/api/v1/export?format=json", headers=alice.headers)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.headers["content-disposition"].startswith('attachment; filename="kura-bookmarks-')
    result = client.post("/api/v1/import", headers=bob.headers, content=first.content).json()
    assert (result["created"], result["skipped"]) == (7, 0)
    second = client.get("/api/v1/export?format=json", headers=bob.headers)
    a, b = orjson.loads(first.content), orjson.loads(second.content)
    assert meaning(b) == meaning(a) and len(meaning(a)) == 7
    assert b["tags"] == a["tags"]
    assert sorted((c["name"], c["created"]) for c in b["collections"]) == sorted(
        (c["name"], c["created"]) for c in a["collections"])


def test_the_netscape_export_reimports_with_its_folders(client, alice, bob) -> None:
    client.post("/api/v1/import", headers=alice.headers, content=(FIXTURES / "chrome.html").read_bytes())
    html = client.get("/api/v1/export", headers=alice.headers)
    assert html.status_code == 200 and html.headers["content-type"] == "text/html; charset=utf-8"
    assert html.text.startswith("<!DOCTYPE NETSCAPE-Bookmark-file-1>")
    assert "Bookmarks bar</H3>" in html.text and "Café &amp; Crêpes &lt;Paris&gt;</A>" in html.text
    back = client.post("/api/v1/import", headers=bob.headers, content=html.content).json()
    assert back["created"] == 5
    mine = orjson.loads(client.get("/api/v1/export?format=json", headers=alice.headers).content)
    theirs = orjson.loads(client.get("/api/v1/export?format=json", headers=bob.headers).content)
    assert meaning(theirs) == meaning(mine)


def test_an_export_is_streamed_not_sized_up_front(client, alice) -> None:
    client.post("/api/v1/import", headers=alice.headers, content=(FIXTURES / "safari.html").read_bytes())
    with client.stream("GET", "/api/v1/export?format=json", headers=alice.headers) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        body = b"".join(response.iter_bytes())
    assert len(orjson.loads(body)["bookmarks"]) == 4


def test_another_users_export_holds_none_of_mine(client, alice, bob) -> None:
    client.post("/api/v1/import", headers=alice.headers, content=(FIXTURES / "safari.html").read_bytes())
    theirs = orjson.loads(client.get("/api/v1/export?format=json", headers=bob.headers).content)
    assert theirs["bookmarks"] == [] and theirs["collections"] == []


def test_an_unknown_format_is_a_422_and_no_token_a_401(client, alice) -> None:
    assert client.get("/api/v1/export?format=csv", headers=alice.headers).status_code == 422
    assert client.get("/api/v1/export").status_code == 401


def test_exports_beyond_the_slots_wait_and_then_answer_503_with_retry_after(monkeypatch) -> None:
    import asyncio

    from api.routes import transfer as routes
    from common.errors import Unavailable

    monkeypatch.setattr(routes, "EXPORT_WAIT_S", 0.05)

    async def scenario() -> tuple[str, bool]:
        slots = routes.ExportSlots()
        releases = [await slots.take() for _ in range(routes.EXPORT_SLOTS)]
        try:
            await slots.take()
            refused = "no"
        except Unavailable as exc:
            refused = exc.headers["Retry-After"]
        releases[0]()
        await slots.take()  # a freed slot is taken at once
        return refused, True

    assert asyncio.run(scenario()) == ("5", True)


def test_a_slot_is_given_back_when_the_export_ends_or_the_client_leaves() -> None:
    import asyncio

    from api.routes import transfer as routes

    closed: list[str] = []

    def stream(name: str):  # type: ignore[no-untyped-def]
        try:
            yield b"a"
            yield b"b"
        finally:
            closed.append(name)

    async def scenario() -> list[str]:
        slots = routes.ExportSlots()
        whole = routes._held(stream("read to the end"), await slots.take())
        assert [chunk async for chunk in whole] == [b"a", b"b"]
        left = routes._held(stream("client left"), await slots.take())
        assert await left.__anext__() == b"a"
        await left.aclose()
        return [(await slots.take()) and "taken" for _ in range(routes.EXPORT_SLOTS)]

    assert asyncio.run(scenario()) == ["taken", "taken"]
    assert closed == ["read to the end", "client left"]
