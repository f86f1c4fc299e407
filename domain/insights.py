"""The numbers the dashboard draws: totals, bookmarks added per month, top tags, the tag graph.

Every figure is computed in SQL over indexes, in a fixed number of statements whatever the size of
the collection: counts seek the per-user indexes, tag counts start from the user's tags and walk
bookmark_tags by tag (its (tag_id, created_at) index), and the graph is a self-join of bookmark_tags.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

_TOTALS = text("""
SELECT
  (SELECT count(*) FROM bookmarks WHERE user_id = :user_id) AS bookmarks,
  (SELECT count(*) FROM bookmarks WHERE user_id = :user_id AND unread = 1) AS unread,
  (SELECT count(*) FROM bookmarks WHERE user_id = :user_id AND archived = 1) AS archived,
  (SELECT count(*) FROM tags WHERE user_id = :user_id) AS tags,
  (SELECT count(*) FROM collections WHERE user_id = :user_id) AS collections
""")

_PER_MONTH = text("""
SELECT strftime('%Y-%m', created_at / 1000000, 'unixepoch') AS month, count(*) AS count
FROM bookmarks WHERE user_id = :user_id
GROUP BY month ORDER BY month
""")

# CROSS JOIN fixes the join order (SQLite never reorders it): start from the few top tags and seek
# bookmark_tags by tag, rather than scan every user's bookmark_tags.
# The user's tags ranked by how many bookmarks carry them: the top of this is both the "top tags"
# list and the node set of the graph.
_RANKED_TAGS = """
SELECT t.id AS id, t.name AS name, count(*) AS count
FROM tags t JOIN bookmark_tags bt ON bt.tag_id = t.id
WHERE t.user_id = :user_id
GROUP BY t.id ORDER BY count DESC, t.name LIMIT :limit
"""

_TOP_TAGS = text(_RANKED_TAGS)

_GRAPH = text(f"""
WITH top AS ({_RANKED_TAGS})
SELECT 'node' AS kind, name AS a, NULL AS b, count AS n FROM top
UNION ALL
SELECT * FROM (
  SELECT 'link', ta.name, tb.name, count(*) AS weight
  FROM top ta
  CROSS JOIN bookmark_tags x ON x.tag_id = ta.id
  CROSS JOIN bookmark_tags y ON y.bookmark_id = x.bookmark_id AND y.tag_id > x.tag_id
  JOIN top tb ON tb.id = y.tag_id
  GROUP BY x.tag_id, y.tag_id HAVING weight >= :min_weight
  ORDER BY weight DESC, ta.name, tb.name LIMIT :link_limit
)
""")


def stats(conn: Connection, *, user_id: int, top: int = 10) -> dict[str, Any]:
    """Totals, bookmarks added per month (UTC), and the `top` most used tags: three statements."""
    totals = dict(conn.execute(_TOTALS, {"user_id": user_id}).mappings().one())
    months = [dict(row) for row in conn.execute(_PER_MONTH, {"user_id": user_id}).mappings()]
    tags = [{"name": row["name"], "count": row["count"]}
            for row in conn.execute(_TOP_TAGS, {"user_id": user_id, "limit": top}).mappings()]
    return {"totals": totals, "per_month": months, "top_tags": tags}


def tag_graph(conn: Connection, *, user_id: int, limit: int = 100, min_weight: int = 1,
              link_limit: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """The co-occurrence graph of the `limit` most used tags, in one statement, shaped for D3.

    Links are the pairs of those tags that share at least `min_weight` bookmarks, strongest first,
    at most `link_limit` of them (ten per node by default).
    """
    params = {"user_id": user_id, "limit": limit, "min_weight": min_weight,
              "link_limit": link_limit if link_limit is not None else limit * 10}
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for kind, a, b, n in conn.execute(_GRAPH, params).all():
        if kind == "node":
            nodes.append({"id": a, "count": n})
        else:
            links.append({"source": a, "target": b, "weight": n})
    return {"nodes": nodes, "links": links}
