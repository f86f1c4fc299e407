"""The ceiling: the least a FastAPI app can do (a constant JSON object), served exactly as kura-api
serves Kura (one uvicorn worker, the shipped access-log setting, Kura's event loop, uvicorn's parser), so
Kura's throughput can be read as a share of what the stack itself allows on this machine today."""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

from api.server import EVENT_LOOP
from common.settings import load_settings

app = FastAPI()


@app.get("/")
async def constant() -> dict[str, object]:
    return {"status": "ok", "service": "ceiling", "items": [1, 2, 3]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    shipped = load_settings()  # the same defaults kura-api starts with
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=shipped.access_log, log_config=None,
                loop=EVENT_LOOP)


if __name__ == "__main__":
    main()
