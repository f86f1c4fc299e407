"""Write the README's screenshots, docs/screenshots/list.png and status.png, from a real Kura in Debian's
chromium: examples/bookmarks.html imported, one real backup taken with `kura-backup run`, and a week of
monitor history. The history is made up (a monitor left running for a week is not an option in a
script): plausible daily curves written through the monitor's own store, then rolled up as it does.

    .venv/bin/python -m tests.browser.screenshots [OUTPUT_DIR]      # default: docs/screenshots

The example's Japanese titles need a font for them (Debian: fonts-ipafont-gothic), or they show as boxes.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.live import ROOT
from tests.browser.live import VIEWPORT, kura, launch_chromium, sign_in, start_site

WEEK = timedelta(days=7)


def shot(page: Page, path: Path, *, height: float | None = None) -> None:
    """The window (1200 x 800), or the page's top `height` pixels at its width."""
    clip = None if height is None else {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height}
    page.screenshot(path=str(path), full_page=clip is not None, clip=clip)  # type: ignore[arg-type]
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kura-screenshots-") as tmp:
        site = start_site(Path(tmp), history=WEEK)
        try:
            kura(site.data_dir, "run", program="kura-backup")
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_context(base_url=site.base, viewport=VIEWPORT).new_page()
                sign_in(page, site, "admin")
                page.goto("/")
                shot(page, out / "list.png")
                page.goto("/status?range=7d")
                # The page down to the end of its first chart: everything at a glance, and one chart.
                chart = page.locator("figure.chart svg").first.bounding_box()
                assert chart is not None, "the status page drew no chart"
                shot(page, out / "status.png", height=chart["y"] + chart["height"] + 16)
                browser.close()
        finally:
            site.api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
