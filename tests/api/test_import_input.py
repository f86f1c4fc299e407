"""POST /api/v1/import against hostile and odd files (issue 12): impossible dates, deep trees, the
API's own caps, and a big file's parsing not holding other users' writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import text

from domain.transfer import batches

API = "/api/v1"


def netscape(*rows: str) -> bytes:
    return ("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n" + "\n".join(rows) + "\n</DL><p>\n").encode()


def kura_json(bookmarks: list[dict], collections: list[dict] | None = None) -> bytes:
    return orjson.dumps({"format": "kura-bookmarks", "version": 2, "tags": [], "collections": collections or [],
                         "bookmarks": bookmarks})


def test_impossible_dates_are_skipped_with_their_line_and_the_users_data_still_answers(client, alice) -> None:
    html = netscape('<DT><A HREF="https://good.example/" ADD_DATE="1700000000">good</A>',
                    '<DT><A HREF="https://huge.example/" ADD_DATE="99999999999999999999">past 2^63</A>',
                    '<DT><A HREF="https://neg.example/" ADD_DATE="-86400">negative</A>',
                    '<DT><A HREF="https://nano.example/" ADD_DATE="1700000000123456789">Google, ns</A>')
    body = client.post(f"{API}/import", headers=alice.headers, content=html).json()
    assert (body["created"], body["skipped"]) == (2, 2)
    assert [(e["line"], "impossible date" in e["reason"]) for e in body["errors"]] == [(4, True), (5, True)]
    json_body = client.post(f"{API}/import", headers=alice.headers, content=kura_json([
        {"url": "https://far.example/", "created": 2**62}, {"url": "https://fine.example/", "modified": 5}])).json()
    assert (json_body["created"], json_body["skipped"]) == (1, 1)
    assert "impossible date" in json_body["errors"][0]["reason"]
    listing = client.get(f"{API}/bookmarks", headers=alice.headers)
    assert listing.status_code == 200, listing.text
    assert {b["url"] for b in listing.json()["items"]} == {"https://good.example/", "https://nano.example/",
                                                           "https://fine.example/"}
    for bookmark in listing.json()["items"]:
        assert client.get(f"{API}/bookmarks/{bookmark['id']}", headers=alice.headers).status_code == 200
    assert client.get(f"{API}/search?q=example", headers=alice.headers).status_code == 200
    assert client.get(f"{API}/stats", headers=alice.headers).status_code == 200


def test_a_collection_chain_a_thousand_deep_is_a_400_naming_the_depth(client, db, alice) -> None:
    chain = [{"id": i, "parent_id": i - 1 if i > 1 else None, "name": f"c{i}"} for i in range(1, 1001)]
    response = client.post(f"{API}/import", headers=alice.headers,
                           content=kura_json([{"url": "https://deep.example/", "collection": 1000}], chain))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_import_file"
    assert "at most 100 levels" in response.json()["error"]["message"]


def test_a_collection_chain_at_the_depth_limit_imports_whole(client, db, alice) -> None:
    chain = [{"id": i, "parent_id": i - 1 if i > 1 else None, "name": f"c{i}"} for i in range(1, 101)]
    body = client.post(f"{API}/import", headers=alice.headers,
                       content=kura_json([{"url": "https://deep.example/", "collection": 100}], chain)).json()
    assert body["created"] == 1
    with db.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM collections")).scalar_one() == 100


def test_the_import_applies_the_apis_caps_on_tags_and_names(client, alice) -> None:
    too_many = [f"t{i}" for i in range(101)]
    assert client.post(f"{API}/bookmarks", headers=alice.headers,
                       json={"url": "https://api.example/", "tags": too_many}).status_code == 422
    assert client.post(f"{API}/bookmarks", headers=alice.headers,
                       json={"url": "https://api.example/", "tags": ["a\x00b"]}).status_code == 400
    body = client.post(f"{API}/import", headers=alice.headers, content=kura_json([
        {"url": "https://many.example/", "tags": too_many},
        {"url": "https://nul.example/", "tags": ["a\x00b"]},
        {"url": "https://cr.example/\r\nX-Injected: 1"},
        {"url": "https://ok.example/", "tags": too_many[:100]}])).json()
    assert (body["created"], body["skipped"]) == (1, 3)
    reasons = [e["reason"] for e in body["errors"]]
    assert "at most 100 tags" in reasons[0] and "control character" in reasons[1] and "control character" in reasons[2]


@pytest.fixture
def parse_gate(monkeypatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Holds an import's parsing after its first item until released; says when it got there."""
    reached, release = threading.Event(), threading.Event()
    real = batches.read_items

    def gated(source, **kwargs):  # type: ignore[no-untyped-def]
        items = real(source, **kwargs)
        yield next(items)
        reached.set()
        assert release.wait(30), "the test never released the parser"
        yield from items

    monkeypatch.setattr(batches, "read_items", gated)
    yield reached, release
    release.set()


