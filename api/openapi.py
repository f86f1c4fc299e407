"""The OpenAPI document as FastAPI builds it, with integer bounds kept exact.

FastAPI passes component schemas through its OpenAPI model, whose `maximum`/`minimum` are floats: the
bound of an id, 2**63 - 1, became 9.223372036854776e18, i.e. 2**63, one past SQLite's range, so a
client generated from the document (or a tester such as schemathesis) would send ids the server must
refuse. Integer schemas get their integer bounds back.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.schemas_resources import MAX_ID

BOUNDS = ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum")


def _exact(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in BOUNDS:
                value = node.get(key)
                if isinstance(value, float):
                    node[key] = max(-MAX_ID - 1, min(MAX_ID, int(value)))
        for child in node.values():
            _exact(child)
    elif isinstance(node, list):
        for child in node:
            _exact(child)


def install_openapi(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _exact(build())  # FastAPI keeps the document in app.openapi_schema: corrected once, in place
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
