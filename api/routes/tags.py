"""Tags: list with bookmark counts, rename (merging onto an existing name), delete."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import CurrentUser, TxDep
from api.errors import responses
from api.schemas import StrictModel
from api.schemas_resources import Deleted, Name, PathId
from domain import tags

router = APIRouter(prefix="/tags", tags=["tags"])


class TagOut(BaseModel):
    id: int
    name: str
    count: int


class TagRename(StrictModel):
    name: Name


@router.get("", summary="List your tags with bookmark counts", response_model=list[TagOut],
            responses=responses(401, 422, 429))
async def list_tags(user: CurrentUser, tx: TxDep, sort: Literal["name", "count"] = "name") -> list[dict[str, Any]]:
    return await tx.read(tags.list_tags, user_id=user.user_id, sort=sort)


@router.patch("/{tag_id:int}", summary="Rename a tag (onto an existing name: merge)", response_model=TagOut,
              responses=responses(400, 401, 404, 413, 422, 429))
async def rename_tag(tag_id: PathId, body: TagRename, user: CurrentUser, tx: TxDep) -> dict[str, Any]:
    return await tx.write(tags.rename_tag, user_id=user.user_id, tag_id=tag_id, name=body.name)


@router.delete("/{tag_id:int}", summary="Delete a tag (its bookmarks stay)", response_model=Deleted,
               responses=responses(401, 404, 422, 429))
async def delete_tag(tag_id: PathId, user: CurrentUser, tx: TxDep) -> Deleted:
    await tx.write(tags.delete_tag, user_id=user.user_id, tag_id=tag_id)
    return Deleted(id=tag_id)
