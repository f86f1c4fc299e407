"""The import/export page: a browser file uploaded shows the CLI's report; a bad file imports nothing;
both export formats download the API's bytes and import again."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import orjson
import pytest

from common.settings import Settings, load_settings
from tests.conftest import Account

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "bookmarks"
LIMIT = 64 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", import_max_bytes=LIMIT)


def upload(client: Any, path: Path | None = None, *, data: bytes | None = None, **form: str) -> Any:
    body = path.read_bytes() if path is not None else data
    return client.post("/import", data={"csrf": client.csrf, **form},
                       files={"file": (path.name if path else "upload.html", body, "text/html")})


def urls(client: Any, owner: Account) -> list[str]:
    items = client.get("/api/v1/bookmarks", params={"limit": 100}, headers=owner.headers).json()["items"]
    return sorted(b["url"] for b in items)


def report(html: str) -> str:
    """The report's summary line, as `kura import` prints it."""
    match = re.search(r'<p class="notice" role="status"><strong>(.*?)</strong>', html)
    assert match, html
    return unescape(match[1])


def test_uploading_a_browser_file_shows_the_clis_report_and_the_bookmarks_are_there(web, alice: Account) -> None:
    c = web(alice)
    page = upload(c, FIXTURES / "firefox.html")
    assert page.status_code == 200
    assert report(page.text) == "created 7, updated 0, unchanged 0, skipped 2"
    text = unescape(page.text)  # the same lines as tests/cli/test_transfer.py expects on stderr
    assert "skipped line 24: place: link is browser-internal, not a bookmark\n" in text
    assert "skipped line 33: javascript: link is browser-internal, not a bookmark\n" in text
    assert len(urls(c, alice)) == 7


def test_the_projects_example_file_imports_through_the_page(web, alice: Account) -> None:
    c = web(alice)
    page = upload(c, ROOT / "examples" / "bookmarks.html")
    created = int(re.match(r"created (\d+),", report(page.text))[1])  # type: ignore[index]
    assert created > 0 and len(urls(c, alice)) == created
    assert "https://docs.python.org/3/library/html.parser.html" in urls(c, alice)


def test_importing_the_same_file_again_reports_everything_unchanged(web, alice: Account) -> None:
    c = web(alice)
    upload(c, FIXTURES / "safari.html")
    assert report(upload(c, FIXTURES / "safari.html").text) == "created 0, updated 0, unchanged 4, skipped 0"


def test_the_folders_as_tags_box_turns_folders_into_tags(web, alice: Account) -> None:
    c = web(alice)
    upload(c, FIXTURES / "chrome.html", folders_as_tags="true")
    assert c.get("/api/v1/collections", headers=alice.headers).json() == []
    assert "Deploy" in {t["name"] for t in c.get("/api/v1/tags", headers=alice.headers).json()}


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "the file is empty"),
    (b"just some notes\n", "it starts with 'just some notes'"),
    (b"<html><body><p>a page</p></body></html>", "ordinary web page"),
])
def test_a_file_that_is_not_a_bookmark_file_shows_why_and_imports_nothing(
    web, alice: Account, data: bytes, needle: str
) -> None:
    c = web(alice)
    page = upload(c, data=data)
    assert page.status_code == 400
    assert "Nothing was imported:" in page.text and needle in unescape(page.text)
    assert 'enctype="multipart/form-data"' in page.text  # the form is there to try again
    assert urls(c, alice) == []


def test_strict_mode_rejects_a_file_with_a_broken_entry_and_keeps_nothing(web, alice: Account) -> None:
    c = web(alice)
    data = (b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF=\"https://ok.example/\">ok</A>\n"
            b"<DT><A HREF=\"http://\">no host</A>\n</DL>\n")
    page = upload(c, data=data, mode="strict")
    assert page.status_code == 400 and "import rejected, nothing was changed" in page.text
    assert '<option value="strict" selected>' in page.text  # the choice is kept for the next try
    assert urls(c, alice) == []


def test_an_upload_over_the_limit_is_refused_and_imports_nothing(web, alice: Account) -> None:
    c = web(alice)
    big = (FIXTURES / "chrome.html").read_bytes() + b"<!-- padding -->" * (LIMIT // 16 + 1)
    answer = upload(c, data=big)
    assert answer.status_code == 413 and answer.headers["content-type"].startswith("text/html")
    assert "Nothing was imported" in answer.text
    assert urls(c, alice) == []


def test_the_import_form_is_a_labelled_multipart_form_with_a_progress_bar(web, alice: Account) -> None:
    html = web(alice).get("/import").text
    form = html[html.index('<form method="post" action="/import"'):]
    form = form[:form.index("</form>")]
    assert 'enctype="multipart/form-data"' in form and "data-progress" in form and "<progress" in form
    for control in re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', form):
        assert f'<label for="{control}">' in form, control


def test_an_import_without_the_forms_token_is_refused_and_imports_nothing(web, alice: Account) -> None:
    c = web(alice)
    response = c.post("/import", files={"file": ("f.html", (FIXTURES / "chrome.html").read_bytes())})
    assert response.status_code == 403
    assert urls(c, alice) == []


def test_the_netscape_download_is_the_apis_export_as_an_attachment(web, alice: Account) -> None:
    c = web(alice)
    upload(c, FIXTURES / "chrome.html")
    page, api = c.get("/export?format=netscape"), c.get("/api/v1/export?format=netscape", headers=alice.headers)
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="kura-bookmarks-\d{4}-\d\d-\d\d\.html"',
                        page.headers["content-disposition"])
    assert page.content == api.content


def test_the_json_download_is_the_apis_export_as_an_attachment(web, alice: Account) -> None:
    c = web(alice)
    upload(c, FIXTURES / "firefox.html")
    page, api = c.get("/export?format=json"), c.get("/api/v1/export?format=json", headers=alice.headers)
    assert page.headers["content-type"] == "application/json"
    assert page.headers["content-disposition"].endswith('.json"')
    mine, theirs = orjson.loads(page.content), orjson.loads(api.content)
    mine.pop("exported_at"), theirs.pop("exported_at")
    assert mine == theirs and len(mine["bookmarks"]) == 7


@pytest.mark.parametrize("fmt, created", [("netscape", 5), ("json", 5)])
def test_a_download_imports_again_through_the_page(web, alice: Account, bob: Account, fmt: str, created: int) -> None:
    mine = web(alice)
    upload(mine, FIXTURES / "chrome.html")
    exported = mine.get(f"/export?format={fmt}").content
    theirs = web(bob)
    assert report(upload(theirs, data=exported).text) == f"created {created}, updated 0, unchanged 0, skipped 0"
    assert urls(theirs, bob) == urls(mine, alice)


def test_the_page_links_both_download_formats(web, alice: Account) -> None:
    html = web(alice).get("/import").text
    assert 'href="/export?format=netscape"' in html and 'href="/export?format=json"' in html


def test_an_unknown_export_format_is_refused(web, alice: Account) -> None:
    assert web(alice).get("/export?format=csv").status_code == 422


def test_the_download_asks_a_visitor_to_sign_in(client) -> None:
    response = client.get("/export?format=json", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=%2Fexport%3Fformat%3Djson")
