"""The tokens page: create (the token shown once), list, revoke; only the user's own tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest

from tests.conftest import Account


def new_token(html: str) -> str | None:
    match = re.search(r'<input id="new-token"[^>]*\bvalue="([^"]+)"', html)
    return unescape(match[1]) if match else None


def create(client: Any, label: str, **form: str) -> Any:
    return client.post("/tokens", data={"csrf": client.csrf, "label": label, **form})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_tokens(client: Any, owner: Account) -> dict[str, dict[str, Any]]:
    return {t["label"]: t for t in client.get("/api/v1/tokens", headers=owner.headers).json()}


def test_a_new_token_is_shown_once_and_opens_the_api(web, alice: Account) -> None:
    c = web(alice)
    page = create(c, "laptop script")
    assert page.status_code == 200
    token = new_token(page.text)
    assert token and "the only time Kura shows it" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert token not in c.get("/tokens").text  # a second view does not show it
    answer = c.get("/api/v1/bookmarks", headers=bearer(token))
    assert answer.status_code == 200


def test_revoking_a_token_stops_it_opening_the_api(web, alice: Account) -> None:
    c = web(alice)
    token = new_token(create(c, "short-lived").text)
    assert token
    ident = api_tokens(c, alice)["short-lived"]["id"]
    page = c.post(f"/tokens/{ident}/revoke", data={"csrf": c.csrf})
    assert "Token “short-lived” revoked" in unescape(page.text)
    assert c.get("/api/v1/bookmarks", headers=bearer(token)).status_code == 401
    row = re.search(rf'<tr id="token-{ident}">(.*?)</tr>', page.text, re.S)
    assert row and "revoked" in row[1] and "/revoke" not in row[1]  # no second revoke button


def test_the_list_shows_label_created_last_used_expiry_and_state(web, alice: Account) -> None:
    c = web(alice)
    token = new_token(create(c, "used one", expires="30d").text)
    assert token
    c.get("/api/v1/tokens", headers=bearer(token))  # its first use is recorded
    listed = api_tokens(c, alice)["used one"]
    html = c.get("/tokens").text
    row = re.search(rf'<tr id="token-{listed["id"]}">(.*?)</tr>', html, re.S)
    assert row, html
    cells = [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>",
                                                                                      row[1], re.S)]
    assert cells[0] == "used one"
    assert cells[1].endswith(" UTC") and cells[2].endswith(" UTC")  # created, last used
    expires = datetime.fromisoformat(listed["expires"])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    assert cells[3] == f"{expires:%Y-%m-%d %H:%M} UTC"
    assert cells[4] == "live"


def test_a_token_without_expiry_says_never(web, alice: Account) -> None:
    c = web(alice)
    create(c, "forever")
    assert api_tokens(c, alice)["forever"]["expires"] is None
    row = re.search(rf'<tr id="token-{api_tokens(c, alice)["forever"]["id"]}">(.*?)</tr>', c.get("/tokens").text, re.S)
    assert row and row[1].count("never") == 2  # never used, never expires


def test_an_unreadable_expiry_shows_the_page_again_with_the_reason(web, alice: Account) -> None:
    c = web(alice)
    page = create(c, "odd", expires="soon")
    assert page.status_code == 400 and "is not a duration" in unescape(page.text)
    assert new_token(page.text) is None
    assert "odd" not in api_tokens(c, alice)


def test_an_admin_sees_only_their_own_tokens(web, admin: Account, alice: Account) -> None:
    mine = web(alice)
    create(mine, "alice's private label")
    html = web(admin).get("/tokens").text
    assert "alice&#39;s private label" not in html and "alice's private label" not in html
    assert len(re.findall(r'<tr id="token-', html)) == 1  # the admin's own "test" token


def test_every_control_on_the_page_has_a_label(web, alice: Account) -> None:
    page = create(web(alice), "x").text
    html = page[page.index('<main'):]  # the page's own controls; the layout's are W-core's
    for control in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html):
        assert f'<label for="{control}">' in html, control


@pytest.mark.parametrize("csrf", [None, "forged"])
def test_creating_or_revoking_without_the_forms_token_is_refused(web, alice: Account, csrf: str | None) -> None:
    c = web(alice)
    extra = {} if csrf is None else {"csrf": csrf}
    before = api_tokens(c, alice)
    assert c.post("/tokens", data={"label": "sneaky", **extra}).status_code == 403
    ident = before["test"]["id"]
    assert c.post(f"/tokens/{ident}/revoke", data=extra).status_code == 403
    assert {k: v["revoked"] for k, v in api_tokens(c, alice).items()} == {"test": None}


def test_the_tokens_page_asks_a_visitor_to_sign_in(client) -> None:
    response = client.get("/tokens", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2Ftokens")
