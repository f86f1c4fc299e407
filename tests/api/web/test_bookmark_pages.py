"""The bookmark list page (/): order, marks, filters, search, "More", ETag/304 and its statement count."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from domain import bookmarks, collections, tags
from common.db import Database


def seed(db: Database, user_id: int, url: str, **fields: Any) -> int:
    with db.write_session() as session:
        return bookmarks.create_bookmark(session, user_id=user_id, url=url, **fields)["id"]


def make_collection(db: Database, user_id: int, name: str, parent_id: int | None = None) -> int:
    with db.write_session() as session:
        return collections.create_collection(session, user_id=user_id, name=name, parent_id=parent_id)["id"]


def row_ids(page: str) -> list[int]:
    """The bookmarks a list page shows, in order."""
    return [int(i) for i in re.findall(r'<li id="b(\d+)">', page)]


def href(page: str, text: str) -> str:
    """The target of the first link whose text is `text`."""
    for target, inner in re.findall(r'<a [^>]*?href="([^"]*)"[^>]*>(.*?)</a>', page, re.S):
        if re.sub(r"<[^>]+>", "", inner).strip().startswith(text):
            return html.unescape(target)
    raise AssertionError(f"no link {text!r} on the page")


@pytest.fixture
def alice_web(web, alice):  # type: ignore[no-untyped-def]
    return web(alice)


def test_the_list_shows_newest_first_with_domain_tags_and_marks(alice_web, alice, db) -> None:
    reading = make_collection(db, alice.user_id, "Reading")
    old = seed(db, alice.user_id, "https://www.old.example/a", title="Old one", tags=["past"])
    new = seed(db, alice.user_id, "https://new.example/b", title="New one", tags=["python", "web"],
               collection_id=reading, unread=True, archived=True)
    r = alice_web.get("/")
    assert r.status_code == 200, r.text
    assert row_ids(r.text) == [new, old]
    assert '<a class="title" href="https://new.example/b" rel="noopener noreferrer">New one</a>' in r.text
    assert "old.example" in r.text and "new.example" in r.text
    assert href(r.text, "python") == "/?tag=python" and href(r.text, "past") == "/?tag=past"
    shown = html.unescape(r.text)
    assert "● unread" in shown and "▣ archived" in shown  # text, not colour alone
    assert shown.count("● unread") == 1
    assert f'href="/?collection={reading}">Reading</a>' in r.text


def test_a_tag_click_filters_the_list(alice_web, alice, db) -> None:
    tagged = seed(db, alice.user_id, "https://a.example/", tags=["two words", "x"])
    seed(db, alice.user_id, "https://b.example/", tags=["x"])
    page = alice_web.get("/").text
    r = alice_web.get(href(page, "two words"))
    assert r.status_code == 200
    assert row_ids(r.text) == [tagged]
    assert "Tagged two words" in r.text


def test_the_collection_tree_in_the_side_panel_filters_by_collection(alice_web, alice, db) -> None:
    parent = make_collection(db, alice.user_id, "Work")
    child = make_collection(db, alice.user_id, "Projects", parent_id=parent)
    inside = seed(db, alice.user_id, "https://in.example/", collection_id=child)
    seed(db, alice.user_id, "https://out.example/")
    page = alice_web.get("/").text
    assert re.search(r"Work</a>\s*<ul>.*Projects</a>", page, re.S), "the child nests under its parent"
    r = alice_web.get(href(page, "Projects"))
    assert row_ids(r.text) == [inside]
    assert 'aria-current="page">Projects' in r.text


def test_unread_and_archived_filters_show_only_those(alice_web, alice, db) -> None:
    unread = seed(db, alice.user_id, "https://u.example/", unread=True)
    archived = seed(db, alice.user_id, "https://a.example/", archived=True)
    seed(db, alice.user_id, "https://plain.example/")
    assert row_ids(alice_web.get("/?unread=1").text) == [unread]
    assert row_ids(alice_web.get("/?archived=1").text) == [archived]
    assert len(row_ids(alice_web.get("/?archived=0").text)) == 2


def test_search_takes_the_api_syntax(alice_web, alice, db) -> None:
    hit = seed(db, alice.user_id, "https://s1.example/", title="Sourdough bread", tags=["baking"])
    seed(db, alice.user_id, "https://s2.example/", title="Sourdough starter", tags=["baking", "dull"])
    seed(db, alice.user_id, "https://s3.example/", title="Bread machines")
    r = alice_web.get("/", params={"q": "sourdough -starter #baking"})
    assert r.status_code == 200
    assert row_ids(r.text) == [hit]
    assert "Search “sourdough -starter #baking”" in r.text
    assert row_ids(alice_web.get("/", params={"q": "bread"}).text).__len__() == 2


def test_a_bad_search_is_an_error_page_not_json(alice_web) -> None:
    r = alice_web.get("/", params={"q": "x" * 1001})
    assert r.status_code in (400, 422)
    assert r.headers["content-type"].startswith("text/html")


def test_more_gives_the_next_page_with_no_overlap(alice_web, alice, db) -> None:
    made = [seed(db, alice.user_id, f"https://p{i}.example/", tags=["many"]) for i in range(57)]
    for start in ("/", "/?tag=many"):
        first = alice_web.get(start).text
        assert row_ids(first) == made[::-1][:50]
        more = href(first, "More")
        assert "cursor=" in more
        second = alice_web.get(more).text
        assert row_ids(second) == made[::-1][50:]
        assert 'rel="next"' not in second


def test_a_matching_if_none_match_gets_304_and_a_write_a_new_etag(alice_web, alice, db) -> None:
    seed(db, alice.user_id, "https://e.example/")
    first = alice_web.get("/?unread=0")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = alice_web.get("/?unread=0", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    assert alice_web.get("/?unread=1").headers["etag"] != etag  # another question, another tag
    seed(db, alice.user_id, "https://f.example/")
    after = alice_web.get("/?unread=0", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert "f.example" in after.text


def test_a_new_collection_changes_the_etag_as_the_side_panel_shows_it(alice_web, alice, db) -> None:
    etag = alice_web.get("/").headers["etag"]
    make_collection(db, alice.user_id, "Fresh")
    r = alice_web.get("/", headers={"If-None-Match": etag})
    assert r.status_code == 200 and "Fresh" in r.text


def test_the_etag_differs_between_sessions_of_one_user(web, alice, db) -> None:
    seed(db, alice.user_id, "https://e.example/")
    one, two = web(alice), web(alice)
    assert one.csrf != two.csrf
    etag = one.get("/").headers["etag"]
    assert two.get("/", headers={"If-None-Match": etag}).status_code == 200  # its page embeds another token


def test_a_page_showing_a_notice_has_no_etag_of_its_own_and_is_not_stored(alice_web, alice, db) -> None:
    r = alice_web.post("/add", data={"csrf": alice_web.csrf, "url": "https://n.example/"}, follow_redirects=False)
    assert r.status_code == 303
    shown = alice_web.get("/")
    assert "Saved" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert not shown.headers.get("etag", "").startswith('W/"p')
    assert "Saved" not in alice_web.get("/").text  # shown once


def test_the_list_costs_the_same_few_statements_for_5_or_50_rows(alice_web, alice, db, count_queries) -> None:
    make_collection(db, alice.user_id, "C")
    for i in range(5):
        seed(db, alice.user_id, f"https://c{i}.example/", tags=[f"t{i}", "common"])
    alice_web.get("/")  # warm: the session's first use may record itself
    with count_queries:
        assert len(row_ids(alice_web.get("/").text)) == 5
    few = count_queries.count
    for i in range(5, 60):
        seed(db, alice.user_id, f"https://c{i}.example/", tags=[f"t{i}", "common"])
    with count_queries:
        assert len(row_ids(alice_web.get("/").text)) == 50
    assert count_queries.count == few <= 4, count_queries.statements
    with count_queries:
        assert len(row_ids(alice_web.get("/?tag=common").text)) == 50
    assert count_queries.count == few, count_queries.statements


def test_signed_out_the_list_sends_to_the_sign_in_page(client) -> None:
    r = client.get("/?tag=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_becoming_an_admin_changes_the_etag_as_the_header_gains_a_link(alice_web, alice, db) -> None:
    etag = alice_web.get("/").headers["etag"]
    with db.write_session() as session:
        session.connection().exec_driver_sql("UPDATE users SET is_admin = 1 WHERE id = ?", (alice.user_id,))
    r = alice_web.get("/", headers={"If-None-Match": etag})
    assert r.status_code == 200 and 'href="/status"' in r.text


def test_a_forged_cursor_is_an_error_page(alice_web) -> None:
    r = alice_web.get("/", params={"cursor": "bm90IG91cnM"})
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "cursor" in r.text


def test_the_tree_nests_any_depth_as_well_formed_lists(alice_web, alice, db) -> None:
    with db.write_session() as session:
        parent = None
        for depth in range(1200):  # deeper than Python's recursion limit: the page does not recurse
            parent = collections.create_collection(session, user_id=alice.user_id, name=f"level {depth:04}",
                                                   parent_id=parent)["id"]
    top = make_collection(db, alice.user_id, "another top")
    page = alice_web.get("/").text
    tree = page[page.index('<ul class="list tree">'):page.index('<p><a href="/collections">')]
    assert tree.count("<ul") - 1 == tree.count("</ul>") - 1 == 1199
    assert tree.count("<li>") == tree.count("</li>") == 1201
    # siblings by name, children under their parent, in order
    assert tree.index(f'collection={top}"') < tree.index("level 0000") < tree.index("level 1199")


def test_a_row_shown_before_shows_every_later_change(alice_web, alice, db) -> None:
    """Rows are rendered once per stored answer (bookmark_views._shown_row): a change to the row, its
    tags or its collection's name must still show on the next view."""
    reading = make_collection(db, alice.user_id, "Reading")
    mark = seed(db, alice.user_id, "https://a.example/", title="First title", tags=["draft"], collection_id=reading)
    assert "First title" in alice_web.get("/").text
    with db.write_session() as session:
        bookmarks.update_bookmark(session, user_id=alice.user_id, bookmark_id=mark, changes={"title": "Second title"})
        tag_id = session.connection().exec_driver_sql("SELECT id FROM tags WHERE name = 'draft'").scalar()
        tags.rename_tag(session, user_id=alice.user_id, tag_id=tag_id, name="final")
        collections.update_collection(session, user_id=alice.user_id, collection_id=reading, name="Done")
    page = alice_web.get("/").text
    assert "Second title" in page and "First title" not in page
    assert href(page, "final") == "/?tag=final" and "?tag=draft" not in page
    assert f'href="/?collection={reading}">Done</a></span>' in page
