"""Domain errors raised by common/ and domain/, and mapped once, in api/errors.py, to the JSON error shape."""

from __future__ import annotations

from typing import Any


class KuraError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(KuraError):
    status, code = 400, "bad_request"


class NotFound(KuraError):
    status, code = 404, "not_found"


class Conflict(KuraError):
    status, code = 409, "conflict"


class PayloadTooLarge(KuraError):
    status, code = 413, "payload_too_large"


class Unavailable(KuraError):
    """The server cannot do this right now; `retry_after` (seconds) becomes the Retry-After header."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, *, details: Any = None, retry_after: int | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return None if self.retry_after is None else {"Retry-After": str(self.retry_after)}
