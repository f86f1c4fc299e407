"""Field types shared by the bookmark, tag and collection routers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from api.schemas import NOT_BLANK, StrictModel, not_blank_where_required

from domain.models import NAME_MAX
from domain.names import Name as _Name  # the CLI checks user names by the same rule
from domain.tags import MAX_TAGS_PER_BOOKMARK

MAX_ID = 2**63 - 1  # SQLite's INTEGER range: a larger id cannot exist, and must not reach the driver

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]
MAX_UNIX_S = 253402300799  # 9999-12-31T23:59:59Z, the last second a datetime holds
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _unix_seconds(value: object) -> object:
    """A number (or a numeric string: query parameters are strings) is Unix seconds, always: pydantic on
    its own would read a large one as milliseconds, and fail with a 422 past year 9999."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        seconds = float(value)
        if not 0 <= seconds <= MAX_UNIX_S:  # NaN fails this too
            raise ValueError(f"Unix seconds must be between 0 and {MAX_UNIX_S}")
        return datetime.fromtimestamp(seconds, UTC)
    return value


# A moment in a query: ISO 8601, or Unix seconds.
Moment = Annotated[datetime, BeforeValidator(_unix_seconds), WithJsonSchema({"anyOf": [
    {"type": "string", "format": "date-time"},
    {"type": "number", "minimum": 0, "maximum": MAX_UNIX_S, "description": "Unix seconds"}]})]

# Surrounding whitespace is dropped, so a name needs one other character (the document says so too).
Name = Annotated[_Name, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": NAME_MAX,
                                        "pattern": NOT_BLANK})]
TagList = Annotated[list[Name], Field(max_length=MAX_TAGS_PER_BOOKMARK)]


def _nulls_only_where_allowed(schema: dict[str, Any], model: type[PartialUpdate]) -> None:
    not_blank_where_required(schema)
    for name, field in schema.get("properties", {}).items():
        if name in model.NULLABLE:
            continue
        field.pop("default", None)
        options = [o for o in field.pop("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:
            field.update(options[0])
        elif options:
            field["anyOf"] = options


class PartialUpdate(StrictModel):
    """A PATCH body: only the fields sent change. A field left out is None here, but only the fields in
    NULLABLE may be sent as null (it means "none", e.g. no collection); elsewhere null is a 422, and the
    OpenAPI document does not offer it."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    model_config = ConfigDict(json_schema_extra=_nulls_only_where_allowed)  # type: ignore[typeddict-item]

    @model_validator(mode="after")
    def _no_nulls_but_nullable(self) -> PartialUpdate:
        nulls = sorted(f for f in self.model_fields_set if f not in self.NULLABLE and getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} may not be null; leave a field out to keep it")
        return self


class Deleted(BaseModel):
    id: int
    deleted: Literal[True] = True
