"""Collections: a tree of named groups. Create, rename, move, delete, list with counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, model_validator

from api.deps import CurrentUser, SessionDep, WriteSessionDep
from api.errors import responses
from api.schemas import StrictModel
from api.schemas_resources import Deleted, Id, Name, PathId
from common import collections

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


class CollectionUpdate(StrictModel):
    """Send `name` to rename, `parent_id` to move (null: to the top level)."""

    name: Name | None = None
    parent_id: Id | None = None

    @model_validator(mode="after")
    def _name_not_null(self) -> CollectionUpdate:
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name may not be null; leave it out to keep it")
        return self


@router.get("", summary="List your collections with counts", response_model=list[CollectionOut],
            responses=responses(401, 429))
def list_collections(user: CurrentUser, session: SessionDep) -> list[dict[str, Any]]:
    return collections.list_collections(session, user_id=user.user_id)


@router.post("", summary="Create a collection", status_code=status.HTTP_201_CREATED, response_model=CollectionOut,
             responses=responses(400, 401, 404, 413, 422, 429))
def create_collection(body: CollectionCreate, user: CurrentUser, session: WriteSessionDep) -> dict[str, Any]:
    return collections.create_collection(session, user_id=user.user_id, name=body.name, parent_id=body.parent_id)


@router.get("/{collection_id}", summary="Read a collection", response_model=CollectionOut,
            responses=responses(401, 404, 422, 429))
def get_collection(collection_id: PathId, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return collections.get_collection(session, user_id=user.user_id, collection_id=collection_id)


@router.patch("/{collection_id}", summary="Rename or move a collection", response_model=CollectionOut,
              responses=responses(400, 401, 404, 413, 422, 429))
def update_collection(collection_id: PathId, body: CollectionUpdate, user: CurrentUser,
                      session: WriteSessionDep) -> dict[str, Any]:
    move = {"parent_id": body.parent_id} if "parent_id" in body.model_fields_set else {}
    return collections.update_collection(session, user_id=user.user_id, collection_id=collection_id,
                                         name=body.name, **move)


@router.delete("/{collection_id}", summary="Delete a collection (children move up, bookmarks stay)",
               response_model=Deleted, responses=responses(401, 404, 422, 429))
def delete_collection(collection_id: PathId, user: CurrentUser, session: WriteSessionDep) -> Deleted:
    collections.delete_collection(session, user_id=user.user_id, collection_id=collection_id)
    return Deleted(id=collection_id)
