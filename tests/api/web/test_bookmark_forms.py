"""Save this page (/add), edit, delete and bulk actions: real forms, real SQLite, CSRF and isolation."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from domain import bookmarks
from common.db import Database
from common.errors import NotFound
from tests.api.web.test_bookmark_pages import make_collection, row_ids, seed


def stored(db: Database, user_id: int, bookmark_id: int) -> dict[str, Any]:
    with db.read_session() as session:
        return bookmarks.get_bookmark(session, user_id=user_id, bookmark_id=bookmark_id)


def gone(db: Database, user_id: int, bookmark_id: int) -> bool:
    try:
        stored(db, user_id, bookmark_id)
    except NotFound:
        return True
    return False


def value_of(page: str, name: str) -> str:
    """The value an input named `name` shows (or a textarea's text)."""
    found = re.search(rf'<input [^>]*name="{name}"[^>]*value="([^"]*)"', page) or \
        re.search(rf'<textarea [^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no field {name!r} with a value"
    return html.unescape(found.group(1))


@pytest.fixture
def alice_web(web, alice):  # type: ignore[no-untyped-def]
    return web(alice)


def test_add_creates_the_bookmark_and_returns_to_the_list(alice_web, alice, db) -> None:
    shelf = make_collection(db, alice.user_id, "Shelf")
    r = alice_web.post("/add", data={"csrf": alice_web.csrf, "url": "HTTPS://Example.org:443/a", "title": "A page",
                                     "description": "about it", "tags": "one, two words ,", "unread": "on",
                                     "collection": str(shelf)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    listed = alice_web.get("/")
    assert "Saved “A page”." in listed.text
    [new_id] = row_ids(listed.text)
    saved = stored(db, alice.user_id, new_id)
    assert saved["url"] == "https://example.org/a" and saved["tags"] == ["one", "two words"]
    assert saved["unread"] is True and saved["collection"] == shelf and saved["description"] == "about it"


def test_the_bookmarklet_url_opens_a_prefilled_form(alice_web) -> None:
    r = alice_web.get("/add", params={"url": "https://new.example/x?y=1", "title": "T <b>", "description": "D"})
    assert r.status_code == 200
    assert value_of(r.text, "url") == "https://new.example/x?y=1"
    assert value_of(r.text, "title") == "T <b>" and "T <b>" not in r.text  # escaped
    assert value_of(r.text, "description") == "D"
    assert 'action="/add"' in r.text


def test_adding_a_saved_url_says_so_and_edits_that_bookmark(alice_web, alice, db) -> None:
    first = seed(db, alice.user_id, "https://dup.example/page", title="Mine already", tags=["kept"])
    r = alice_web.get("/add", params={"url": "https://DUP.example:443/page", "title": "Other title"})
    assert r.status_code == 200
    assert "You saved this page already" in r.text
    assert f'action="/b/{first}/edit"' in r.text
    assert value_of(r.text, "title") == "Mine already" and value_of(r.text, "tags") == "kept"


def test_posting_a_saved_url_keeps_the_input_and_links_the_first(alice_web, alice, db) -> None:
    first = seed(db, alice.user_id, "https://dup.example/")
    r = alice_web.post("/add", data={"csrf": alice_web.csrf, "url": "https://dup.example", "title": "Typed"})
    assert r.status_code == 409
    assert value_of(r.text, "title") == "Typed"
    assert f'href="/b/{first}/edit"' in r.text


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"url": "javascript:alert(1)"}, 400, "not bookmarkable"),
    ({"url": "https://ok.example/", "title": "t" * 2001}, 422, "title"),
    ({"url": "https://ok.example/", "tags": "a, " + "b" * 300}, 422, "tags"),
    ({"url": "https://ok.example/", "collection": "999999"}, 404, "collection"),
    ({"url": ""}, 422, "url"),
])
def test_invalid_input_is_shown_again_as_typed(alice_web, alice, db, data, status, message) -> None:
    typed = {"title": "My title", "description": "line one\nline two", "tags": "keep, these", **data}
    r = alice_web.post("/add", data={"csrf": alice_web.csrf, **typed})
    assert r.status_code == status, r.text
    assert 'role="alert"' in r.text and message in r.text.lower()
    for name in ("url", "title", "tags"):
        assert value_of(r.text, name) == typed[name]
    assert value_of(r.text, "description") == typed["description"]
    assert row_ids(alice_web.get("/").text) == []


