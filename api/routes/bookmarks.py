"""Bookmarks: create, read, update, delete, bulk actions, the filtered list and search."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field
from api import searching
from api.conditional import conditional
from api.created import LOCATION_DOC
from api.deps import CurrentUser, SettingsDep, TxDep
from api.errors import responses
from api.responses import ORJSONResponse, shaped
from api.schemas import NOT_BLANK, StrictModel
from api.transactions import Transactions
from api.schemas_resources import Deleted, Id, Moment, Name, PartialUpdate, PathId, TagList
from domain import bookmarks, listing, lookup
from domain.bookmark_rows import Shape, get_plain, to_fragments
from domain.bookmarks import BULK_MAX, BulkAction
from domain.accounts import Principal
from domain.listing import Sort
from domain.fields import TEXT_LIMITS as LIMITS  # the caps the importer applies too
from domain.search import MAX_QUERY_CHARS, MAX_TERMS
from common.settings import Settings

router = APIRouter(prefix="/bookmarks", tags=["bookmarks"])
search_router = APIRouter(tags=["bookmarks"])
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag still names the current answer"}}


class BookmarkOut(BaseModel):
    id: int
    url: str
    title: str
    description: str
    notes: str
    tags: list[str]
    collection: int | None = Field(description="The collection's id, or null when uncollected")
    unread: bool
    archived: bool
    private: bool
    created: datetime
    modified: datetime


class BookmarkCreate(StrictModel):
    url: str = Field(min_length=1, max_length=LIMITS["url"], examples=["https://example.org/page"])
    title: str = Field("", max_length=LIMITS["title"])
    description: str = Field("", max_length=LIMITS["description"])
    notes: str = Field("", max_length=LIMITS["notes"])
    tags: TagList = []
    collection: Id | None = None
    unread: bool = False
    archived: bool = False
    private: bool = False


class BookmarkUpdate(PartialUpdate):
    """Only the fields sent change; `tags` replaces the whole set; `collection: null` uncollects."""

    NULLABLE = frozenset({"collection"})

    url: str | None = Field(None, min_length=1, max_length=LIMITS["url"])
    title: str | None = Field(None, max_length=LIMITS["title"])
    description: str | None = Field(None, max_length=LIMITS["description"])
    notes: str | None = Field(None, max_length=LIMITS["notes"])
    tags: TagList | None = None
    collection: Id | None = None
    unread: bool | None = None
    archived: bool | None = None
    private: bool | None = None


class BulkRequest(StrictModel):
    ids: list[Id] = Field(min_length=1, max_length=BULK_MAX)
    action: BulkAction
    tags: TagList = Field([], description="For add_tags and remove_tags")


class BulkResult(BaseModel):
    action: str
    updated: list[int]
    not_found: list[int] = Field(description="Ids that are not yours or do not exist; left untouched")


class BookmarkPage(BaseModel):
    items: list[BookmarkOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class ListParams(StrictModel):
    q: str | None = Field(None, max_length=MAX_QUERY_CHARS,
                          description='Search: words (ANDed), "phrases", -exclude, #tag, prefix*')
    tag: list[Name] = Field(default_factory=list, max_length=MAX_TERMS, description=f"Repeatable (up to {MAX_TERMS}); every tag must match")
    any_tag: list[Name] = Field(default_factory=list, max_length=MAX_TERMS,
                                description=f"Repeatable (up to {MAX_TERMS}); any of these tags matches")
    collection: Id | None = None
    unread: bool | None = None
    archived: bool | None = None
    added_since: Moment | None = None
    modified_since: Moment | None = None
    sort: Sort = "newest"
    limit: int = Field(50, ge=1, description="Page size; capped at the server's KURA_LIST_LIMIT_MAX")
    cursor: str | None = Field(None, max_length=1024)


class SearchParams(ListParams):
    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK,
                   description='Words (ANDed), "phrases", -exclude, #tag, prefix*')
    sort: Sort = "relevance"


async def read_page(tx: Transactions, settings: Settings, user_id: int, params: ListParams) -> ORJSONResponse:
    """A list or search page: the route's body, and api/hot.py's."""
    return shaped(await choose_page(tx, settings, user_id=user_id, params=params, shape=to_fragments))


async def choose_page(tx: Transactions, settings: Settings, *, user_id: int, params: ListParams,
                      shape: Shape) -> dict[str, Any]:
    """Where a list or search page is read, for the JSON list and the web list alike."""
    limit = min(params.limit, settings.list_limit_max)
    filters = params.model_dump(exclude={"limit", "sort", "cursor"}, exclude_defaults=True)
    if not filters or (set(filters) == {"q"} and params.sort == "relevance" and
                       listing.cheap_search(tx.search_index, filters["q"])):
        # Cheap by construction: one walk of the sort's index, or FTS5 ranking a few matches. On
        # the event loop, that costs less than the hand-off to a worker thread.
        return await tx.read_quick(listing.list_plain, listing.list_bookmarks, user_id=user_id, shape=shape,
                                   limit=limit, sort=params.sort, cursor=params.cursor, **filters)
    if set(filters) == {"q"} and params.sort == "relevance":
        ranked = await searching.search_page(tx, user_id=user_id, q=filters["q"], limit=limit, cursor=params.cursor,
                                             shape=shape)
        if ranked is not None:
            return ranked
        # No index, or it could not answer (catching up, or no word to rank by): FTS5 does, at once.
    return await filtered_page(tx, user_id=user_id, filters=filters, sort=params.sort, cursor=params.cursor,
                               limit=limit, shape=shape)


async def filtered_page(tx: Transactions, *, user_id: int, filters: dict[str, Any], sort: Sort,
                        cursor: str | None, limit: int, shape: Shape) -> dict[str, Any]:
    """A page with filters (the JSON list's and the web list's; `filters` are the ones the request
    set, in ListParams' order). Filters walk an index until `limit` rows match, at a cost not known
    in advance: on the event loop while it stays cheap, else on a worker thread. Searches stay on a
    thread: FTS5 may work for long between checks of the budget."""
    if "q" not in filters:
        # The same filters always dump in the same order, so their repr names them (not the cursor:
        # every page of one list costs alike).
        key = (user_id, sort, repr(filters))
        return await tx.read_budgeted(listing.list_in, key=key, user_id=user_id, shape=shape, limit=limit,
                                      sort=sort, cursor=cursor, **filters)
    return await tx.read_plain(listing.list_in, user_id=user_id, shape=shape, limit=limit, sort=sort,
                               cursor=cursor, **filters)


async def read_one(tx: Transactions, user_id: int, bookmark_id: int) -> ORJSONResponse:
    return shaped(await tx.read_quick(get_plain, bookmarks.get_bookmark, user_id=user_id, bookmark_id=bookmark_id,
                                      shape=to_fragments))


def _conditional(request: Request, user: Principal, answer: Callable[[], Awaitable[Response]]) -> Awaitable[Response]:
    return conditional(request.app.state.versions, request.scope, user, answer)


@router.get("", summary="List bookmarks (filter, sort, search, paginate)", response_model=BookmarkPage,
            responses={**NOT_MODIFIED, **responses(400, 401, 422, 429)})
async def list_bookmarks(params: Annotated[ListParams, Query()], user: CurrentUser, tx: TxDep,
                         settings: SettingsDep, request: Request) -> Response:
    return await _conditional(request, user, lambda: read_page(tx, settings, user.user_id, params))


@search_router.get("/search", summary="Search bookmarks, best match first", response_model=BookmarkPage,
                   responses={**NOT_MODIFIED, **responses(400, 401, 422, 429)})
async def search(params: Annotated[SearchParams, Query()], user: CurrentUser, tx: TxDep,
                 settings: SettingsDep, request: Request) -> Response:
    return await _conditional(request, user, lambda: read_page(tx, settings, user.user_id, params))


async def create(tx: Transactions, user_id: int, body: BookmarkCreate, *,
                 location: Callable[[int], str]) -> ORJSONResponse:
    """A create: the route's body, and api/hot_writes.py's. `location(id)` is the new bookmark's
    path. The answer is built only after the COMMIT returned."""
    fields = body.model_dump(exclude={"collection"})
    created = await tx.write_plain(bookmarks.create_plain, user_id=user_id, collection_id=body.collection, **fields)
    answer = ORJSONResponse(created, status_code=status.HTTP_201_CREATED)
    answer.headers["Location"] = location(created["id"])
    return answer


async def update(tx: Transactions, user_id: int, bookmark_id: int, body: BookmarkUpdate) -> ORJSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return shaped(await tx.write_plain(bookmarks.update_plain, user_id=user_id, bookmark_id=bookmark_id,
                                       changes=changes))


async def delete(tx: Transactions, user_id: int, bookmark_id: int) -> ORJSONResponse:
    await tx.write_plain(bookmarks.delete_plain, user_id=user_id, bookmark_id=bookmark_id)
    return shaped({"id": bookmark_id, "deleted": True})


@router.post("", summary="Create a bookmark", status_code=status.HTTP_201_CREATED, response_model=BookmarkOut,
             responses={**responses(400, 401, 404, 409, 413, 422, 429), **LOCATION_DOC})
async def create_bookmark(body: BookmarkCreate, user: CurrentUser, tx: TxDep, request: Request) -> Response:
    return await create(tx, user.user_id, body,
                        location=lambda new_id: request.app.url_path_for("get_bookmark", bookmark_id=new_id))


@router.post("/bulk", summary="Apply one action to many bookmarks", response_model=BulkResult,
             responses=responses(400, 401, 413, 422, 429))
async def bulk(body: BulkRequest, user: CurrentUser, tx: TxDep) -> dict[str, Any]:
    return await tx.write(bookmarks.bulk_action, user_id=user.user_id, ids=body.ids, action=body.action,
                          tags=body.tags)


class UrlCheck(BaseModel):
    url: str = Field(description="The URL as Kura stores it, after normalisation")
    saved: bool = Field(description="Whether you have a bookmark with this URL")
    id: int | None = Field(description="That bookmark's id, or null")


@router.get("/check", summary="Is this URL saved already? (normalised as a create would)", response_model=UrlCheck,
            responses=responses(400, 401, 422, 429))
async def check_url(url: Annotated[str, Query(min_length=1, description="Any form of the URL")], user: CurrentUser,
                    tx: TxDep) -> ORJSONResponse:
    return shaped(await tx.read(lookup.find_url, user_id=user.user_id, url=url))


@router.get("/{bookmark_id:int}", summary="Read a bookmark", response_model=BookmarkOut,
            responses={**NOT_MODIFIED, **responses(401, 404, 422, 429)})
async def get_bookmark(bookmark_id: PathId, user: CurrentUser, tx: TxDep, request: Request) -> Response:
    return await _conditional(request, user, lambda: read_one(tx, user.user_id, bookmark_id))


@router.patch("/{bookmark_id:int}", summary="Update a bookmark", response_model=BookmarkOut,
              responses=responses(400, 401, 404, 409, 413, 422, 429))
async def update_bookmark(bookmark_id: PathId, body: BookmarkUpdate, user: CurrentUser, tx: TxDep) -> Response:
    return await update(tx, user.user_id, bookmark_id, body)


@router.delete("/{bookmark_id:int}", summary="Delete a bookmark", response_model=Deleted,
               responses=responses(401, 404, 422, 429))
async def delete_bookmark(bookmark_id: PathId, user: CurrentUser, tx: TxDep) -> Response:
    return await delete(tx, user.user_id, bookmark_id)
