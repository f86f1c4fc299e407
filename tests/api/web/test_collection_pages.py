"""The collections page: the tree, create, rename, move (a cycle refused, saying why), delete."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from tests.conftest import Account


def collections(client: Any, owner: Account) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in client.get("/api/v1/collections", headers=owner.headers).json()}


def make(client: Any, owner: Account, name: str, parent: int | None = None) -> int:
    response = client.post("/api/v1/collections", json={"name": name, "parent_id": parent}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def save(client: Any, owner: Account, url: str, collection: int | None) -> int:
    response = client.post("/api/v1/bookmarks", json={"url": url, "collection": collection}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def item(html: str, ident: int) -> str:
    """One collection's list item, up to where its own sub-list (if any) begins."""
    match = re.search(rf'<li id="collection-{ident}">(.*?)(<ul|</li>)', html, re.S)
    assert match, f"no item for collection {ident}"
    return unescape(match[1])


def test_the_tree_nests_children_under_their_parent_with_counts_and_links(web, alice: Account) -> None:
    c = web(alice)
    work = make(c, alice, "Work")
    reading = make(c, alice, "Reading", work)
    home = make(c, alice, "Home")
    save(c, alice, "https://a.example/", reading)
    save(c, alice, "https://b.example/", reading)
    html = c.get("/collections").text
    nested = re.search(rf'<li id="collection-{work}">.*?<ul class="tree">\s*<li id="collection-{reading}">',
                       html, re.S)
    assert nested, "Reading is not listed inside Work"
    assert f'<a href="/?collection={reading}">Reading</a>' in item(html, reading)
    assert "2 bookmarks" in item(html, reading)
    assert "0 bookmarks" in item(html, home)
    assert html.index(f'id="collection-{home}"') < html.index(f'id="collection-{work}"')  # by name


def test_creating_a_collection_inside_another(web, alice: Account) -> None:
    c = web(alice)
    parent = make(c, alice, "Parent")
    response = c.post("/collections", data={"csrf": c.csrf, "name": "  Child {id} ", "parent_id": str(parent)},
                      follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/collections")
    assert collections(c, alice)["Child {id}"]["parent_id"] == parent
    assert "Collection “Child {id}” created." in unescape(c.get("/collections").text)


def test_creating_at_the_top_level_with_the_empty_parent_choice(web, alice: Account) -> None:
    c = web(alice)
    c.post("/collections", data={"csrf": c.csrf, "name": "Top", "parent_id": ""})
    assert collections(c, alice)["Top"]["parent_id"] is None


def test_the_create_form_offers_every_collection_as_a_parent_by_its_path(web, alice: Account) -> None:
    c = web(alice)
    child = make(c, alice, "B", make(c, alice, "A"))
    html = unescape(c.get("/collections").text)
    form = html[html.index('action="/collections"'):]
    assert '<label for="new-parent">' in form and '<label for="new-name">' in form
    assert f'<option value="{child}">A / B</option>' in form


def test_a_blank_name_shows_the_page_again_with_the_reason(web, alice: Account) -> None:
    c = web(alice)
    response = c.post("/collections", data={"csrf": c.csrf, "name": "   "})
    assert response.status_code == 400
    assert 'class="error"' in response.text and "collection name" in response.text
    assert collections(c, alice) == {}


def test_renaming_a_collection(web, alice: Account) -> None:
    c = web(alice)
    ident = make(c, alice, "Old")
    page = c.post(f"/collections/{ident}/rename", data={"csrf": c.csrf, "name": "New"})
    assert page.status_code == 200 and "Renamed to “New”." in unescape(page.text)
    assert collections(c, alice)["New"]["id"] == ident


def test_moving_a_collection_under_another_and_back_to_the_top(web, alice: Account) -> None:
    c = web(alice)
    a, b = make(c, alice, "A"), make(c, alice, "B")
    c.post(f"/collections/{b}/move", data={"csrf": c.csrf, "parent_id": str(a)})
    assert collections(c, alice)["B"]["parent_id"] == a
    page = c.post(f"/collections/{b}/move", data={"csrf": c.csrf, "parent_id": ""})
    assert "Moved “B”." in unescape(page.text)
    assert collections(c, alice)["B"]["parent_id"] is None


def test_moving_a_collection_under_its_own_descendant_is_refused_with_the_domains_reason(
    web, alice: Account
) -> None:
    c = web(alice)
    top = make(c, alice, "Top")
    below = make(c, alice, "Below", make(c, alice, "Middle", top))
    response = c.post(f"/collections/{top}/move", data={"csrf": c.csrf, "parent_id": str(below)})
    assert response.status_code == 400
    assert "a collection cannot move under itself or one of its descendants" in response.text
    assert collections(c, alice)["Top"]["parent_id"] is None


def test_deleting_a_collection_keeps_its_bookmarks_and_lifts_its_children(web, alice: Account) -> None:
    c = web(alice)
    top = make(c, alice, "Top")
    doomed = make(c, alice, "Doomed", top)
    child = make(c, alice, "Child", doomed)
    mark = save(c, alice, "https://a.example/", doomed)
    html = " ".join(unescape(c.get("/collections").text).split())
    assert "Deleting keeps its 1 bookmark (they are left without a collection) and moves its sub-collections" in html
    page = c.post(f"/collections/{doomed}/delete", data={"csrf": c.csrf})
    assert "its bookmarks stay" in page.text
    left = collections(c, alice)
    assert set(left) == {"Top", "Child"} and left["Child"]["id"] == child and left["Child"]["parent_id"] == top
    assert c.get(f"/api/v1/bookmarks/{mark}", headers=alice.headers).json()["collection"] is None


def test_a_user_without_collections_is_told_how_to_make_some(web, alice: Account) -> None:
    assert "No collections yet" in web(alice).get("/collections").text


@pytest.mark.parametrize("action, data", [("rename", {"name": "x"}), ("move", {"parent_id": ""}), ("delete", {})])
def test_a_post_without_the_forms_token_is_refused_and_changes_nothing(
    web, alice: Account, action: str, data: dict[str, str]
) -> None:
    c = web(alice)
    ident = make(c, alice, "Kept", make(c, alice, "Parent"))
    before = collections(c, alice)
    assert c.post(f"/collections/{ident}/{action}", data=data).status_code == 403
    assert c.post("/collections", data={"name": "new"}).status_code == 403
    assert collections(c, alice) == before


def test_a_move_offers_no_parent_inside_the_collection_itself(web, alice: Account) -> None:
    c = web(alice)
    top = make(c, alice, "Top")
    middle = make(c, alice, "Middle", top)
    other = make(c, alice, "Other")
    html = c.get("/collections").text
    select = re.search(rf'<select id="move-{top}" name="parent_id">(.*?)</select>', html, re.S)
    assert select, html
    offered = re.findall(r'<option value="(\d*)"', select[1])
    assert offered == ["", str(other)] and str(middle) not in offered
