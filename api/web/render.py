"""HTML answers: the Jinja2 environment, `page()`, `see_other()`, fingerprinted assets, error pages.

Templates live in api/web/templates (autoescaped, compiled once and cached). Static files are served
under content-hashed names (`/static/kura.3f9a0c1b.css`) with a year-long immutable cache: a changed
file gets a new URL, so a browser never keeps a stale one and never asks again for a current one.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from domain.accounts import Principal

if TYPE_CHECKING:
    from jinja2 import Environment

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR, STATIC_DIR = HERE / "templates", HERE / "static"
NOTICE_COOKIE = "kura_notice"
NOTICE_MAX = 500
IMMUTABLE = "public, max-age=31536000, immutable"
# No external requests from any page (issue 14): everything comes from Kura itself; inline scripts and
# styles are refused too, so an injected tag can do nothing.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "Cache-Control": "private, no-cache"}
STATE_SESSION = "web_session"  # request.state attribute: the LiveSession (api/web/deps.py)
STATE_REFRESH = "web_cookie_refresh"  # request.state attribute: a session cookie to send again
NAV = (("/", "Bookmarks"), ("/add", "Add"), ("/tags", "Tags"), ("/collections", "Collections"),
       ("/import", "Import/export"), ("/tokens", "Tokens"), ("/settings", "Settings"))
ADMIN_NAV = (*NAV, ("/status", "Status"))


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


class Assets:
    """The files of one directory under fingerprinted names, read once (they are a few KB)."""

    def __init__(self, directory: Path) -> None:
        self.urls: dict[str, str] = {}
        self.files: dict[str, Asset] = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            body = path.read_bytes()
            rel = path.relative_to(directory).as_posix()
            stem, dot, ext = rel.rpartition(".")
            served = f"{stem}.{hashlib.sha256(body).hexdigest()[:8]}{dot}{ext}" if dot else rel
            media = mimetypes.guess_type(rel)[0] or "application/octet-stream"
            if media.startswith("text/") or media in ("application/javascript", "image/svg+xml"):
                media += "; charset=utf-8"
            self.urls[rel] = f"/static/{served}"
            self.files[served] = Asset(body, media)

    def url(self, name: str) -> str:
        return self.urls[name]  # a KeyError here is a template naming a file that does not exist

    def response(self, served: str) -> Response:
        asset = self.files.get(served)
        if asset is None:
            return Response("no such file\n", status_code=404, media_type="text/plain; charset=utf-8",
                            headers={"Cache-Control": "no-store"})
        return Response(asset.body, media_type=asset.media_type,
                        headers={"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"})


@cache
def assets() -> Assets:
    return Assets(STATIC_DIR)


@cache
def environment() -> Environment:
    # Imported at the first page, not at start: jinja2 is a tenth of kura-api's time to READY.
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, auto_reload=False,
                      cache_size=-1, trim_blocks=True, lstrip_blocks=True)
    env.globals["asset"] = assets().url
    return env


def session_csrf(request: Request) -> str:
    live = getattr(request.state, STATE_SESSION, None)
    return live.csrf if live is not None else ""


def current_entry(path: str) -> str:
    """The main navigation's entry for a path: its own, its parent's (`/tags/x`), or none."""
    if path == "/" or path.startswith("/b/"):
        return "/"
    if path == "/export":
        return "/import"
    return next((href for href, _ in ADMIN_NAV if href != "/" and (path == href or path.startswith(href + "/"))), "")


@lru_cache(maxsize=64)
def nav_html(current: str, is_admin: bool) -> Markup:
    """The main navigation's entries: the same few strings on every page, so built once per entry."""
    items = []
    for href, label in ADMIN_NAV if is_admin else NAV:
        mark = ' aria-current="page"' if href == current else ""
        items.append(f'<li><a href="{href}"{mark}>{label}</a></li>\n')
    return Markup("".join(items))


def page(request: Request, template: str, /, *, user: Principal | None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """Render `template` with `user`, `csrf`, `notice`, `nav`, `search`, `asset` and `request` in its
    context (a caller's own `csrf` or `notice` wins: the sign-in form has its own token)."""
    raw_notice = request.cookies.get(NOTICE_COOKIE)
    path = request.scope["path"]
    values = {"request": request, "user": user, "csrf": session_csrf(request),
              "notice": unquote(raw_notice)[:NOTICE_MAX] if raw_notice else None,
              "nav": nav_html(current_entry(path), bool(user and user.is_admin)) if user else "",
              "search": request.query_params.get("q", "") if path == "/" else "", **context}
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
    if raw_notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    refresh = getattr(request.state, STATE_REFRESH, None)
    if refresh is not None:
        refresh(response)
    return response


def see_other(url: str, *, notice: str | None = None) -> RedirectResponse:
    """303 to `url` (Post/Redirect/Get); `notice` is shown once, on the next page rendered."""
    response = RedirectResponse(url, status_code=303)
    if notice:
        response.set_cookie(NOTICE_COOKIE, quote(notice[:NOTICE_MAX]), max_age=60, path="/",
                            httponly=True, samesite="lax")
    return response


def error_page(request: Request, status: int, message: str, *,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    live = getattr(request.state, STATE_SESSION, None)
    response = page(request, "error.html", user=live.principal if live else None, status_code=status,
                    status=status, message=message)
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response
