"""The dashboard's numbers: totals and trends, and the tag co-occurrence graph."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import CurrentUser, SessionDep
from api.errors import responses
from common import insights

router = APIRouter(tags=["insights"])


class Totals(BaseModel):
    bookmarks: int
    unread: int
    archived: int
    tags: int
    collections: int


class MonthCount(BaseModel):
    month: str
    count: int


class TagCount(BaseModel):
    name: str
    count: int


class StatsOut(BaseModel):
    totals: Totals
    per_month: list[MonthCount]
    top_tags: list[TagCount]


class GraphNode(BaseModel):
    id: str
    count: int


class GraphLink(BaseModel):
    source: str
    target: str
    weight: int


class GraphOut(BaseModel):
    nodes: list[GraphNode]
    links: list[GraphLink]


@router.get("/stats", summary="Totals, bookmarks added per month (UTC), top tags", response_model=StatsOut,
            responses=responses(401, 422, 429))
def get_stats(user: CurrentUser, session: SessionDep,
              top: int = Query(10, ge=1, le=100, description="how many top tags")) -> StatsOut:
    return StatsOut.model_validate(insights.stats(session.connection(), user_id=user.user_id, top=top))


@router.get("/tags/graph", summary="Tag co-occurrence graph for a D3 force layout", response_model=GraphOut,
            responses=responses(401, 422, 429))
def get_tag_graph(
    user: CurrentUser, session: SessionDep,
    min_weight: int = Query(1, ge=1, description="least number of shared bookmarks for a link"),
    limit: int = Query(100, ge=1, le=500, description="the most used tags to include as nodes"),
) -> GraphOut:
    graph = insights.tag_graph(session.connection(), user_id=user.user_id, limit=limit, min_weight=min_weight)
    return GraphOut.model_validate(graph)
