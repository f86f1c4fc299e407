"""The `kura-api` command: the cyclic collector is held off before the heavy imports start.

It has to happen before `api.server` is imported (FastAPI, pydantic, SQLAlchemy, uvicorn), so it
cannot live there; `api.server.main` switches collection back on, with the start-up's objects
frozen, once the app is built (common/memory.py says why).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence

from common import memory


def main(argv: Sequence[str] | None = None) -> int:
    memory.hold_collection()
    try:
        from api.server import main as serve

        return serve(argv)
    finally:
        gc.enable()  # in case start-up failed before api.server got that far
