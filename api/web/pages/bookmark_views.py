"""What the bookmark templates are given: the list page's context and the add/edit form page."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.routes.bookmarks import ListParams
from api.web import render
from api.web.pages import bookmark_reads as reads
from api.web.pages.bookmark_forms import BookmarkForm
from common.fields import TEXT_LIMITS
from common.tags import tag_key

PAGE_TAGS_MAX = 30  # the side panel's "on this page" tags: a shortcut, not the tag list


def list_context(request: Request, *, params: ListParams, page: dict[str, Any],
                 state: reads.PageState) -> dict[str, Any]:
    filters = reads.filters_of(params)
    names = state.names()
    tree = reads.collection_tree(state.collections)
    # Tag links and shortcuts from the rows already read (no statement), worked out once per distinct
    # tag: a tag recurs on many rows, and quoting is the costly part.
    distinct = {t for b in page["items"] for t in b["tags"]}
    active = {tag_key(t) for t in params.tag}
    on_page = sorted((tag_key(t), t) for t in distinct if tag_key(t) not in active)[:PAGE_TAGS_MAX]
    tag_href = {t: f"/?tag={quote(t, safe='')}" for t in distinct}
    filtered = reads.list_url(filters)
    join = "&" if "?" in filtered else "?"
    query = request.scope["query_string"].decode("latin-1")
    return {
        "rows": rows(page["items"], names, tag_href), "filters": filters, "tree": tree,
        "cursor": params.cursor, "heading": heading(params, names),
        "here": f"/?{query}" if query else "/",
        "next_url": reads.list_url(filters, cursor=page["next_cursor"]) if page["next_cursor"] else None,
        "page_tags": [t for _, t in on_page],
        "with_tag": {t: f"{filtered}{join}{tag_href[t][2:]}" for _, t in on_page},  # this filter and the tag
        "without_tag": {t: reads.list_url(filters, tag=[n for n in params.tag if n != t]) for t in params.tag},
    }


def rows(items: list[dict[str, Any]], collections: dict[int, str], tag_href: dict[str, str]) -> list[dict[str, Any]]:
    """The list's rows with every text already escaped (html.escape), for list.html's rows, which it
    writes out unescaped: Jinja's per-value escaping was most of the page's CPU (issue 14 allows the
    HTML list twice the CPU of the JSON one). Nothing but these escaped strings, ints and bools reach it."""
    tags = {t: (escape(tag_href[t]), escape(t)) for t in tag_href}
    out = []
    for b in items:
        cid = b["collection"]
        out.append({
            "id": b["id"], "url": escape(b["url"]), "name": escape(b["title"] or b["url"]),
            "domain": escape(reads.domain(b["url"])), "description": escape(b["description"]),
            "unread": b["unread"], "archived": b["archived"], "tags": [tags[t] for t in b["tags"]],
            "collection": cid if cid in collections else None,
            "collection_name": escape(collections[cid]) if cid in collections else "",
        })
    return out


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
    tree = reads.collection_tree(state.collections)
    editing = bookmark_id is not None
    return render.page(
        request, "bookmarks/form.html", user=user, status_code=status_code, form=form, bookmark_id=bookmark_id,
        heading="Edit bookmark" if editing else "Save a page",
        action=f"/b/{bookmark_id}/edit" if editing else "/add", submit="Save changes" if editing else "Save",
        already=already, meta_problem=meta_problem, existing_id=existing_id, limits=TEXT_LIMITS,
        tree=tree, filters={}, page_tags=[],
        with_tag={}, without_tag={})


def local_path(value: object) -> str:
    """Where to go back to after a form: a path on this site, never another site (`//host`, `/\\host`)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")) \
            and "\n" not in value and "\r" not in value:
        return value
    return "/"
