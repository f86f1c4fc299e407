"""The web interface's foundation: fingerprinted assets, page headers, HTML error pages beside the
API's JSON ones, the OpenAPI document, and the settings page's bookmarklet (issue 14)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.testclient import TestClient

from api.web.deps import WebAdmin, mark_web
from api.web.render import CSP, Assets
from common.errors import Conflict
from tests.api.web.conftest import WebClient
from tests.conftest import Account

Web = Callable[[Account], WebClient]
WEB_PATHS = ("/login", "/logout", "/settings", "/static/{name}", "/static/{name:path}")


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The app with three web routes that fail on purpose (as a page module's routes would)."""
    trial = APIRouter(dependencies=[Depends(mark_web)], include_in_schema=False)

    @trial.get("/trial/conflict")
    async def conflict() -> None:
        raise Conflict("that name <b>is</b> taken")

    @trial.get("/trial/number")
    async def number(n: Annotated[int, Query()]) -> dict[str, int]:
        return {"n": n}

    @trial.get("/trial/admin")
    async def admin_only(user: WebAdmin) -> dict[str, str]:
        return {"who": user.name}

    app.include_router(trial)
    return app


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def test_assets_have_hashed_names_and_a_year_long_immutable_cache(web: Web, alice: Account) -> None:
    browser = web(alice)
    urls = asset_urls(browser.get("/settings").text)
    assert {url.rsplit(".", 1)[1] for url in urls} == {"css", "js"}
    for url in urls:
        assert re.fullmatch(r"/static/kura\.[0-9a-f]{8}\.(css|js)", url)
        answer = browser.get(url)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-type"].split(";")[0] in ("text/css", "text/javascript", "application/javascript")
        assert browser.head(url).status_code == 200
    assert browser.get("/static/kura.00000000.css").status_code == 404
    assert browser.get("/static/kura.css").status_code == 404  # only the fingerprinted name


def test_an_asset_gets_a_new_url_when_its_content_changes(tmp_path: Path) -> None:
    (tmp_path / "site.css").write_text("body { color: black }")
    before = Assets(tmp_path)
    (tmp_path / "site.css").write_text("body { color: navy }")
    after = Assets(tmp_path)
    assert before.url("site.css") != after.url("site.css")
    served = after.url("site.css").removeprefix("/static/")
    assert after.response(served).body == b"body { color: navy }"
    assert before.url("site.css").removeprefix("/static/") not in after.files


def test_pages_forbid_outside_sources_framing_and_sniffing(web: Web, alice: Account) -> None:
    answer = web(alice).get("/settings")
    assert answer.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in answer.text and "style=" not in answer.text  # nothing inline for the CSP to block


def test_the_layout_has_a_skip_link_landmarks_and_marks_the_current_section(web: Web, alice: Account) -> None:
    html = web(alice).get("/settings").text
    assert '<html lang="en">' in html and 'href="#main"' in html and '<main id="main"' in html
    assert '<a href="/settings" aria-current="page">' in html and html.count('aria-current="page"') == 1
    assert '<input id="search" name="q"' in html and 'role="search"' in html
    assert 'action="/logout" method="post"' in html and "/status" not in html  # not an admin


def test_an_admin_sees_the_status_entry_and_others_get_a_404_page(web: Web, alice: Account, admin: Account) -> None:
    assert 'href="/status"' in web(admin).get("/settings").text
    refused = web(alice).get("/trial/admin")
    assert refused.status_code == 404 and "<html" in refused.text and "Not found" in refused.text
    assert web(admin).get("/trial/admin").json() == {"who": "root"}


def test_errors_in_web_routes_are_pages_and_the_api_keeps_json(web: Web, alice: Account, client: TestClient) -> None:
    browser = web(alice)
    conflict = browser.get("/trial/conflict")
    assert conflict.status_code == 409 and conflict.headers["content-type"].startswith("text/html")
    assert "that name &lt;b&gt;is&lt;/b&gt; taken" in conflict.text  # escaped
    invalid = browser.get("/trial/number?n=many")
    assert invalid.status_code == 422 and "<html" in invalid.text and "n:" in invalid.text
    api = client.get("/api/v1/bookmarks/999999", headers=alice.headers)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_a_browser_asking_for_a_missing_page_gets_html_and_the_api_json(client: TestClient) -> None:
    page = client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and "<html" in page.text
    api = client.get("/api/v1/no/such", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert client.get("/no/such/page").json()["error"]["code"] == "not_found"


def test_the_openapi_document_describes_no_web_page(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not set(WEB_PATHS) & set(paths)
    assert all(path.startswith("/api/") or not path.startswith(("/login", "/settings", "/static")) for path in paths)


def test_the_settings_page_offers_the_bookmarklet_and_the_tokens_page(web: Web, alice: Account) -> None:
    html = web(alice).get("/settings").text
    found = re.search(r'<a class="btn bookmarklet" href="([^"]+)"', html)
    assert found is not None
    code = found.group(1).replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    assert code.startswith("javascript:") and '"http://testserver/add?url="' in code
    assert "encodeURIComponent(location.href)" in code and "'&title='" in code and "'&description='" in code
    assert "%" not in code  # a javascript: URL is percent-decoded before it runs
    assert 'href="/tokens"' in html


def test_a_notice_shows_once(web: Web, alice: Account) -> None:
    browser = web(alice)
    browser.post("/logout", data={"csrf": browser.csrf})
    assert "You are signed out." not in browser.get("/login").text
