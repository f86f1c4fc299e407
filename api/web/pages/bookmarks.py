"""Web pages: the bookmark list (/), Save this page (/add), edit and delete (/b/{id}/...), bulk actions.

Every page reads and writes through the same domain functions as the JSON API (domain/listing.py,
domain/bookmarks.py, domain/lookup.py), always with the signed-in user's id, so another user's
bookmark is a 404 here exactly as it is there. Forms are checked by the API's own request models
(api/web/pages/bookmark_forms.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from api.deps import SettingsDep, TxDep
from api.middleware import etag_matches
from api.schemas_resources import PathId
from api.transactions import Transactions
from api.web import render
from api.web.deps import CsrfChecked, WebUser
from api.web.pages import bookmark_reads as reads
from api.web.pages.bookmark_forms import BULK_ACTIONS, BULK_DONE, BookmarkForm, BulkForm, failure
from api.web.pages.bookmark_views import form_page, list_context, local_path
from domain import bookmarks, lookup
from domain.accounts import Principal
from domain.bookmark_rows import get_bookmark, get_plain
from common.errors import BadRequest, Conflict, KuraError, NotFound
from domain.pagemeta import fetch_page_meta
from common.settings import Settings

router = APIRouter()
# The list is the user's own: never in a shared cache, always revalidated (ETag/304).
CACHE = "private, no-cache"


@router.get("/", name="bookmark_list")
async def bookmark_list(request: Request, user: WebUser) -> Response:
    # The hottest page (issue 14: at most 2x the JSON list's CPU): tx and settings come straight from
    # the app's state, as TxDep and SettingsDep would give them, without two more dependencies to solve.
    tx, settings = request.app.state.tx, request.app.state.settings
    params = reads.list_params(request.query_params)
    state = await tx.read_quick(reads.state_plain, reads.state_session, user_id=user.user_id)
    etag = _list_etag(request, user, state)
    wanted = request.headers.get("if-none-match")
    if etag is not None and wanted and etag_matches(wanted, etag):
        return _not_modified(request, etag)
    page = await reads.read_list(tx, settings, user_id=user.user_id, params=params)
    response = render.page(request, "bookmarks/list.html", user=user,
                           **list_context(request, params=params, page=page, state=state))
    if etag is not None:
        response.headers["ETag"] = etag
    else:  # a one-shot notice: kept by no cache, so never revalidated into showing it again
        response.headers["Cache-Control"] = "no-store"
    return response


def _list_etag(request: Request, user: Principal, state: reads.PageState) -> str | None:
    """None when the page shows a one-shot notice: such a page must not be answered 304 later."""
    if request.cookies.get(render.NOTICE_COOKIE):
        return None
    return reads.page_etag(user=user, state=state, path=request.scope["path"],
                           query=request.scope["query_string"], session_key=render.session_csrf(request))


def _not_modified(request: Request, etag: str) -> Response:
    response = Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE})
    refresh = getattr(request.state, render.STATE_REFRESH, None)
    if refresh is not None:  # a sliding session's cookie is renewed on a 304 as on a page
        refresh(response)
    return response


@router.get("/add", name="bookmark_add")
async def add_page(request: Request, user: WebUser, tx: TxDep, settings: SettingsDep, url: str = "",
                   title: str = "", description: str = "") -> Response:
    """The bookmarklet's target: prefilled from the query; a URL already saved opens that bookmark."""
    state = await tx.read_quick(reads.state_plain, reads.state_session, user_id=user.user_id)
    form = BookmarkForm(url=url, title=title, description=description)
    if not url.strip():
        return form_page(request, user, state, form)
    try:
        found = await tx.read(lookup.find_url, user_id=user.user_id, url=url)
    except KuraError as exc:  # not a URL Kura can save: say so over the form, as typed
        form.errors.append(exc.message)
        return form_page(request, user, state, form, status_code=exc.status)
    if found["saved"]:
        saved = await tx.read_quick(get_plain, get_bookmark, user_id=user.user_id, bookmark_id=found["id"])
        return form_page(request, user, state, BookmarkForm.from_bookmark(saved), bookmark_id=found["id"],
                         already=True)
    problem = await _prefill(form, settings) if not title.strip() else None
    return form_page(request, user, state, form, meta_problem=problem)


