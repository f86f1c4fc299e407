"""POST /api/v1/import: multipart or raw body, counted results, 400 per bad file, 413 over the cap."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from common.settings import Settings, load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bookmarks"
LIMIT = 8192


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", import_max_bytes=LIMIT)


def bookmark_count(db) -> int:
    with db.read_session() as session:
        return session.execute(text("SELECT count(*) FROM bookmarks")).scalar_one()


def test_a_multipart_upload_imports_and_reports_counts_and_skipped_lines(client, alice) -> None:
    with open(FIXTURES / "firefox.html", "rb") as f:
        response = client.post("/api/v1/import", headers=alice.headers, files={"file": ("bookmarks.html", f)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["skipped"]) == (7, 0, 2)
    assert [e["line"] for e in body["errors"]] == [24, 33]
    assert body["errors"][0]["reason"].startswith("place:")


@pytest.mark.parametrize("content_type", ["text/html", "application/x-www-form-urlencoded", "application/json"])
def test_a_raw_body_imports_whatever_the_content_type_says(client, alice, content_type: str) -> None:
    data = (FIXTURES / "chrome.html").read_bytes()
    response = client.post("/api/v1/import", headers={**alice.headers, "Content-Type": content_type},
                           content=data)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 5


def test_reimporting_through_the_api_creates_nothing(client, db, alice) -> None:
    data = (FIXTURES / "safari.html").read_bytes()
    client.post("/api/v1/import", headers=alice.headers, content=data)
    again = client.post("/api/v1/import", headers=alice.headers, content=data).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)
    assert bookmark_count(db) == 4


def test_folders_as_tags_is_a_query_option(client, db, alice) -> None:
    response = client.post("/api/v1/import?folders_as_tags=true", headers=alice.headers,
                           content=(FIXTURES / "chrome.html").read_bytes())
    assert response.status_code == 200
    with db.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM collections")).scalar_one() == 0
        assert "Deploy" in session.execute(text("SELECT name FROM tags")).scalars().all()


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "the file is empty"),
    (b"just some notes\n", "it starts with 'just some notes'"),
    (b"<html><body><p>a page</p></body></html>", "ordinary web page"),
    (b'{"format": "other"}', "not a Kura export"),
    (b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL>\n\xff\xfe", "not UTF-8"),
])
def test_a_file_that_is_not_a_bookmark_file_answers_400_saying_why(client, db, alice, data, needle) -> None:
    response = client.post("/api/v1/import", headers=alice.headers, content=data)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_import_file" and needle in error["message"]
    assert bookmark_count(db) == 0


def test_a_bad_file_names_the_line_where_it_can(client, alice) -> None:
    response = client.post("/api/v1/import", headers=alice.headers,
                           content=b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL>\n<DT>\xff\n")
    assert response.json()["error"]["details"] == {"line": 3}


def test_strict_mode_rejects_a_file_with_a_broken_entry_and_keeps_nothing(client, db, alice) -> None:
    data = (b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><A HREF=\"https://ok.example/\">ok</A>\n"
            b"<DT><A HREF=\"http://\">no host</A>\n</DL>\n")
    response = client.post("/api/v1/import?mode=strict", headers=alice.headers, content=data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "import_rejected"
    assert response.json()["error"]["details"]["line"] == 4
    assert bookmark_count(db) == 0
    lenient = client.post("/api/v1/import", headers=alice.headers, content=data).json()
    assert (lenient["created"], lenient["skipped"]) == (1, 1)


def test_an_unknown_mode_is_a_422(client, alice) -> None:
    response = client.post("/api/v1/import?mode=yolo", headers=alice.headers, content=b"<DL>")
    assert response.status_code == 422


def test_an_upload_over_the_limit_answers_413(client, db, alice) -> None:
    response = client.post("/api/v1/import", headers=alice.headers, content=b" " * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert bookmark_count(db) == 0


@pytest.mark.parametrize("as_multipart", [False, True], ids=["raw", "multipart"])
def test_the_route_enforces_the_cap_itself_without_the_body_middleware(app, alice, as_multipart: bool) -> None:
    app.user_middleware.clear()  # the stack is built on the first request: this app has none
    data = b"<!DOCTYPE NETSCAPE-Bookmark-file-1>" + b" " * LIMIT
    with TestClient(app) as bare:
        if as_multipart:
            response = bare.post("/api/v1/import", headers=alice.headers, files={"file": ("b.html", data)})
        else:
            response = bare.post("/api/v1/import", headers=alice.headers, content=iter([data[:100], data[100:]]))
    assert response.status_code == 413
    assert "limit of 8192 bytes" in response.json()["error"]["message"]


def test_a_multipart_form_without_a_file_is_a_400(client, alice) -> None:
    response = client.post("/api/v1/import", headers=alice.headers, data={"note": "no file here"},
                           files={"other": (None, "just a field")})
    assert response.status_code == 400
    assert "field 'file'" in response.json()["error"]["message"]


def test_import_needs_a_token(client) -> None:
    assert client.post("/api/v1/import", content=b"<DL>").status_code == 401


def test_the_openapi_document_names_every_kind_of_file_the_import_reads(client) -> None:
    body = client.get("/openapi.json").json()["paths"]["/api/v1/import"]["post"]["requestBody"]["content"]
    assert set(body) == {"multipart/form-data", "text/html", "application/json", "text/csv", "application/zip"}
    assert [kind["type"] for kind in body["application/json"]["schema"]["oneOf"]] == ["object", "array"]


def test_an_empty_pinboard_list_imports_nothing_and_a_list_of_non_bookmarks_is_a_400(client, alice) -> None:
    empty = client.post("/api/v1/import", headers=alice.headers, content=b"[]").json()
    assert (empty["created"], empty["skipped"]) == (0, 0)
    response = client.post("/api/v1/import", headers=alice.headers, content=b"[1, 2]")
    assert response.status_code == 400 and "neither a Pinboard export" in response.json()["error"]["message"]
