"""/add with only a URL fills in the page's title and description, fetched from a real local server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from common.settings import Settings, load_settings
from tests.api.web.test_bookmark_forms import value_of

PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>Fetched — a local page</title>"
        "<meta name='description' content='What the page says about itself'></head><body>hi</body></html>")


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/article"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """This module's app may fetch pages, loopback included: the only page it meets is its own."""
    return load_settings(data_dir=tmp_path / "data", web_fetch_meta=True, web_fetch_private=True,
                         web_fetch_timeout_s=5.0)


def test_a_url_alone_is_prefilled_with_the_pages_title_and_description(web, alice, page_url) -> None:
    c = web(alice)
    r = c.get("/add", params={"url": page_url})
    assert r.status_code == 200
    assert value_of(r.text, "title") == "Fetched — a local page"
    assert value_of(r.text, "description") == "What the page says about itself"
    assert "Could not read" not in r.text


def test_a_title_given_by_the_bookmarklet_is_kept_and_nothing_is_fetched(web, alice, page_url) -> None:
    c = web(alice)
    r = c.get("/add", params={"url": page_url, "title": "As the browser had it"})
    assert value_of(r.text, "title") == "As the browser had it"


def test_a_page_that_cannot_be_fetched_leaves_a_quiet_note_and_the_form(web, alice, page_url) -> None:
    c = web(alice)
    dead = page_url.rsplit(":", 1)[0] + ":9/"  # the discard port: nothing listens there
    r = c.get("/add", params={"url": dead})
    assert r.status_code == 200
    assert "Could not read the page's title" in r.text
    assert value_of(r.text, "url") == dead and value_of(r.text, "title") == ""
