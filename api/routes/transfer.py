"""Import a browser bookmark file or a Kura export; export everything, streamed."""

from __future__ import annotations

import tempfile
import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import date
from typing import IO, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import CurrentUser, DatabaseDep, SettingsDep, TxDep
from api.errors import responses
from api.transactions import Transactions
from domain import transfer
from common.db import Database
from common.errors import BadRequest, PayloadTooLarge, Unavailable
from common.settings import Settings

router = APIRouter(tags=["import and export"])
SPOOL_BYTES = 1 << 20  # uploads past this go to a temporary file, not memory
EXPORT_SLOTS = 2  # exports streaming at once; two keep both cores busy
EXPORT_WAIT_S = 60.0  # how long an export waits for a slot before it answers 503

IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file: as the `file` part of a multipart form, or as the raw request body.",
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
            "text/html": {"schema": {"type": "string", "description": "a Netscape bookmark file"}},
            "application/json": {"schema": {"oneOf": [
                {"type": "object", "description": "a Kura export"},
                {"type": "array", "items": {"type": "object"}, "description": "Pinboard's JSON export"},
            ]}},
            "text/csv": {"schema": {"type": "string", "description": "Pocket's CSV export"}},
            "application/zip": {"schema": {"type": "string", "format": "binary",
                                           "description": "Pocket's export: a zip of part_*.csv"}},
        },
    }
}


class ImportErrorOut(BaseModel):
    line: int | None
    reason: str


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int = Field(description="Bookmarks already there as the file has them")
    skipped: int
    errors: list[ImportErrorOut] = Field(description="Entries skipped, with their line (at most 1,000)")
    adjusted: list[ImportErrorOut] = Field(description="Entries imported with a change, such as a title cut "
                                                       "to its cap (at most 1,000)")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the import is larger than the limit of {limit} bytes", details={"limit": limit})


@asynccontextmanager
async def _upload(request: Request, limit: int) -> AsyncIterator[IO[bytes]]:
    """The uploaded file, spooled to disk when large, whichever way it was sent."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            part = form.get("file") or next((v for v in form.values() if isinstance(v, UploadFile)), None)
            if not isinstance(part, UploadFile):
                raise BadRequest("the multipart form has no file: send the bookmark file as the field 'file'")
            if part.size is not None and part.size > limit:
                raise _too_large(limit)
            yield part.file
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            spool.write(chunk)
        spool.seek(0)
        yield spool


@router.post(
    "/import", summary="Import a bookmark file (browser export or Kura JSON)", response_model=ImportOut,
    responses=responses(400, 401, 413, 422, 429), openapi_extra=IMPORT_BODY,
)
async def import_bookmarks(
    request: Request, user: CurrentUser, settings: SettingsDep, tx: TxDep,
    folders_as_tags: bool = Query(False, description="turn each folder path into tags, not collections"),
    mode: Literal["skip", "strict"] = Query("skip", description="strict: one broken entry rejects the file"),
) -> ImportOut:
    options = transfer.ImportOptions(folders_as_tags=folders_as_tags, mode=mode)
    result = await import_upload(request, user_id=user.user_id, settings=settings, tx=tx, options=options)
    return ImportOut.model_validate(result.as_dict())


async def import_upload(request: Request, *, user_id: int, settings: Settings, tx: Transactions,
                        options: transfer.ImportOptions) -> transfer.ImportResult:
    """The request's file imported for the user: the API's import and the web page's upload both."""
    async with _upload(request, settings.import_max_bytes) as source:
        # On a worker thread, no write turn held: a small file read and checked whole, so other users'
        # writes go on meanwhile; a large one started in a child process (off this process's GIL),
        # which goes on reading while the writer writes. A bad file's error comes here either way.
        parsed = await run_in_threadpool(transfer.read_import, source, options=options)
        try:
            # Then one transaction on the writer thread, with the write turn held: it commits before we answer.
            return await tx.run_writer(transfer.write_parsed, tx.db, user_id=user_id, parsed=parsed)
        finally:
            parsed.close()


@router.get(
    "/export", summary="Export every bookmark, streamed (Netscape HTML or Kura JSON)",
    response_class=StreamingResponse, responses={
        200: {"description": "the export file, streamed", "content": {
            "text/html": {"schema": {"type": "string", "description": "Netscape bookmark file"}},
            "application/json": {"schema": {"type": "object", "description": (
                'Kura export: {"format": "kura-bookmarks", "version": 2, "exported_at", "tags", '
                '"collections", "bookmarks"}; fields named as the bookmark API names them (created, '
                'modified, collection); dates in microseconds since the epoch')}},
        }},
        **responses(401, 422, 429, 503),
    },
)
async def export_bookmarks(
    request: Request, user: CurrentUser, db: DatabaseDep,
    format: Literal["netscape", "json"] = Query("netscape", description="netscape (browsers) or json (everything)"),
) -> StreamingResponse:
    return await export_download(request, db=db, user_id=user.user_id, format=format)


async def export_download(request: Request, *, db: Database, user_id: int,
                          format: Literal["netscape", "json"]) -> StreamingResponse:
    """The user's export as a download: the API's export and the web page's link both."""
    filename = f"kura-bookmarks-{date.today():%Y-%m-%d}.{transfer.SUFFIXES[format]}"
    slots = export_slots(request.app.state)
    release = await slots.take()
    stream = transfer.EXPORTERS[format](db, user_id=user_id)
    return StreamingResponse(
        _held(stream, release), media_type=transfer.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class ExportSlots:
    """At most EXPORT_SLOTS exports stream at once. Each holds a batch of rows and its chunks while the
    client reads, so 32 concurrent exports of 10k bookmarks grew the API by 125 MB of memory that the
    allocator then kept; the others wait their turn, and past EXPORT_WAIT_S get a 503 to retry."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(EXPORT_SLOTS)

    async def take(self) -> Callable[[], None]:
        try:
            async with asyncio.timeout(EXPORT_WAIT_S):
                await self._slots.acquire()
        except TimeoutError:
            raise Unavailable(f"{EXPORT_SLOTS} exports are already running; retry shortly",
                              retry_after=5) from None
        return self._slots.release


def export_slots(state: Any) -> ExportSlots:
    if getattr(state, "export_slots", None) is None:
        state.export_slots = ExportSlots()
    return state.export_slots


async def _held(stream: Iterator[bytes], release: Callable[[], None]) -> AsyncIterator[bytes]:
    """The export's chunks, read on a worker thread; the slot (and the read transaction) end with it,
    whether the client read to the end or went away."""
    try:
        async for chunk in iterate_in_threadpool(stream):
            yield chunk
    finally:
        release()
        await run_in_threadpool(stream.close)
