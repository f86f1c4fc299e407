"""What the bookmark templates are given: the list page's context and the add/edit form page."""

from __future__ import annotations

try:  # markupsafe's C escaping (Jinja's own), without building a Markup object per value
    from markupsafe._speedups import _escape_inner as escape
except ImportError:  # pragma: no cover - markupsafe without its C speedups
    from html import escape
import heapq
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import quote

import orjson

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api.routes.bookmarks import ListParams
from api.web import render
from api.web.pages import bookmark_reads as reads
from api.web.pages.bookmark_forms import BookmarkForm
from domain.fields import TEXT_LIMITS
from domain.tags import tag_key

PAGE_TAGS_MAX = 12  # the side panel's "on this page" tags: a shortcut, not the tag list


def list_context(request: Request, *, params: ListParams, page: dict[str, Any],
                 state: reads.PageState) -> dict[str, Any]:
    filters = reads.filters_of(params)
    names = state.names()
    # Tag links and shortcuts from the rows already read (no statement), worked out once per distinct
    # tag: a tag recurs on many rows, and quoting is the costly part.
    shown = [_shown_row(text) for text in page["items"]]  # the rows' stored JSON (bookmark_rows.to_texts)
    distinct = {t for row in shown for t in row.tags}
    active = {tag_key(t) for t in params.tag}
    keyed = [(tag_key(t), t) for t in distinct]
    on_page = heapq.nsmallest(PAGE_TAGS_MAX, [kt for kt in keyed if kt[0] not in active])
    filtered = reads.list_url(filters)
    join = "&" if "?" in filtered else "?"
    query = request.scope["query_string"].decode("latin-1")
    return {
        "rows": rows(shown, names), "filters": filters,
        "tree_html": reads.tree_html(state.collections, filters.get("collection")),
        "cursor": params.cursor, "heading": heading(params, names),
        "here": f"/?{query}" if query else "/",
        "next_url": reads.list_url(filters, cursor=page["next_cursor"]) if page["next_cursor"] else None,
        "page_tags": [t for _, t in on_page],
        "with_tag": {t: f"{filtered}{join}tag={tag_query(t)}" for _, t in on_page},  # this filter and the tag
        "without_tag": {t: reads.list_url(filters, tag=[n for n in params.tag if n != t]) for t in params.tag},
    }


def rows(shown: list[ShownRow], collections: dict[int, str]) -> Markup:
    """The list's rows as HTML, every text escaped here. The one piece of the pages' markup written in
    Python: through Jinja, 50 rows were two thirds of the page's CPU, and the issue holds the HTML list
    to twice the JSON list's. Keep it in step with the row styles in kura.css."""
    return Markup("".join([f"{r.before}{_where(r.collection, collections.get(r.collection))}{r.after}"
                           for r in shown]))


class ShownRow(NamedTuple):
    collection: int | None
    tags: tuple[str, ...]
    before: str  # the row's HTML up to its collection link
    after: str


# A row's HTML is a pure function of its stored JSON, which changes whenever anything the row shows
# does (migration 0008's triggers): so a row seen before (the first page, reloaded after one change)
# costs a lookup, not a parse and a dozen escapes. ~1 KB a row; the collection's name is looked up
# per page, as a rename does not change the rows.
@lru_cache(maxsize=2048)
def _shown_row(text: str) -> ShownRow:
    b = orjson.loads(text)
    return ShownRow(b["collection"], tuple(b["tags"]), *_row(b))


@lru_cache(maxsize=1024)
def _where(cid: int | None, name: str | None) -> str:
    if name is None:
        return ""
    return f'<span class="collection">in <a href="/?collection={cid}">{escape(name)}</a></span>'


@lru_cache(maxsize=8192)  # tag names recur on every page; quoting and escaping them is the costly part
def tag_query(name: str) -> str:
    return quote(name, safe="")


@lru_cache(maxsize=8192)
def tag_chip(name: str) -> str:
    return f'<a class="tag" href="/?tag={escape(tag_query(name))}">{escape(name)}</a> '


# The markup's own text is ASCII (entities for the quotes and marks): a page of ASCII titles then stays
# a one-byte-per-character string, which every join, escape and the final encode handle faster.
UNREAD = '<span class="badge unread">&#9679; unread</span>'
ARCHIVED = '<span class="badge archived">&#9635; archived</span>'


def _row(b: dict[str, Any]) -> tuple[str, str]:
    """The row's HTML before and after its collection link."""
    bid, tags = b["id"], b["tags"]
    url = escape(b["url"])  # the domain is cut from the escaped URL: escaping never adds ":" "/" or "@"
    name = escape(b["title"]) if b["title"] else url
    marks = (UNREAD if b["unread"] else "") + (ARCHIVED if b["archived"] else "")
    description = f'<p class="description">{escape(b["description"])}</p>' if b["description"] else ""
    tagged = (f'<span class="visually-hidden">Tags:</span><span class="tags">{"".join(map(tag_chip, tags))}'
              "</span>" if tags else "")
    return (f'<li id="b{bid}"><input type="checkbox" name="ids" value="{bid}" '
            f'aria-label="Select &ldquo;{name}&rdquo;"> '
            f'<a class="title" href="{url}" rel="noopener noreferrer">{name}</a> '
            f'<span class="muted domain">{reads.domain(url)}</span>{marks}{description}<p class="meta">',
            f'{tagged}<a class="edit" href="/b/{bid}/edit" aria-label="Edit &ldquo;{name}&rdquo;">Edit</a></p></li>\n')


def heading(params: ListParams, collections: dict[int, str]) -> str:
    """The filtered list's heading, in words: `Search “x” · tagged a, b · in Reading · unread`."""
    parts = []
    if params.q:
        parts.append(f"Search “{params.q}”")
    if params.tag:
        parts.append("tagged " + ", ".join(params.tag))
    if params.collection is not None:
        parts.append(f"in {collections.get(params.collection, f'collection {params.collection}')}")
    for flag, yes, no in (("unread", "unread", "read"), ("archived", "archived", "not archived")):
        value = getattr(params, flag)
        if value is not None:
            parts.append(yes if value else no)
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]


def form_page(request: Request, user: Any, state: reads.PageState, form: BookmarkForm, *,
              bookmark_id: int | None = None, status_code: int = 200, already: bool = False,
              meta_problem: str | None = None, existing_id: int | None = None) -> HTMLResponse:
    """The add form, or the edit form of `bookmark_id` (also what /add shows for a URL saved already)."""
    editing = bookmark_id is not None
    return render.page(
        request, "bookmarks/form.html", user=user, status_code=status_code, form=form, bookmark_id=bookmark_id,
        heading="Edit bookmark" if editing else "Save a page",
        action=f"/b/{bookmark_id}/edit" if editing else "/add", submit="Save changes" if editing else "Save",
        already=already, meta_problem=meta_problem, existing_id=existing_id, limits=TEXT_LIMITS,
        tree=reads.collection_tree(state.collections), tree_html=reads.tree_html(state.collections, None),
        filters={}, page_tags=[],
        with_tag={}, without_tag={})


def local_path(value: object) -> str:
    """Where to go back to after a form: a path on this site, never another site (`//host`, `/\\host`)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")) \
            and "\n" not in value and "\r" not in value:
        return value
    return "/"
