"""axe-core, run in the real browser on each main page: no "serious" or "critical" violation (issue 14).

Each page prints one summary line (violations by impact, and their rule ids) for the record; light
and, for the list page, dark colours (`prefers-color-scheme: dark`, where contrast is easiest to lose).
Each main page also loads nothing from another site (issue 14: no external requests)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.live import VIEWPORT, Site, sign_in

pytestmark = pytest.mark.browser
BLOCKING = ("critical", "serious")
PAGES = {"list": "/", "add": "/add", "tags": "/tags", "collections": "/collections", "import": "/import",
         "tokens": "/tokens", "settings": "/settings", "status": "/status"}


@pytest.fixture(scope="module")
def admin_page(chromium: Browser, site: Site) -> Iterator[Page]:
    """One signed-in admin for the module: axe only reads the pages, so they can share it."""
    context: BrowserContext = chromium.new_context(base_url=site.base, viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in(page, site, "admin")
    yield page
    context.close()


def audit(page: Page, name: str) -> list[dict]:  # type: ignore[type-arg]
    """Run axe on the page as it is; print the summary line; the blocking violations."""
    results = Axe().run(page).response
    violations = results["violations"]
    impacts = Counter(v["impact"] for v in violations)
    counts = ", ".join(f"{impact} {impacts.get(impact, 0)}" for impact in ("critical", "serious", "moderate", "minor"))
    rules = " ".join(sorted(f"{v['id']}({v['impact']})" for v in violations)) or "-"
    review = " ".join(sorted(v["id"] for v in results["incomplete"])) or "-"  # axe could not decide these
    print(f"axe {name}: {len(violations)} violations ({counts}); rules: {rules}; to review by hand: {review}")
    return [v for v in violations if v["impact"] in BLOCKING]


def described(violations: list[dict]) -> str:  # type: ignore[type-arg]
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
                     for v in violations)


def test_the_sign_in_page_has_no_serious_accessibility_violation(page: Page, site: Site,
                                                                   shoot: Callable[[Page, str], Path]) -> None:
    page.goto("/login")
    shoot(page, "login")
    blocking = audit(page, "login")
    assert not blocking, described(blocking)


def test_the_check_itself_catches_a_control_without_a_label(page: Page) -> None:
    """Zero violations must mean the pages are fine, not that axe did not run: an unlabelled input
    slipped into the sign-in form is reported as critical."""
    page.goto("/login")
    page.locator("form").first.evaluate("f => f.append(document.createElement('input'))")
    assert [v["id"] for v in audit(page, "login with an unlabelled input (must fail)")] == ["label"]


@pytest.mark.parametrize("name", list(PAGES))
def test_each_main_page_has_no_serious_accessibility_violation(admin_page: Page, name: str, site: Site,
                                                               shoot: Callable[[Page, str], Path]) -> None:
    response = admin_page.goto(PAGES[name])
    assert response is not None and response.status == 200, f"{PAGES[name]} answered {response and response.status}"
    admin_page.wait_for_load_state("load")
    fetched = admin_page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched and all(url.startswith(site.base + "/") for url in fetched), f"fetched from elsewhere: {fetched}"
    shoot(admin_page, name)
    blocking = audit(admin_page, name)
    assert not blocking, described(blocking)


def test_the_edit_page_has_no_serious_accessibility_violation(admin_page: Page,
                                                              shoot: Callable[[Page, str], Path]) -> None:
    admin_page.goto("/")
    admin_page.get_by_role("link", name=re.compile("^edit", re.I)).first.click()
    expect(admin_page).to_have_url(re.compile(r"/b/\d+/edit$"))
    shoot(admin_page, "edit")
    blocking = audit(admin_page, "edit")
    assert not blocking, described(blocking)


def test_the_list_page_in_dark_colours_has_no_serious_accessibility_violation(
        admin_page: Page, shoot: Callable[[Page, str], Path]) -> None:
    admin_page.emulate_media(color_scheme="dark")
    try:
        admin_page.goto("/")
        dark = admin_page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark, "the browser did not take the dark colour scheme"
        shoot(admin_page, "list-dark")
        blocking = audit(admin_page, "list (dark)")
    finally:
        admin_page.emulate_media(color_scheme="light")
    assert not blocking, described(blocking)
