"""Write the README's screenshots, docs/screenshots/list.png and status.png, from a real Kura in Debian's
chromium: examples/bookmarks.html imported, one real backup taken with `kura-backup run`, and a week of
monitor history. The history is made up (a monitor left running for a week is not an option in a
script): plausible daily curves written through the monitor's own store, then rolled up as it does.

    .venv/bin/python -m tests.browser.screenshots [OUTPUT_DIR]      # default: docs/screenshots
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.live import ROOT
from tests.browser.live import VIEWPORT, kura, launch_chromium, sign_in, start_site

WEEK = timedelta(days=7)


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
                for name, path in (("list", "/"), ("status", "/status")):
                    page.goto(path)
                    page.screenshot(path=str(out / f"{name}.png"))
                    print(f"wrote {out / f'{name}.png'} ({(out / f'{name}.png').stat().st_size:,} bytes)")
                browser.close()
        finally:
            site.api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
