"""A person keeping bookmarks in a real headless chromium, against a real kura-api (issue 14's Proof):
the bookmarklet, search, filters, bulk tagging, edit, delete, import, keys, a narrow screen, no script.

The site has examples/bookmarks.html imported for alice and admin; tests that change bookmarks add
their own first (through the bookmarklet's URL), so each test stands on its own. Locators are by role
and label, as assistive technology finds the controls: a control without a name fails here too."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.live import EXAMPLE, Site, add_through_bookmarklet, open_edit, row, sign_in

pytestmark = pytest.mark.browser
Shoot = Callable[[Page, str], Path]
SignedIn = Callable[[str], Page]


def test_the_bookmarklet_url_saves_the_page_and_a_second_visit_says_it_is_already_saved(
        as_user: SignedIn, shoot: Shoot) -> None:
    page = as_user("alice")
    url, title = "https://example.net/bookmarklet-page", "A page saved from the toolbar"
    page.goto("/add?" + urlencode({"url": url, "title": title}))
    shoot(page, "add")
    add_through_bookmarklet(page, url, title, tags="toolbar, saved")
    page.goto("/")
    expect(row(page, title)).to_be_visible()
    page.goto("/add?" + urlencode({"url": url, "title": "another title"}))
    expect(page.get_by_role("status")).to_contain_text(re.compile("saved this page already", re.I))
    expect(page.get_by_label(re.compile("^title", re.I))).to_have_value(title)  # that bookmark's own form
    expect(page.get_by_role("button", name=re.compile("delete", re.I))).to_be_visible()


def test_the_bookmarklet_from_settings_opens_the_add_page_for_the_page_it_is_clicked_on(
        context: BrowserContext, as_user: SignedIn) -> None:
    page = as_user("alice")
    page.goto("/settings")
    code = page.get_by_role("link", name="Save to Kura").get_attribute("href") or ""
    assert code.startswith("javascript:")
    article = "https://example.net/an-article-worth-keeping"
    # The page it is clicked on comes from the browser itself (a route), so nothing leaves loopback;
    # the bookmarklet sits on it as a link, as on a toolbar: clicking runs it in that page.
    context.route(article, lambda route: route.fulfill(content_type="text/html", body=(
        f'<!doctype html><title>An article &amp; its title</title><p id="quote">A sentence worth quoting.</p>'
        f'<p><a href="{html.escape(code)}">Save to Kura</a></p>')))
    page.goto(article)
    page.locator("#quote").select_text()
    with context.expect_page() as opened:
        page.get_by_role("link", name="Save to Kura").click()
    added = opened.value
    expect(added).to_have_url(re.compile(r"/add\?url="))
    expect(added.get_by_label("URL", exact=True)).to_have_value(article)
    expect(added.get_by_label(re.compile("^title", re.I))).to_have_value("An article & its title")
    expect(added.get_by_label(re.compile("^description", re.I))).to_have_value("A sentence worth quoting.")
    added.get_by_role("button", name=re.compile("^save", re.I)).click()
    expect(added.get_by_role("link", name="An article & its title", exact=True)).to_be_visible()
    with context.expect_page() as again:
        page.get_by_role("link", name="Save to Kura").click()
    expect(again.value.get_by_role("status")).to_contain_text(re.compile("saved this page already", re.I))


def test_a_search_narrows_the_list_with_the_api_syntax(as_user: SignedIn) -> None:
    page = as_user("alice")
    search = page.get_by_role("searchbox", name="Search bookmarks")
    search.fill("sqlite")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=sqlite"))
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Example Domain", exact=True)).to_have_count(0)
    search.fill("#python -sqlite")
    search.press("Enter")
    expect(page.get_by_role("link", name=re.compile("^html.parser"))).to_be_visible()
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_have_count(0)


def test_a_tag_click_and_a_collection_in_the_side_panel_filter_the_list(as_user: SignedIn) -> None:
    page = as_user("alice")
    row(page, "The WITH Clause").get_by_role("link", name="sqlite", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]tag=sqlite"))
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Example Domain", exact=True)).to_have_count(0)
    page.goto("/")
    page.get_by_role("navigation", name="Collections").get_by_role("link", name="Mozilla Firefox").click()
    expect(page).to_have_url(re.compile(r"[?&]collection=\d+"))
    expect(page.get_by_role("link", name="Get Help", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_have_count(0)


def test_bulk_tagging_tags_every_selected_bookmark(as_user: SignedIn) -> None:
    page = as_user("alice")
    titles = ("Bulk one", "Bulk two")
    for n, title in enumerate(titles):
        add_through_bookmarklet(page, f"https://example.net/bulk/{n}", title)
    page.goto("/")
    for title in titles:
        row(page, title).get_by_role("checkbox").check()
    page.get_by_label(re.compile("^action", re.I)).select_option("tag")
    page.get_by_label(re.compile("^tag", re.I)).last.fill("bulk-tagged")
    page.get_by_role("button", name=re.compile("apply", re.I)).click()
    for title in titles:  # back on the list, each row shows its new tag
        expect(row(page, title).get_by_role("link", name="bulk-tagged", exact=True)).to_be_visible()
    page.goto("/?tag=bulk-tagged")
    for title in titles:
        expect(row(page, title)).to_be_visible()
    expect(page.get_by_role("link", name="Example Domain", exact=True)).to_have_count(0)


def test_editing_then_deleting_a_bookmark(as_user: SignedIn, shoot: Shoot) -> None:
    page = as_user("alice")
    add_through_bookmarklet(page, "https://example.net/to-edit", "Before the edit")
    page.goto("/")
    open_edit(page, "Before the edit")
    shoot(page, "edit")
    page.get_by_label(re.compile("^title", re.I)).fill("After the edit")
    page.get_by_role("button", name=re.compile("^save", re.I)).click()
    expect(page.get_by_role("status")).to_contain_text("After the edit")
    page.goto("/")
    expect(row(page, "After the edit")).to_be_visible()
    expect(page.get_by_role("link", name="Before the edit", exact=True)).to_have_count(0)
    open_edit(page, "After the edit")
    page.get_by_role("button", name=re.compile("^delete", re.I)).click()
    expect(page.get_by_role("status")).to_contain_text(re.compile("deleted", re.I))
    page.goto("/")
    expect(page.get_by_role("link", name="After the edit", exact=True)).to_have_count(0)


def test_importing_a_browser_file_shows_the_report(as_user: SignedIn, shoot: Shoot) -> None:
    page = as_user("bob")
    page.goto("/import")
    shoot(page, "import")
    page.get_by_label(re.compile("file", re.I)).first.set_input_files(str(EXAMPLE))
    page.get_by_role("button", name=re.compile("^import", re.I)).click()
    expect(page.get_by_text(re.compile(r"created 7, updated 0, unchanged 0, skipped 2"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"line 23: place: link is browser-internal"))).to_be_visible()
    shoot(page, "import-report")
    page.goto("/")
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_be_visible()


def test_slash_focuses_the_search_and_n_opens_the_add_page(as_user: SignedIn) -> None:
    page = as_user("alice")
    page.locator("body").press("/")
    expect(page.locator("#search")).to_be_focused()
    page.locator("#search").press("Escape")
    page.locator("#search").evaluate("el => el.blur()")
    page.locator("body").press("n")
    expect(page).to_have_url(re.compile(r"/add$"))


def test_the_list_page_has_no_horizontal_scroll_at_320_pixels(as_user: SignedIn, shoot: Shoot) -> None:
    page = as_user("alice")
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/")
    expect(page.get_by_role("link", name="The WITH Clause", exact=True)).to_be_visible()
    shoot(page, "list-320px")
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px window"


def test_with_javascript_off_a_person_can_still_sign_in_save_and_see_the_status_charts(
        context: BrowserContext, site: Site) -> None:
    browser = context.browser
    assert browser is not None
    no_script = browser.new_context(base_url=site.base, java_script_enabled=False)
    try:
        page = no_script.new_page()
        sign_in(page, site, "admin")
        add_through_bookmarklet(page, "https://example.net/no-script", "Saved with JavaScript off")
        page.goto("/")
        expect(row(page, "Saved with JavaScript off")).to_be_visible()
        page.goto("/status")
        expect(page.get_by_role("img", name="Host CPU use")).to_be_visible()
    finally:
        no_script.close()
