"""What the bookmark templates are given: the list page's context and the add/edit form page."""

from __future__ import annotations

from typing import Any

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
    active = {tag_key(t) for t in params.tag}
    # Built from the rows already read: tag shortcuts that cost no statement.
    on_page = {tag_key(t): t for b in page["items"] for t in b["tags"] if tag_key(t) not in active}
    query = request.scope["query_string"].decode("latin-1")
    return {
        "items": page["items"], "filters": filters, "collections": names, "nested": tree.nested,
        "cursor": params.cursor, "heading": heading(params, names), "domain": reads.domain,
        "here": f"/?{query}" if query else "/",
        "next_url": reads.list_url(filters, cursor=page["next_cursor"]) if page["next_cursor"] else None,
        "page_tags": [on_page[k] for k in sorted(on_page)][:PAGE_TAGS_MAX],
        "with_tag": lambda name: reads.list_url(filters, tag=[*params.tag, name]),
        "without_tag": lambda name: reads.list_url(filters, tag=[t for t in params.tag if t != name]),
    }


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
        tree=tree.flat, nested=tree.nested, filters={}, page_tags=[],
        with_tag=lambda name: reads.list_url({}, tag=[name]), without_tag=lambda name: "/")


def local_path(value: object) -> str:
    """Where to go back to after a form: a path on this site, never another site (`//host`, `/\\host`)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")) \
            and "\n" not in value and "\r" not in value:
        return value
    return "/"
