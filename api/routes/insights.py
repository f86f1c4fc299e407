"""The dashboard's numbers: totals and trends, and the tag co-occurrence graph."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import CurrentUser, TxDep
from api.errors import responses
from api.schemas_resources import Id
from domain import insights

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


def _on_connection(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The insights queries are Core statements on a Connection; a transaction hands out a Session."""
    return lambda session, **kwargs: fn(session.connection(), **kwargs)


@router.get("/stats", summary="Totals, bookmarks added per month (UTC), top tags", response_model=StatsOut,
            responses=responses(401, 422, 429))
async def get_stats(user: CurrentUser, tx: TxDep,
                    top: int = Query(10, ge=1, le=100, description="how many top tags")) -> StatsOut:
    return StatsOut.model_validate(await tx.read(_on_connection(insights.stats), user_id=user.user_id, top=top))


@router.get("/tags/graph", summary="Tag co-occurrence graph for a D3 force layout", response_model=GraphOut,
            responses=responses(401, 422, 429))
async def get_tag_graph(
    user: CurrentUser, tx: TxDep,
    min_weight: Annotated[Id, Query(description="least number of shared bookmarks for a link")] = 1,
    limit: int = Query(100, ge=1, le=500, description="the most used tags to include as nodes"),
) -> GraphOut:
    graph = await tx.read(_on_connection(insights.tag_graph), user_id=user.user_id, limit=limit,
                          min_weight=min_weight)
    return GraphOut.model_validate(graph)
