"""List and search parameters just past their bounds answer 4xx in the error shape, never 500 (issue 12,
defect 2): control characters in a search, a repeated tag filter, forged cursors."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from common.db import Database
from domain.search import MAX_TERMS
from common.settings import Settings
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account


@pytest.fixture(params=[True, False], ids=["search index", "fts5 only"])
def any_client(request: pytest.FixtureRequest, settings: Settings, db: Database, alice: Account) -> Iterator[TestClient]:
    seed_bookmarks(db, user_id=alice.user_id, count=30)
    app = create_app(settings.model_copy(update={"search_index": request.param}), db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def forged(sort: str, key: str, last_id: int = 1) -> str:
    return base64.urlsafe_b64encode(f'["{sort}",{key},{last_id}]'.encode()).decode().rstrip("=")


def error_code(client: TestClient, owner: Account, path: str, params: object) -> tuple[int, str]:
    answer = client.get(path, params=params, headers=owner.headers)  # type: ignore[arg-type]
    return answer.status_code, answer.json()["error"]["code"] if answer.status_code >= 400 else ""


@pytest.mark.parametrize("q", ["python\x00", "a\x01b", "\x1b[31mred", "x\x7f"])
@pytest.mark.parametrize("path", ["/api/v1/search", "/api/v1/bookmarks"])
def test_a_control_character_in_a_search_is_a_bad_query(any_client: TestClient, alice: Account, path: str,
                                                        q: str) -> None:
    assert error_code(any_client, alice, path, {"q": q}) == (400, "bad_query")


def test_tabs_and_newlines_in_a_search_separate_words(any_client: TestClient, alice: Account) -> None:
    spaced = any_client.get("/api/v1/search", params={"q": "python note"}, headers=alice.headers).json()
    assert any_client.get("/api/v1/search", params={"q": "python\tnote\n"}, headers=alice.headers).json() == spaced


@pytest.mark.parametrize("name", ["tag", "any_tag"])
def test_a_repeated_tag_filter_is_capped(any_client: TestClient, alice: Account, name: str) -> None:
    most = [(name, f"tag{n}") for n in range(MAX_TERMS)]
    assert any_client.get("/api/v1/bookmarks", params=most, headers=alice.headers).status_code == 200
    many = [(name, f"t{n}") for n in range(1000)]
    assert error_code(any_client, alice, "/api/v1/bookmarks", many) == (422, "validation_error")


@pytest.mark.parametrize("key", [str(2**63), str(-2**63 - 1), "1e308", "-1e300", "1e16"])
def test_a_forged_relevance_cursor_is_refused(any_client: TestClient, alice: Account, key: str) -> None:
    params = {"q": "python", "cursor": forged("relevance", key)}
    assert error_code(any_client, alice, "/api/v1/search", params) == (400, "bad_cursor")


def test_a_relevance_cursor_past_every_match_ends_the_pages(any_client: TestClient, alice: Account) -> None:
    # In range, but as if thousands of blocks had been paged through: no top-n that size is asked for.
    answer = any_client.get("/api/v1/search", params={"q": "python", "cursor": forged("relevance", "1e14")},
                            headers=alice.headers)
    assert answer.status_code == 200 and answer.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(("sort", "key"), [("newest", str(2**63)), ("oldest", str(2**64)), ("modified", "-1e30")])
def test_a_forged_time_cursor_is_refused(any_client: TestClient, alice: Account, sort: str, key: str) -> None:
    params = {"sort": sort, "cursor": forged(sort, key)}
    assert error_code(any_client, alice, "/api/v1/bookmarks", params) == (400, "bad_cursor")


def test_a_cursor_with_an_id_past_the_integer_range_is_refused(any_client: TestClient, alice: Account) -> None:
    params = {"cursor": forged("newest", "0", 2**63)}
    assert error_code(any_client, alice, "/api/v1/bookmarks", params) == (400, "bad_cursor")
