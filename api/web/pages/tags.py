"""Tags page: every tag with its bookmark count, rename (onto an existing name: merge), delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import TxDep
from api.schemas_resources import PathId
from api.web.deps import CsrfChecked, WebUser
from api.web.render import page, see_other
from domain import tags
from common.errors import KuraError, NotFound

router = APIRouter()
Sort = Literal["name", "count"]


async def _list(request: Request, user: WebUser, tx: TxDep, *, sort: Sort = "name", error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    rows = await tx.read(tags.list_tags, user_id=user.user_id, sort=sort)
    return page(request, "tags/list.html", user=user, status_code=status_code, tags=rows, sort=sort, error=error)


@router.get("/tags")
async def tags_page(request: Request, user: WebUser, tx: TxDep, sort: Sort = "name") -> HTMLResponse:
    return await _list(request, user, tx, sort=sort)


@router.post("/tags/{tag_id:int}/rename")
async def rename_tag(request: Request, tag_id: PathId, user: WebUser, tx: TxDep, _: CsrfChecked,
                     name: Annotated[str, Form()]) -> Response:
    try:
        renamed = await tx.write(tags.rename_tag, user_id=user.user_id, tag_id=tag_id, name=name)
    except NotFound:
        raise  # another user's tag, or a deleted one: the 404 page
    except KuraError as exc:  # a bad name: the page again, saying why
        return await _list(request, user, tx, error=exc.message, status_code=exc.status)
    if renamed["id"] != tag_id:  # the domain merged it into the tag that already had the name
        return see_other("/tags", notice=f"Merged into “{renamed['name']}”, now on {renamed['count']} bookmarks.")
    return see_other("/tags", notice=f"Renamed to “{renamed['name']}”.")


@router.post("/tags/{tag_id:int}/delete")
async def delete_tag(tag_id: PathId, user: WebUser, tx: TxDep, _: CsrfChecked) -> RedirectResponse:
    await tx.write(tags.delete_tag, user_id=user.user_id, tag_id=tag_id)
    return see_other("/tags", notice="Tag deleted; its bookmarks stay.")
