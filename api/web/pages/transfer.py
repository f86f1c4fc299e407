"""Import/export page: upload a bookmark file (the API's importer, the CLI's report), download either format."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.deps import DatabaseDep, SettingsDep, TxDep
from api.routes.transfer import export_download, import_upload
from api.web.deps import CsrfChecked, WebUser
from api.web.render import page
from domain import transfer
from common.errors import KuraError

router = APIRouter()
Mode = Literal["skip", "strict"]


def _form(request: Request, user: WebUser, settings: SettingsDep, *, error: str | None = None,
          status_code: int = 200, folders_as_tags: bool = False, mode: Mode = "skip") -> HTMLResponse:
    return page(request, "transfer/import.html", user=user, status_code=status_code, error=error,
                limit_mib=settings.import_max_bytes / (1 << 20), folders_as_tags=folders_as_tags, mode=mode)


@router.get("/import")
async def import_page(request: Request, user: WebUser, settings: SettingsDep) -> HTMLResponse:
    return _form(request, user, settings)


@router.post("/import")
async def import_file(request: Request, user: WebUser, settings: SettingsDep, tx: TxDep, _: CsrfChecked,
                      folders_as_tags: Annotated[bool, Form()] = False,
                      mode: Annotated[Mode, Form()] = "skip") -> HTMLResponse:
    """The report is this answer itself, not a redirect: it may list up to a thousand lines."""
    options = transfer.ImportOptions(folders_as_tags=folders_as_tags, mode=mode)
    try:
        result = await import_upload(request, user_id=user.user_id, settings=settings, tx=tx, options=options)
    except KuraError as exc:  # a bad file, over the limit, strict mode's broken entry: nothing was imported
        return _form(request, user, settings, error=exc.message, status_code=exc.status,
                     folders_as_tags=folders_as_tags, mode=mode)
    return page(request, "transfer/report.html", user=user, result=result, summary=result.summary(),
                lines=result.entry_lines())


@router.get("/export")
async def export_file(request: Request, user: WebUser, db: DatabaseDep,
                      format: Annotated[Literal["netscape", "json"], Query()] = "netscape") -> StreamingResponse:
    return await export_download(request, db=db, user_id=user.user_id, format=format)
