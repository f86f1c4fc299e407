"""Accounts and their limits in a real headless chromium, against a real kura-api (issue 14's Proof):
sign in and out, the session cookie, tokens, the admins-only status page, CSRF, another user's 404."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.live import Site, open_edit, sign_in

pytestmark = pytest.mark.browser
Shoot = Callable[[Page, str], Path]
SignedIn = Callable[[str], Page]


def test_signing_in_opens_the_list_and_signing_out_ends_the_session(
        context: BrowserContext, page: Page, site: Site, shoot: Shoot) -> None:
    response = page.goto("/")
    assert response is not None
    expect(page).to_have_url(re.compile(r"/login(\?next=(/|%2F))?$"))
    shoot(page, "login")
    sign_in(page, site, "alice")
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_be_visible()
    shoot(page, "list")
    (cookie,) = [c for c in context.cookies() if c["name"] == "kura_session"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)  # plain http here
    assert "kura_session" not in page.evaluate("document.cookie")  # no script can read it
    page.get_by_role("button", name=re.compile("sign out", re.I)).click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/tags")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)tags$"))
    with_old_cookie = page.request.get(f"{site.base}/tags", headers={"Cookie": f"kura_session={cookie['value']}"},
                                       max_redirects=0)
    assert with_old_cookie.status == 303, "signing out ends the session on the server, not only the cookie"


def test_a_wrong_password_is_refused_on_the_form(page: Page) -> None:
    page.goto("/login")
    page.get_by_label(re.compile("user ?name", re.I)).fill("alice")
    page.get_by_label(re.compile("^password", re.I)).fill("not alice's password")
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("alert")).to_be_visible()


def test_a_new_token_is_shown_once_and_can_be_revoked(as_user: SignedIn, site: Site, shoot: Shoot) -> None:
    page = as_user("alice")
    page.goto("/tokens")
    page.get_by_label(re.compile("label", re.I)).fill("browser-test")
    page.get_by_role("button", name=re.compile("create", re.I)).click()
    shown = page.get_by_label("Token", exact=True)
    expect(shown).to_be_visible()
    token = shown.input_value()
    assert len(token) >= 20
    shoot(page, "tokens")
    assert page.request.get(f"{site.base}/api/v1/bookmarks", headers={"Authorization": f"Bearer {token}"}).ok
    page.goto("/tokens")
    expect(page.get_by_role("row").filter(has_text="browser-test")).to_have_count(1)
    expect(page.get_by_label("Token", exact=True)).to_have_count(0)  # shown once
    assert token not in page.content()
    listed = page.get_by_role("row").filter(has_text="browser-test")
    listed.get_by_role("button", name=re.compile("revoke", re.I)).click()
    expect(listed).to_contain_text(re.compile("revoked", re.I))
    gone = page.request.get(f"{site.base}/api/v1/bookmarks", headers={"Authorization": f"Bearer {token}"})
    assert gone.status == 401


def test_the_status_page_shows_its_charts_to_an_admin_and_is_hidden_from_others(
        context: BrowserContext, site: Site, as_user: SignedIn, shoot: Shoot) -> None:
    page = as_user("admin")
    page.get_by_role("link", name="Status", exact=True).click()
    expect(page).to_have_url(re.compile(r"/status$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile("status", re.I))
    for chart in ("Host CPU use", "Memory used"):  # drawn from the site's day of monitor history
        expect(page.get_by_role("img", name=chart)).to_be_visible()
    expect(page.locator("svg.chart polyline").first).to_be_attached()
    shoot(page, "status")
    other = context.browser.new_context(base_url=site.base)  # type: ignore[union-attr]
    try:
        alice = other.new_page()
        sign_in(alice, site, "alice")
        expect(alice.get_by_role("link", name="Status", exact=True)).to_have_count(0)
        assert alice.goto("/status").status == 404  # type: ignore[union-attr]
    finally:
        other.close()


def test_a_form_post_without_the_csrf_field_is_refused(as_user: SignedIn, site: Site) -> None:
    page = as_user("alice")
    refused = page.request.post(f"{site.base}/add", form={"url": "https://example.net/forged", "title": "Forged"},
                                max_redirects=0)
    assert refused.status == 403
    page.goto("/?" + urlencode({"q": "Forged"}))
    expect(page.get_by_role("link", name="Forged", exact=True)).to_have_count(0)


def test_another_users_bookmark_answers_404(context: BrowserContext, as_user: SignedIn, site: Site) -> None:
    page = as_user("alice")
    page.goto("/")
    open_edit(page, "Example Domain")
    alices = page.url
    other = context.browser.new_context(base_url=site.base)  # type: ignore[union-attr]
    try:
        bob = other.new_page()
        sign_in(bob, site, "bob")
        answer = bob.goto(alices)
        assert answer is not None and answer.status == 404
        csrf = bob.locator("input[name=csrf]").first.input_value()  # bob's own, valid: the owner check answers
        for action, form in ((alices, {"url": "https://example.com/Path?q=1", "title": "taken over"}),
                             (alices.replace("/edit", "/delete"), {})):
            refused = bob.request.post(action, form={"csrf": csrf, **form}, max_redirects=0)
            assert refused.status == 404, f"POST {action} as bob answered {refused.status}"
    finally:
        other.close()
    page.reload()
    expect(page.get_by_label(re.compile("^title", re.I))).to_have_value("Example Domain")