def test_edit_changes_the_bookmark(alice_web, alice, db) -> None:
    bid = seed(db, alice.user_id, "https://e.example/", title="Before", tags=["old"], unread=True)
    page = alice_web.get(f"/b/{bid}/edit")
    assert page.status_code == 200 and value_of(page.text, "title") == "Before"
    r = alice_web.post(f"/b/{bid}/edit", data={"csrf": alice_web.csrf, "url": "https://e.example/",
                                               "title": "After", "tags": "new", "archived": "on"})
    assert r.status_code == 200 and "Saved “After”." in r.text  # followed the 303 to the list
    saved = stored(db, alice.user_id, bid)
    assert (saved["title"], saved["tags"], saved["unread"], saved["archived"]) == ("After", ["new"], False, True)


def test_an_edit_that_fails_keeps_what_was_typed(alice_web, alice, db) -> None:
    seed(db, alice.user_id, "https://taken.example/")
    bid = seed(db, alice.user_id, "https://e.example/", title="Before")
    r = alice_web.post(f"/b/{bid}/edit", data={"csrf": alice_web.csrf, "url": "https://taken.example/",
                                               "title": "Typed over"})
    assert r.status_code == 409
    assert value_of(r.text, "title") == "Typed over" and value_of(r.text, "url") == "https://taken.example/"
    assert stored(db, alice.user_id, bid)["title"] == "Before"


