"""A Kura for the browser tests and the README's screenshots: a real `kura-api` on a free port of
127.0.0.1 over a fresh data directory, its users made with the `kura` command line as an admin makes
them (`kura user add`, `kura user passwd NAME --stdin`), Debian's chromium to look at it with, and
the few steps every browser test takes (sign in, save a page, find a bookmark in the list)."""

from __future__ import annotations

import math
import os
import random
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from bench.live import BIN, ROOT, LiveApi
from common.db import open_database
from common.settings import load_settings
from monitor.metrics import reading_from
from monitor.store import MetricsStore

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package, installed by ./install.sh --dev
# Headless, and nothing the browser would fetch or start on its own: the tests see only Kura's traffic.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# name -> (password, admin); passwords long enough for any rule the sign-in may have.
USERS = {"admin": ("admin's long password 1", True), "alice": ("alice's long password 2", False),
         "bob": ("bob's long password 3", False)}
EXAMPLE = ROOT / "examples" / "bookmarks.html"
VIEWPORT = {"width": 1200, "height": 800}  # a laptop; the narrow-screen test sets its own


def launch_chromium(playwright: Playwright) -> Browser:
    # launch() gives the browser a fresh profile (user-data-dir) of its own, removed on close.
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def kura(data_dir: Path, *args: str, stdin: str | None = None, program: str = "kura") -> str:
    """Run a Kura command line (`kura`, `kura-backup`) on `data_dir`, as `sudo kura ...` would on a
    host; its stdout."""
    return kura_each(data_dir, [(program, list(args), stdin)])[0]


def kura_each(data_dir: Path, commands: list[tuple[str, list[str], str | None]]) -> list[str]:
    """Run several (program, args, stdin) at once, each its own process (a command line costs seconds
    of start-up on a busy host; their writes simply queue for SQLite's lock); their stdouts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_")}
    env.update(KURA_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    running = [(program, args, stdin, subprocess.Popen(
        [str(BIN / program), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env, cwd=ROOT)) for program, args, stdin in commands]
    outputs = []
    for program, args, stdin, proc in running:
        out, err = proc.communicate(stdin, timeout=120)
        assert proc.returncode == 0, f"{program} {' '.join(args)} exited {proc.returncode}: {err}"
        outputs.append(out)
    return outputs


SAMPLE_EVERY = timedelta(minutes=5)


def sample(at: datetime, rng: random.Random) -> dict[tuple[str, str], float]:
    """One plausible reading of a small host: busier by day, a slowly filling disk."""
    day = math.sin((at.hour + at.minute / 60 - 8) / 24 * 2 * math.pi)  # peaks mid-afternoon
    hours_ago = (datetime.now(UTC) - at).total_seconds() / 3600
    return {
        ("cpu_percent", ""): max(1.0, 9 + 6 * day + rng.gauss(0, 2.5)),
        ("memory_available_percent", ""): 58 - 4 * day + rng.gauss(0, 1.0),
        ("filesystem_avail_percent", "/"): 61 + hours_ago * 0.012,
        ("process_cpu_percent", "kura-api"): max(0.1, 1.2 + 0.9 * day + rng.gauss(0, 0.4)),
        ("process_resident_memory_bytes", "kura-api"): 62e6 + 4e6 * day + rng.gauss(0, 1e6),
        ("api_up", ""): 1.0,
        ("api_requests_per_second", ""): max(0.0, 0.6 + 0.5 * day + rng.gauss(0, 0.2)),
        ("api_request_latency_ms", "p50"): max(0.5, 3 + day + rng.gauss(0, 0.5)),
        ("api_request_latency_ms", "p99"): max(5.0, 24 + 8 * day + rng.gauss(0, 4)),
    }


def write_history(data_dir: Path, *, span: timedelta) -> None:
    """Monitor history for the status page's charts, made up (a monitor left running for a day is not
    an option in a test): plausible readings every 5 minutes through the monitor's own store, rolled
    up as the monitor does."""
    settings = load_settings(data_dir=data_dir)
    db = open_database(settings, path=settings.metrics_db_path, create=True)
    try:
        store, rng = MetricsStore(db), random.Random(14)
        now = datetime.now(UTC)
        at = now - span
        while at <= now:
            store.insert(at=at, reading=reading_from(sample(at, rng)))
            at += SAMPLE_EVERY
        store.rollup(now=now)
    finally:
        db.dispose()


@dataclass
class Site:
    """One running Kura with USERS in it."""

    api: LiveApi

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    @property
    def data_dir(self) -> Path:
        return self.api.data_dir


def start_site(root: Path, *, sample_for: tuple[str, ...] = ("admin", "alice"),
               history: timedelta = timedelta(days=1)) -> Site:
    """A migrated database in `root`/data, USERS with their passwords, examples/bookmarks.html imported
    for each of `sample_for` (with `kura import`, as the README does), `history` of monitor samples,
    and kura-api serving it."""
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    kura(data_dir, "db", "upgrade")
    kura_each(data_dir, [("kura", ["user", "add", name, *(["--admin"] if admin else [])], None)
                         for name, (_, admin) in USERS.items()])
    kura_each(data_dir, [("kura", ["user", "passwd", name, "--stdin"], password + "\n")
                         for name, (password, _) in USERS.items()]
              + [("kura", ["import", str(EXAMPLE), "--user", name], None) for name in sample_for])
    write_history(data_dir, span=history)
    # The page-metadata fetch stays off: no test reaches beyond loopback (the fetcher has its own tests).
    api = LiveApi(data_dir=data_dir, log_path=root / "kura-api.log", env={"KURA_WEB_FETCH_META": "false"})
    api.start()
    return Site(api)


def sign_in(page: Page, site: Site, name: str, *, then: str = "/") -> None:
    """Sign in through the real form, as a person does, and land on `then`."""
    page.goto(f"{site.base}/login?next={then}")
    page.get_by_label(re.compile("user ?name", re.I)).fill(name)
    page.get_by_label(re.compile("^password", re.I)).fill(USERS[name][0])
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def add_through_bookmarklet(page: Page, url: str, title: str, *, tags: str = "") -> None:
    """What the bookmarklet does: open /add with the page's URL and title, then save."""
    page.goto("/add?" + urlencode({"url": url, "title": title}))
    expect(page.get_by_label(re.compile("^title", re.I))).to_have_value(title)
    if tags:
        page.get_by_role("textbox", name=re.compile("^tags", re.I)).fill(tags)
    page.get_by_role("button", name=re.compile("^(save|add)", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/add\b"))


def row(page: Page, title: str) -> Locator:
    """The list item of the bookmark with this title."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=title, exact=True))


def open_edit(page: Page, title: str) -> None:
    row(page, title).get_by_role("link", name=re.compile("^edit", re.I)).click()
    expect(page).to_have_url(re.compile(r"/b/\d+/edit$"))