def test_another_users_create_is_not_held_behind_an_import_being_parsed(client, alice, bob, parse_gate) -> None:
    reached, release = parse_gate
    data = kura_json([{"url": f"https://big.example/{i}"} for i in range(3000)])
    answers: dict[str, int] = {}
    importing = threading.Thread(target=lambda: answers.update(
        imported=client.post(f"{API}/import", headers=alice.headers, content=data).status_code))
    importing.start()
    try:
        assert reached.wait(30)
        created = client.post(f"{API}/bookmarks", headers=bob.headers, json={"url": "https://bob.example/"})
        # Bob's write went through while alice's import was still being parsed (it has not answered).
        assert created.status_code == 201, created.text
        assert importing.is_alive() and "imported" not in answers
    finally:
        release.set()
        importing.join(60)
    assert answers["imported"] == 200


def test_look_alike_spellings_of_one_address_are_one_bookmark_through_the_api_and_the_import(client, alice) -> None:
    first = client.post(f"{API}/bookmarks", headers=alice.headers, json={"url": "https://ＥＸＡＭＰＬＥ.com/"})
    assert first.status_code == 201 and first.json()["url"] == "https://example.com/"
    for spelling in ("https://e%78ample.com/", "HTTPS://EXAMPLE.COM:443/./"):
        again = client.post(f"{API}/bookmarks", headers=alice.headers, json={"url": spelling})
        assert again.status_code == 409 and again.json()["error"]["details"]["id"] == first.json()["id"]
    idn = client.post(f"{API}/bookmarks", headers=alice.headers, json={"url": "https://bücher.de/"}).json()
    body = client.post(f"{API}/import", headers=alice.headers, content=netscape(
        '<DT><A HREF="https://xn--bcher-kva.de/">xn form</A>', '<DT><A HREF="https://e%78ample.com">pct</A>')).json()
    assert (body["created"], body["updated"] + body["unchanged"]) == (0, 2)
    assert idn["url"] == "https://xn--bcher-kva.de/"
    assert len(client.get(f"{API}/bookmarks", headers=alice.headers).json()["items"]) == 2


@pytest.mark.parametrize("name", ["line\nbreak", "nul\x00", "bell\x07"])
def test_a_collection_name_with_a_control_character_is_refused_by_the_api_and_the_import(client, alice,
                                                                                         name: str) -> None:
    response = client.post(f"{API}/collections", headers=alice.headers, json={"name": name})
    assert response.status_code == 400 and "control character" in response.json()["error"]["message"]
    body = client.post(f"{API}/import", headers=alice.headers, content=kura_json(
        [{"url": "https://boxed.example/", "collection": 1}], [{"id": 1, "name": name}])).json()
    assert (body["created"], body["skipped"]) == (0, 2)  # the collection, and the bookmark in it
    assert client.get(f"{API}/collections", headers=alice.headers).json() == []
