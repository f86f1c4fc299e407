"""Pydantic models shared by several routers. Request models forbid unknown fields."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

# What pydantic's whitespace stripping removes (Rust's trim: Unicode White_Space). A string that must
# not be empty must hold something else, and the OpenAPI document says so with this pattern.
BLANK = "\\t-\\r\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"[^{BLANK}]"


def not_blank_where_required(schema: dict[str, Any], *_: Any) -> None:
    """Request models strip whitespace: where a string needs a character, it needs a non-blank one."""
    for field in schema.get("properties", {}).values():
        for option in [field, *field.get("anyOf", [])]:
            if option.get("type") == "string" and option.get("minLength", 0) >= 1:
                option.setdefault("pattern", NOT_BLANK)


class StrictModel(BaseModel):
    """Base for request bodies: unknown fields are a 422, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra=not_blank_where_required)  # type: ignore[typeddict-item]
