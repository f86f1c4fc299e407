"""GET /settings: the "save this page" bookmarklet, and where to manage API tokens."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web.deps import WebUser
from api.web.render import page

router = APIRouter()


def bookmarklet(origin: str) -> str:
    """A javascript: URL opening `{origin}/add` prefilled with the page's address, title and the
    selected text, in a new tab (or this one when pop-ups are blocked). No "%" in the code: the browser
    percent-decodes a javascript: URL before running it."""
    add = json.dumps(f"{origin}/add?url=")
    code = (
        "(function(){var d=document,w=window,s=String(w.getSelection?w.getSelection():'').slice(0,2000),"
        f"u={add}+encodeURIComponent(location.href)+'&title='+encodeURIComponent(d.title)"
        "+'&description='+encodeURIComponent(s);if(!w.open(u,'_blank'))location.href=u;})();"
    )
    return "javascript:" + code


@router.get("/settings")
async def settings_page(request: Request, user: WebUser) -> Response:
    origin = str(request.base_url).rstrip("/")
    return page(request, "settings.html", user=user, bookmarklet=bookmarklet(origin), origin=origin)
