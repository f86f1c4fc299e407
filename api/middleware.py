"""HTTP middleware. (Being built: body-size limit, Server-Timing, slow-request log, ETag, gzip.)"""

from __future__ import annotations

from fastapi import FastAPI

from common.settings import Settings


def install_middleware(app: FastAPI, settings: Settings) -> None:
    return None
