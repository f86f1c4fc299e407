"""Every list filter and sort path uses an index: EXPLAIN QUERY PLAN on the SQL the list route really
runs (captured with its parameters) must never scan a whole table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from domain import listing
from common.db import Database
from tests.api.bookmark_seed import seed_bookmarks
from tests.conftest import Account

SORTS = ["newest", "oldest", "modified", "title", "relevance"]
FILTERS: list[dict[str, Any]] = [
    {},
    {"q": "python"},
    {"q": 'pyth* "note 00001" -rust'},
    {"q": "#tag1 -rust"},
    {"tag": ["tag1", "tag2"]},
    {"any_tag": ["tag1", "tag3"]},
    {"collection": 1},
    {"unread": "true"},
    {"archived": "false"},
    {"added_since": "2000-01-01T00:00:00Z"},
    {"modified_since": "2000-01-01T00:00:00Z"},
    {"unread": "true", "collection": 1, "added_since": "2000-01-01T00:00:00Z", "tag": ["tag2"]},
]
# A SCAN of these tables reads every row; a SCAN of a covering index or of the FTS index is fine.
FULL_SCAN = re.compile(r"^SCAN (bookmarks|bookmark_tags|tags|collections)\b(?!.*USING COVERING INDEX)")


class StatementLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[tuple[str, Any]] = []

    def record(self, _conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))

    def record_plain(self, statement: str, parameters: Any) -> None:  # a read on the loop's connection
        self.record(None, None, statement, parameters, None, False)

    def _explained(self) -> Iterator[tuple[str, list[tuple[int, str]]]]:
        raw = self.db.engine.raw_connection()
        try:
            for statement, parameters in self.seen:
                rows = raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
                yield statement, [(row[1], row[3]) for row in rows]
        finally:
            raw.close()

    def plans(self) -> Iterator[tuple[str, list[str]]]:
        for statement, steps in self._explained():
            yield statement, [detail for _, detail in steps]

    def top_level_sorts(self) -> Iterator[tuple[str, list[str]]]:
        """Per statement, the sorts of the statement itself (a subquery may sort its few rows)."""
        for statement, steps in self._explained():
            yield statement, [detail for parent, detail in steps if parent == 0 and "TEMP B-TREE" in detail]


@pytest.fixture
def statement_log(db: Database) -> Iterator[StatementLog]:
    log = StatementLog(db)
    event.listen(db.engine, "before_cursor_execute", log.record)
    db.statement_hooks.append(log.record_plain)  # reads on the event loop's own connection
    yield log
    event.remove(db.engine, "before_cursor_execute", log.record)
    db.statement_hooks.remove(log.record_plain)


@pytest.fixture
def seeded(db: Database, alice: Account) -> Account:
    seed_bookmarks(db, user_id=alice.user_id, count=60)
    return alice


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "&".join(sorted(f)) or "plain")
def test_list_pages_neither_scan_a_table_nor_sort_every_match(
    client: TestClient, seeded: Account, statement_log: StatementLog, filters: dict[str, Any], sort: str
) -> None:
    params = {**filters, "sort": sort, "limit": 5}
    first = client.get("/api/v1/bookmarks", params=params, headers=seeded.headers)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    if cursor:  # the continuation adds the keyset range condition; plan that too
        assert client.get("/api/v1/bookmarks", params={**params, "cursor": cursor}, headers=seeded.headers).status_code == 200
    page_queries = [s for s in statement_log.seen if "FROM bookmarks" in s[0] or "FROM bookmark_tags" in s[0]]
    assert page_queries, "the list route ran no bookmark query"
    for statement, plan in statement_log.plans():
        bad = [step for step in plan if FULL_SCAN.search(step)]
        assert not bad, f"full scan {bad} in plan {plan} for\n{statement}"
    for statement, sorts in statement_log.top_level_sorts():
        if "LIMIT" in statement and "q" not in filters:
            # Without a search, the sort's own index gives the order: no sorting every matching row.
            assert not sorts, f"sort {sorts} for\n{statement}"


def test_the_plan_check_catches_a_full_scan(db: Database, statement_log: StatementLog) -> None:
    """The check is not vacuous: filtering on a column no index covers is reported."""
    with db.read_session() as session:
        session.connection().exec_driver_sql("SELECT id FROM bookmarks WHERE notes = ?", ("x",))
    (_, plan), = statement_log.plans()
    assert any(FULL_SCAN.search(step) for step in plan), plan


def test_tag_and_collection_lists_use_indexes(
    client: TestClient, seeded: Account, statement_log: StatementLog
) -> None:
    for path in ("/api/v1/tags?sort=count", "/api/v1/tags", "/api/v1/collections"):
        assert client.get(path, headers=seeded.headers).status_code == 200
    for statement, plan in statement_log.plans():
        bad = [step for step in plan if FULL_SCAN.search(step)]
        assert not bad, f"full scan {bad} in plan {plan} for\n{statement}"


def test_a_page_ranked_by_the_search_index_reads_its_rows_by_id(
    client: TestClient, seeded: Account, statement_log: StatementLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not by walking the user's rows and probing the ranked ids for each (2 ms at 20k bookmarks)."""
    monkeypatch.setattr(listing, "FTS_MATCHES_MAX", 0)  # every word here is rare: use the index anyway
    assert client.app.state.tx.search_index is not None
    answer = client.get("/api/v1/search", params={"q": "python", "limit": 5}, headers=seeded.headers)
    assert answer.status_code == 200 and answer.json()["items"]
    (plan,) = [plan for statement, plan in statement_log.plans() if "json_each" in statement]
    assert plan[0] == "SEARCH bookmarks USING INTEGER PRIMARY KEY (rowid=?)", plan
