"""Collections: a tree of named groups. Create, rename, move, delete, list with counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from api.created import LOCATION_DOC, locate
from api.deps import CurrentUser, TxDep
from api.errors import responses
from api.schemas import StrictModel
from api.schemas_resources import Deleted, Id, Name, PartialUpdate, PathId
from domain import collections

router = APIRouter(prefix="/collections", tags=["collections"])


class CollectionOut(BaseModel):
    id: int
    name: str
    parent_id: int | None
    count: int = Field(description="Bookmarks directly in this collection")
    created: datetime


class CollectionCreate(StrictModel):
    name: Name
    parent_id: Id | None = None


class CollectionUpdate(PartialUpdate):
    """Send `name` to rename, `parent_id` to move (null: to the top level)."""

    NULLABLE = frozenset({"parent_id"})
    name: Name | None = None
    parent_id: Id | None = None


@router.get("", summary="List your collections with counts", response_model=list[CollectionOut],
            responses=responses(401, 429))
async def list_collections(user: CurrentUser, tx: TxDep) -> list[dict[str, Any]]:
    return await tx.read(collections.list_collections, user_id=user.user_id)


@router.post("", summary="Create a collection", status_code=status.HTTP_201_CREATED, response_model=CollectionOut,
             responses={**responses(400, 401, 404, 413, 422, 429), **LOCATION_DOC})
async def create_collection(body: CollectionCreate, user: CurrentUser, tx: TxDep, request: Request,
                            response: Response) -> dict[str, Any]:
    created = await tx.write(collections.create_collection, user_id=user.user_id, name=body.name,
                             parent_id=body.parent_id)
    locate(request, response, "get_collection", collection_id=created["id"])
    return created


@router.get("/{collection_id}", summary="Read a collection", response_model=CollectionOut,
            responses=responses(401, 404, 422, 429))
async def get_collection(collection_id: PathId, user: CurrentUser, tx: TxDep) -> dict[str, Any]:
    return await tx.read(collections.get_collection, user_id=user.user_id, collection_id=collection_id)


@router.patch("/{collection_id}", summary="Rename or move a collection", response_model=CollectionOut,
              responses=responses(400, 401, 404, 413, 422, 429))
async def update_collection(collection_id: PathId, body: CollectionUpdate, user: CurrentUser,
                            tx: TxDep) -> dict[str, Any]:
    move = {"parent_id": body.parent_id} if "parent_id" in body.model_fields_set else {}
    return await tx.write(collections.update_collection, user_id=user.user_id, collection_id=collection_id,
                          name=body.name, **move)


@router.delete("/{collection_id}", summary="Delete a collection (children move up, bookmarks stay)",
               response_model=Deleted, responses=responses(401, 404, 422, 429))
async def delete_collection(collection_id: PathId, user: CurrentUser, tx: TxDep) -> Deleted:
    await tx.write(collections.delete_collection, user_id=user.user_id, collection_id=collection_id)
    return Deleted(id=collection_id)
