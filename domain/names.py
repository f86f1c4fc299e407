"""The rule for a name (a user, a tag, a collection), shared by the API's request schemas and the CLI:
surrounding whitespace is dropped, and what is left is 1 to NAME_MAX characters."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints, TypeAdapter, ValidationError

from common.errors import BadRequest
from domain.models import NAME_MAX

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
_NAME = TypeAdapter(Name)


def clean_name(value: str, *, what: str) -> str:
    """``value`` as the API would store it, or BadRequest saying why it is not a name."""
    try:
        return _NAME.validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].lower()
        raise BadRequest(f"{what} {value[:40]!r} is not a valid name: {reason}") from None
