"""The tags page: every tag with its count, rename, merge by renaming onto an existing name, delete."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from tests.conftest import Account


def save(client: Any, owner: Account, url: str, tags: list[str]) -> int:
    response = client.post("/api/v1/bookmarks", json={"url": url, "tags": tags}, headers=owner.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def api_tags(client: Any, owner: Account) -> dict[str, int]:
    return {t["name"]: t["count"] for t in client.get("/api/v1/tags", headers=owner.headers).json()}


def tag_id(client: Any, owner: Account, name: str) -> int:
    return next(t["id"] for t in client.get("/api/v1/tags", headers=owner.headers).json() if t["name"] == name)


def bookmark_tags(client: Any, owner: Account, bookmark_id: int) -> list[str]:
    return sorted(client.get(f"/api/v1/bookmarks/{bookmark_id}", headers=owner.headers).json()["tags"])


def row(html: str, ident: int) -> str:
    """The table row of one tag, unescaped."""
    match = re.search(rf'<tr id="tag-{ident}">(.*?)</tr>', html, re.S)
    assert match, f"no row for tag {ident}"
    return unescape(match[1])


def test_the_tags_page_lists_every_tag_with_its_count_and_a_link_to_its_bookmarks(web, alice: Account) -> None:
    c = web(alice)
    save(c, alice, "https://a.example/", ["python", "r&d"])
    save(c, alice, "https://b.example/", ["python"])
    page = c.get("/tags")
    assert page.status_code == 200
    python, rnd = tag_id(c, alice, "python"), tag_id(c, alice, "r&d")
    assert '<a class="tag" href="/?tag=python">python</a>' in row(page.text, python)
    assert re.search(r'<td class="count">2</td>', row(page.text, python))
    assert 'href="/?tag=r%26d"' in page.text  # the name is a query value, so '&' is encoded
    assert re.search(r'<td class="count">1</td>', row(page.text, rnd))


def test_the_tags_page_sorts_by_count_when_asked(web, alice: Account) -> None:
    c = web(alice)
    save(c, alice, "https://a.example/", ["alpha", "zulu"])
    save(c, alice, "https://b.example/", ["zulu"])
    by_name, by_count = c.get("/tags").text, c.get("/tags?sort=count").text
    assert by_name.index(">alpha<") < by_name.index(">zulu<")
    assert by_count.index(">zulu<") < by_count.index(">alpha<")


def test_a_user_without_tags_is_told_where_tags_come_from(web, alice: Account) -> None:
    assert "No tags yet" in web(alice).get("/tags").text


def test_renaming_a_tag_renames_it_on_its_bookmarks_and_says_so(web, alice: Account) -> None:
    c = web(alice)
    mark = save(c, alice, "https://a.example/", ["pyhton"])
    response = c.post(f"/tags/{tag_id(c, alice, 'pyhton')}/rename", data={"csrf": c.csrf, "name": "python"},
                      follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/tags")
    assert bookmark_tags(c, alice, mark) == ["python"]
    assert "Renamed to “python”" in unescape(c.get("/tags").text)


def test_renaming_onto_an_existing_name_merges_the_two_and_says_so(web, alice: Account) -> None:
    c = web(alice)
    first = save(c, alice, "https://a.example/", ["py"])
    both = save(c, alice, "https://b.example/", ["py", "python"])
    save(c, alice, "https://c.example/", ["python"])
    page = c.post(f"/tags/{tag_id(c, alice, 'py')}/rename", data={"csrf": c.csrf, "name": "python"})
    assert page.status_code == 200
    assert "Merged into “python”, now on 3 bookmarks" in unescape(page.text)
    assert api_tags(c, alice) == {"python": 3}
    assert (bookmark_tags(c, alice, first), bookmark_tags(c, alice, both)) == (["python"], ["python"])


def test_the_page_tells_that_renaming_onto_an_existing_name_merges(web, alice: Account) -> None:
    c = web(alice)
    save(c, alice, "https://a.example/", ["py"])
    assert "merges the two" in c.get("/tags").text


@pytest.mark.parametrize("name", ["   ", "x" * 300])
def test_a_bad_new_name_shows_the_page_again_with_the_reason_and_changes_nothing(
    web, alice: Account, name: str
) -> None:
    c = web(alice)
    save(c, alice, "https://a.example/", ["keep"])
    response = c.post(f"/tags/{tag_id(c, alice, 'keep')}/rename", data={"csrf": c.csrf, "name": name})
    assert response.status_code in (400, 422)
    assert 'class="error"' in response.text
    assert api_tags(c, alice) == {"keep": 1}


def test_deleting_a_tag_removes_it_and_keeps_its_bookmarks(web, alice: Account) -> None:
    c = web(alice)
    mark = save(c, alice, "https://a.example/", ["old", "stays"])
    page = c.post(f"/tags/{tag_id(c, alice, 'old')}/delete", data={"csrf": c.csrf})
    assert page.status_code == 200
    assert "Tag deleted; its bookmarks stay." in page.text
    assert api_tags(c, alice) == {"stays": 1}
    assert bookmark_tags(c, alice, mark) == ["stays"]


def test_each_tag_has_a_labelled_rename_field_and_a_clearly_named_delete_button(web, alice: Account) -> None:
    c = web(alice)
    save(c, alice, "https://a.example/", ["solo"])
    ident = tag_id(c, alice, "solo")
    html = row(c.get("/tags").text, ident)
    assert f'<label for="rename-{ident}" class="visually-hidden">New name for “solo”' in html
    assert f'id="rename-{ident}"' in html
    assert "Delete tag “solo”" in html


@pytest.mark.parametrize("action, data", [("rename", {"name": "taken"}), ("delete", {})])
@pytest.mark.parametrize("csrf", [None, "forged"])
def test_a_post_without_the_forms_token_is_refused_and_changes_nothing(
    web, alice: Account, action: str, data: dict[str, str], csrf: str | None
) -> None:
    c = web(alice)
    save(c, alice, "https://a.example/", ["mine"])
    sent = data if csrf is None else {**data, "csrf": csrf}
    response = c.post(f"/tags/{tag_id(c, alice, 'mine')}/{action}", data=sent)
    assert response.status_code == 403
    assert api_tags(c, alice) == {"mine": 1}


def test_the_tags_page_asks_a_visitor_to_sign_in(client) -> None:
    response = client.get("/tags", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2Ftags")
