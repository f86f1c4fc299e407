"""Field types shared by the bookmark, tag and collection routers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from common.names import Name  # the CLI checks user names by the same rule
from common.tags import MAX_TAGS_PER_BOOKMARK

MAX_ID = 2**63 - 1  # SQLite's INTEGER range: a larger id cannot exist, and must not reach the driver

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]
TagList = Annotated[list[Name], Field(max_length=MAX_TAGS_PER_BOOKMARK)]


class Deleted(BaseModel):
    id: int
    deleted: Literal[True] = True
