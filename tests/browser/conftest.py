"""Fixtures for the browser tests: one headless chromium and one real kura-api for this package (its
set-up runs several command lines; tests keep to their own bookmarks or only read), a fresh browser
context (cookies, storage) per test, and screenshots under the test's tmp_path.

Without /usr/bin/chromium the tests fail where `./install.sh --dev` would have installed it (root with
apt-get) or under CI (`CI` set): a missing browser must not pass as a green run. Elsewhere they skip,
saying so (as tests.support.program does for nginx and caddy)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.browser.live import CHROMIUM, VIEWPORT, Site, launch_chromium, sign_in, start_site

# Generous for two busy cores; every wait is on a condition, so a quick page costs no more.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)


# Package scope, not session: sync Playwright runs an asyncio loop in the main thread for as long as
# it is started, and tests after this folder (anyio.run in tests/domain) must find none running.
@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        message = f"the browser tests need {CHROMIUM} (Debian's chromium): ./install.sh --dev installs it as root"
        if os.environ.get("CI") or (os.geteuid() == 0 and shutil.which("apt-get")):
            pytest.fail(message)  # it could have been installed here: a missing browser is no green run
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running = start_site(tmp_path_factory.mktemp("kura"))
    yield running
    status = running.api.stop()
    assert status == 0, running.api.exited()


@pytest.fixture
def context(chromium: Browser, site: Site) -> Iterator[BrowserContext]:
    ctx = chromium.new_context(base_url=site.base, viewport=VIEWPORT)
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def as_user(page: Page, site: Site) -> Callable[[str], Page]:
    """`as_user("alice")`: this test's page, signed in as that user through the sign-in form."""

    def signed_in(name: str) -> Page:
        sign_in(page, site, name)
        return page

    return signed_in


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Page, str], Path]:
    """`shoot(page, "list")`: a full-page screenshot in tmp_path, its path printed for the record."""

    def take(page: Page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot {name}: {path}")
        return path

    return take
