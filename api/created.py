"""`201 Created` answers name the new resource in `Location` (RFC 9110 10.2.2), as a path on this API."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

# Merged into a create route's `responses=`, so the OpenAPI document shows the header.
LOCATION_DOC: dict[int | str, dict[str, Any]] = {201: {"headers": {"Location": {
    "description": "Path of the new resource, e.g. /api/v1/bookmarks/7", "schema": {"type": "string"}}}}}


def locate(request: Request, response: Response, route: str, **path_params: Any) -> None:
    """Set `Location` to the path of the route named `route` (a path, so it stays right behind a proxy)."""
    response.headers["Location"] = request.app.url_path_for(route, **path_params)