async def _prefill(form: BookmarkForm, settings: Settings) -> str | None:
    """The page's own title and description where the bookmarklet gave none; the problem, if any."""
    meta = await fetch_page_meta(form.url.strip(), settings=settings)
    form.title = meta.title or form.title
    form.description = form.description or meta.description or ""
    return meta.problem


@router.post("/add", name="bookmark_create")
async def add(request: Request, user: WebUser, tx: TxDep, _csrf: CsrfChecked) -> Response:
    form = BookmarkForm.from_form(await request.form())
    try:
        created = await tx.write(bookmarks.create_bookmark, user_id=user.user_id, **form.create_kwargs())
    except (ValidationError, KuraError) as exc:
        return await _refused(request, user, tx, form, exc)
    return render.see_other("/", notice=f"Saved “{created['title'] or created['url']}”.")


@router.get("/b/{bookmark_id:int}/edit", name="bookmark_edit")
async def edit_page(request: Request, bookmark_id: PathId, user: WebUser, tx: TxDep) -> Response:
    saved = await tx.read_quick(get_plain, get_bookmark, user_id=user.user_id, bookmark_id=bookmark_id)
    state = await tx.read_quick(reads.state_plain, reads.state_session, user_id=user.user_id)
    return form_page(request, user, state, BookmarkForm.from_bookmark(saved), bookmark_id=bookmark_id)


@router.post("/b/{bookmark_id:int}/edit", name="bookmark_update")
async def edit(request: Request, bookmark_id: PathId, user: WebUser, tx: TxDep, _csrf: CsrfChecked) -> Response:
    form = BookmarkForm.from_form(await request.form())
    try:
        saved = await tx.write(bookmarks.update_bookmark, user_id=user.user_id, bookmark_id=bookmark_id,
                               changes=form.changes())
    except NotFound as exc:
        # The bookmark not yours or gone: the 404 page (the read raises it). A collection not yours:
        # the form again, as typed.
        await tx.read_quick(get_plain, get_bookmark, user_id=user.user_id, bookmark_id=bookmark_id)
        return await _refused(request, user, tx, form, exc, bookmark_id=bookmark_id)
    except (ValidationError, KuraError) as exc:
        return await _refused(request, user, tx, form, exc, bookmark_id=bookmark_id)
    return render.see_other("/", notice=f"Saved “{saved['title'] or saved['url']}”.")


async def _refused(request: Request, user: Principal, tx: Transactions, form: BookmarkForm, exc: Exception, *,
                   bookmark_id: int | None = None) -> Response:
    """The form again, with what was typed and why it was not saved."""
    status, message = failure(exc)
    form.errors.append(message)
    existing = exc.details.get("id") if isinstance(exc, Conflict) and isinstance(exc.details, dict) else None
    state = await tx.read_quick(reads.state_plain, reads.state_session, user_id=user.user_id)
    return form_page(request, user, state, form, bookmark_id=bookmark_id, status_code=status,
                     existing_id=existing if existing != bookmark_id else None)


@router.post("/b/{bookmark_id:int}/delete", name="bookmark_delete")
async def delete(request: Request, bookmark_id: PathId, user: WebUser, tx: TxDep, _csrf: CsrfChecked) -> Response:
    await tx.write(bookmarks.delete_bookmark, user_id=user.user_id, bookmark_id=bookmark_id)
    return render.see_other("/", notice="Bookmark deleted.")


@router.post("/bulk", name="bookmark_bulk")
async def bulk(request: Request, user: WebUser, tx: TxDep, _csrf: CsrfChecked) -> Response:
    form_data = await request.form()
    try:
        form = BulkForm.parse(form_data)
    except ValidationError as exc:
        raise BadRequest(f"the bulk action cannot run: {reads.describe(exc)}") from None
    result = await tx.write(bookmarks.bulk_action, user_id=user.user_id, ids=form.ids,
                            action=BULK_ACTIONS[form.action], tags=form.tags)
    done, missing = len(result["updated"]), len(result["not_found"])
    if not done:
        raise NotFound("none of the selected bookmarks exist (any more)")
    notice = f"{done} bookmark{'' if done == 1 else 's'} {BULK_DONE[form.action]}."
    if missing:
        notice += f" {missing} could not be found and {'was' if missing == 1 else 'were'} left alone."
    return render.see_other(local_path(form_data.get("next")), notice=notice)

