"""GET /api/v1/stats and /api/v1/tags/graph over imported data."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bookmarks"


def test_stats_answer_for_imported_data(client, alice) -> None:
    client.post("/api/v1/import", headers=alice.headers, content=(FIXTURES / "firefox.html").read_bytes())
    response = client.get("/api/v1/stats", headers=alice.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {"bookmarks": 7, "unread": 0, "archived": 0, "tags": 5, "collections": 6}
    assert {"month": "2023-07", "count": 2} in body["per_month"]
    assert sum(m["count"] for m in body["per_month"]) == 7
    assert {t["name"] for t in body["top_tags"]} == {"python", "parsing", "sqlite", "sql", "example"}


def test_the_tag_graph_route_is_not_taken_for_a_tag_id(client, alice) -> None:
    client.post("/api/v1/import", headers=alice.headers, content=(FIXTURES / "firefox.html").read_bytes())
    response = client.get("/api/v1/tags/graph?min_weight=1&limit=10", headers=alice.headers)
    assert response.status_code == 200, response.text
    graph = response.json()
    assert {n["id"] for n in graph["nodes"]} == {"python", "parsing", "sqlite", "sql", "example"}
    assert sorted(sorted((link["source"], link["target"])) for link in graph["links"]) == [
        ["parsing", "python"], ["sql", "sqlite"]]
    assert all(link["weight"] == 1 for link in graph["links"])


def test_insight_parameters_are_validated(client, alice) -> None:
    assert client.get("/api/v1/tags/graph?limit=0", headers=alice.headers).status_code == 422
    assert client.get("/api/v1/tags/graph?limit=501", headers=alice.headers).status_code == 422
    assert client.get("/api/v1/tags/graph?min_weight=0", headers=alice.headers).status_code == 422
    assert client.get("/api/v1/stats?top=0", headers=alice.headers).status_code == 422


def test_insights_need_a_token(client) -> None:
    assert client.get("/api/v1/stats").status_code == 401
    assert client.get("/api/v1/tags/graph").status_code == 401
