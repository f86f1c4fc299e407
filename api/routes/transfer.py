"""Import a browser bookmark file or a Kura export; export everything, streamed."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import IO, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from api.deps import CurrentUser, DatabaseDep, SettingsDep, TxDep
from api.errors import responses
from common import transfer
from common.errors import BadRequest, PayloadTooLarge

router = APIRouter(tags=["import and export"])
SPOOL_BYTES = 1 << 20  # uploads past this go to a temporary file, not memory

IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file: as the `file` part of a multipart form, or as the raw request body.",
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
            "text/html": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


class ImportErrorOut(BaseModel):
    line: int | None
    reason: str


class ImportOut(BaseModel):
    created: int
    updated: int
    skipped: int
    errors: list[ImportErrorOut]


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
    async with _upload(request, settings.import_max_bytes) as source:
        # One transaction on the writer thread, with the write turn held: it commits before we answer.
        result = await tx.run_writer(
            transfer.import_file, tx.db, user_id=user.user_id, source=source, options=options
        )
    return ImportOut.model_validate(result.as_dict())


@router.get(
    "/export", summary="Export every bookmark, streamed (Netscape HTML or Kura JSON)",
    response_class=StreamingResponse, responses={
        200: {"description": "the export file, streamed", "content": {
            "text/html": {"schema": {"type": "string", "description": "Netscape bookmark file"}},
            "application/json": {"schema": {"type": "object", "description": (
                'Kura export: {"format": "kura-bookmarks", "version": 1, "exported_at", "tags", '
                '"collections", "bookmarks"}; dates in microseconds since the epoch')}},
        }},
        **responses(401, 422, 429),
    },
)
def export_bookmarks(
    user: CurrentUser, db: DatabaseDep,
    format: Literal["netscape", "json"] = Query("netscape", description="netscape (browsers) or json (everything)"),
) -> StreamingResponse:
    filename = f"kura-bookmarks-{date.today():%Y-%m-%d}.{transfer.SUFFIXES[format]}"
    return StreamingResponse(
        transfer.EXPORTERS[format](db, user_id=user.user_id), media_type=transfer.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
