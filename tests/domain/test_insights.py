"""Stats and the tag graph: right numbers, a constant number of statements, index-only plans."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from domain import insights
from common.db import Database

MONTH_US = 31 * 86_400 * 1_000_000
JAN_2024_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z


def seed(db: Database, *, user_id: int, count: int, tags_per: int = 3) -> None:
    """count bookmarks spread over months; bookmark i carries tags t(i%5), t((i+1)%5), ... (tags_per)."""
    with db.write_session() as session:
        conn = session.connection()
        tag_ids = [conn.execute(text("INSERT INTO tags (user_id, name) VALUES (:u, :n)"),
                                {"u": user_id, "n": f"t{k}"}).lastrowid for k in range(5)]
        conn.execute(text("INSERT INTO collections (user_id, name, created_at) VALUES (:u, 'c', 0)"), {"u": user_id})
        for i in range(count):
            bid = conn.execute(text(
                "INSERT INTO bookmarks (user_id, url, unread, archived, created_at, modified_at) "
                "VALUES (:u, :url, :unread, :archived, :c, :c)"),
                {"u": user_id, "url": f"https://s.example/{i}", "unread": int(i % 2 == 0),
                 "archived": int(i % 3 == 0), "c": JAN_2024_US + (i % 3) * MONTH_US}).lastrowid
            for k in range(tags_per):
                conn.execute(text("INSERT INTO bookmark_tags (bookmark_id, tag_id) VALUES (:b, :t)"),
                             {"b": bid, "t": tag_ids[(i + k) % 5]})


def read(db: Database, fn, **kwargs):
    with db.read_session() as session:
        return fn(session.connection(), **kwargs)


def test_stats_count_totals_months_and_top_tags(db, alice, bob) -> None:
    seed(db, user_id=alice.user_id, count=10)
    seed(db, user_id=bob.user_id, count=4)  # someone else's data changes nothing
    stats = read(db, insights.stats, user_id=alice.user_id, top=2)
    assert stats["totals"] == {"bookmarks": 10, "unread": 5, "archived": 4, "tags": 5, "collections": 1}
    assert stats["per_month"] == [{"month": "2024-01", "count": 4}, {"month": "2024-02", "count": 3},
                                  {"month": "2024-03", "count": 3}]
    assert stats["top_tags"] == [{"name": "t0", "count": 6}, {"name": "t1", "count": 6}]


def test_stats_for_a_user_with_nothing_are_zeros(db, alice) -> None:
    stats = read(db, insights.stats, user_id=alice.user_id)
    assert stats == {"totals": {"bookmarks": 0, "unread": 0, "archived": 0, "tags": 0, "collections": 0},
                     "per_month": [], "top_tags": []}


def test_the_tag_graph_links_tags_that_share_bookmarks(db, alice, bob) -> None:
    seed(db, user_id=alice.user_id, count=10, tags_per=2)
    seed(db, user_id=bob.user_id, count=10, tags_per=2)
    graph = read(db, insights.tag_graph, user_id=alice.user_id)
    assert sorted((n["id"], n["count"]) for n in graph["nodes"]) == [(f"t{k}", 4) for k in range(5)]
    pairs = sorted((tuple(sorted((link["source"], link["target"]))), link["weight"]) for link in graph["links"])
    assert pairs == [(("t0", "t1"), 2), (("t0", "t4"), 2), (("t1", "t2"), 2), (("t2", "t3"), 2), (("t3", "t4"), 2)]


def test_the_graph_is_bounded_by_limit_and_min_weight(db, alice) -> None:
    seed(db, user_id=alice.user_id, count=12, tags_per=3)
    small = read(db, insights.tag_graph, user_id=alice.user_id, limit=2)
    assert len(small["nodes"]) == 2
    names = {n["id"] for n in small["nodes"]}
    assert all({link["source"], link["target"]} <= names for link in small["links"])
    heavy = read(db, insights.tag_graph, user_id=alice.user_id, min_weight=5)
    assert heavy["links"] and all(link["weight"] >= 5 for link in heavy["links"])
    capped = read(db, insights.tag_graph, user_id=alice.user_id, link_limit=1)
    assert len(capped["links"]) == 1


@pytest.mark.parametrize("count", [10, 1000])
def test_stats_and_graph_cost_a_constant_number_of_statements(db, alice, count_queries, count: int) -> None:
    seed(db, user_id=alice.user_id, count=count)
    with db.read_session() as session, count_queries:
        insights.stats(session.connection(), user_id=alice.user_id)
        stats_statements = count_queries.count
        insights.tag_graph(session.connection(), user_id=alice.user_id)
    assert stats_statements == 3
    assert count_queries.count == 4


@pytest.mark.parametrize("query", [insights._TOTALS, insights._PER_MONTH, insights._TOP_TAGS, insights._GRAPH],
                         ids=["totals", "per-month", "top-tags", "graph"])
def test_insight_queries_use_indexes_not_full_scans(db, alice, query) -> None:
    seed(db, user_id=alice.user_id, count=50)
    with db.read_session() as session:
        plan = [row[-1] for row in session.execute(text("EXPLAIN QUERY PLAN " + query.text), {
            "user_id": alice.user_id, "limit": 10, "min_weight": 1, "link_limit": 10})]
    for step in plan:
        assert not step.startswith(("SCAN bookmarks", "SCAN tags", "SCAN bt", "SCAN x", "SCAN y", "SCAN t ")), plan