def test_delete_removes_it_after_a_clearly_labelled_button(alice_web, alice, db) -> None:
    bid = seed(db, alice.user_id, "https://d.example/")
    assert "Delete this bookmark</button>" in alice_web.get(f"/b/{bid}/edit").text
    r = alice_web.post(f"/b/{bid}/delete", data={"csrf": alice_web.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert gone(db, alice.user_id, bid)


def bulk(client, ids: list[int], action: str, tag: str = "", next_: str = "/") -> Any:  # type: ignore[no-untyped-def]
    return client.post("/bulk", data={"csrf": client.csrf, "ids": [str(i) for i in ids], "action": action,
                                      "tag": tag, "next": next_}, follow_redirects=False)


def test_bulk_actions_apply_to_the_selected_only(alice_web, alice, db) -> None:
    a, b, c = (seed(db, alice.user_id, f"https://{n}.example/", unread=True) for n in "abc")
    r = bulk(alice_web, [a, b], "tag", "later, team", next_="/?unread=1")
    assert r.status_code == 303 and r.headers["location"] == "/?unread=1"
    assert "2 bookmarks tagged." in alice_web.get("/").text
    assert [stored(db, alice.user_id, i)["tags"] for i in (a, b, c)] == [["later", "team"], ["later", "team"], []]
    assert bulk(alice_web, [a], "untag", "team").status_code == 303
    assert stored(db, alice.user_id, a)["tags"] == ["later"]
    assert bulk(alice_web, [a, c], "archive").status_code == 303
    assert bulk(alice_web, [b], "read").status_code == 303
    flags = [(stored(db, alice.user_id, i)["archived"], stored(db, alice.user_id, i)["unread"]) for i in (a, b, c)]
    assert flags == [(True, True), (False, False), (True, True)]
    assert bulk(alice_web, [a, c], "unarchive").status_code == 303
    assert bulk(alice_web, [b], "unread").status_code == 303
    assert not stored(db, alice.user_id, a)["archived"] and stored(db, alice.user_id, b)["unread"]
    assert bulk(alice_web, [a, c], "delete").status_code == 303
    assert gone(db, alice.user_id, a) and gone(db, alice.user_id, c) and not gone(db, alice.user_id, b)


@pytest.mark.parametrize(("action", "tag", "message"), [("tag", "", "type the tag"), ("explode", "", "choose"),
                                                         ("read", "", "select at least one")])
def test_a_bulk_form_missing_something_says_what(alice_web, alice, db, action, tag, message) -> None:
    bid = seed(db, alice.user_id, "https://b.example/", unread=True)
    ids = [] if message == "select at least one" else [bid]
    r = bulk(alice_web, ids, action, tag)
    assert r.status_code == 400 and message in r.text
    assert stored(db, alice.user_id, bid)["unread"] is True


def test_the_bulk_next_never_leaves_the_site(alice_web, alice, db) -> None:
    bid = seed(db, alice.user_id, "https://b.example/")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert bulk(alice_web, [bid], "read", next_=target).headers["location"] == "/"


def test_another_users_bookmark_is_404_and_untouched(web, alice, bob, db) -> None:
    hers = seed(db, alice.user_id, "https://hers.example/", title="Hers", unread=True)
    mine = seed(db, bob.user_id, "https://mine.example/")
    bob_web = web(bob)
    assert bob_web.get(f"/b/{hers}/edit").status_code == 404
    r = bob_web.post(f"/b/{hers}/edit", data={"csrf": bob_web.csrf, "url": "https://x.example/", "title": "Bob's"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert bob_web.post(f"/b/{hers}/delete", data={"csrf": bob_web.csrf}).status_code == 404
    assert bulk(bob_web, [hers], "delete").status_code == 404
    r = bulk(bob_web, [hers, mine], "read")
    assert r.status_code == 303  # his own one is done; hers is reported missing, never touched
    assert "1 could not be found" in bob_web.get("/").text
    assert stored(db, alice.user_id, hers)["title"] == "Hers" and stored(db, alice.user_id, hers)["unread"] is True
    assert "hers.example" not in bob_web.get("/").text
    assert "Hers" not in bob_web.get("/add", params={"url": "https://hers.example/"}).text


@pytest.mark.parametrize("csrf", [None, "", "forged"])
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(alice_web, alice, db, csrf) -> None:
    bid = seed(db, alice.user_id, "https://c.example/", title="Same", unread=True)
    token = {} if csrf is None else {"csrf": csrf}
    posts = [("/add", {"url": "https://new.example/"}), (f"/b/{bid}/edit", {"url": "https://c.example/", "title": "X"}),
             (f"/b/{bid}/delete", {}), ("/bulk", {"ids": [str(bid)], "action": "delete"})]
    for path, data in posts:
        r = alice_web.post(path, data={**token, **data}, follow_redirects=False)
        assert r.status_code == 403, path
    assert row_ids(alice_web.get("/").text) == [bid]
    assert stored(db, alice.user_id, bid)["title"] == "Same"


@pytest.mark.parametrize("bad_id", ["0", str(2**63), "-1"])
def test_an_impossible_id_is_an_error_page_not_a_crash(alice_web, bad_id) -> None:
    r = alice_web.get(f"/b/{bad_id}/edit", headers={"Accept": "text/html"})  # as a browser asks
    assert r.status_code in (404, 422) and r.headers["content-type"].startswith("text/html")
    r = alice_web.post(f"/b/{bad_id}/delete", data={"csrf": alice_web.csrf})
    assert r.status_code in (404, 422)


def test_an_edit_into_another_users_collection_keeps_the_form(web, alice, bob, db) -> None:
    theirs = make_collection(db, bob.user_id, "Bob's")
    bid = seed(db, alice.user_id, "https://e.example/", title="Before")
    c = web(alice)
    r = c.post(f"/b/{bid}/edit", data={"csrf": c.csrf, "url": "https://e.example/", "title": "Typed",
                                       "collection": str(theirs)})
    assert r.status_code == 404 and 'role="alert"' in r.text and "no collection" in r.text
    assert value_of(r.text, "title") == "Typed"
    assert stored(db, alice.user_id, bid)["collection"] is None
