"""Tokens page: the signed-in user's own API tokens (admins too see only theirs): list, create, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import TxDep
from api.schemas_resources import PathId
from api.web.deps import CsrfChecked, WebUser
from api.web.render import page, see_other
from domain import accounts
from common.errors import KuraError
from domain.models import ApiToken, utcnow

router = APIRouter()
# What the expiry select offers; its values go to accounts.expiry_after, as `kura token create --expires` does.
EXPIRIES = {"": "never", "30d": "in 30 days", "90d": "in 90 days", "365d": "in a year"}


def _row(token: ApiToken, now: datetime) -> dict[str, Any]:
    expired = token.expires_at is not None and token.expires_at <= now
    state = "revoked" if token.revoked_at else "expired" if expired else "live"
    return {"id": token.id, "label": token.label, "created": token.created_at, "last_used": token.last_used_at,
            "expires": token.expires_at, "revoked": token.revoked_at, "state": state}


async def _list(request: Request, user: WebUser, tx: TxDep, *, status_code: int = 200,
                **context: Any) -> HTMLResponse:
    tokens = await tx.read(accounts.list_tokens, user_id=user.user_id)
    now = utcnow()
    response = page(request, "tokens/list.html", user=user, status_code=status_code, expiries=EXPIRIES,
                    tokens=[_row(t, now) for t in reversed(tokens)], **context)
    response.headers["Cache-Control"] = "no-store"  # the answer that shows a new token must not be kept
    return response


@router.get("/tokens")
async def tokens_page(request: Request, user: WebUser, tx: TxDep) -> HTMLResponse:
    return await _list(request, user, tx)


@router.post("/tokens")
async def create_token(request: Request, user: WebUser, tx: TxDep, _: CsrfChecked,
                       label: Annotated[str, Form(min_length=1, max_length=255)],
                       expires: Annotated[str, Form(max_length=20)] = "") -> HTMLResponse:
    """The new token appears in this answer only, never after: it is not stored, only its hash."""
    try:
        expiry = accounts.expiry_after(expires) if expires else None
        token, plaintext = await tx.write(accounts.create_token, user_id=user.user_id, label=label,
                                          expires=expiry)
    except KuraError as exc:
        return await _list(request, user, tx, status_code=exc.status, error=exc.message)
    return await _list(request, user, tx, created={"label": token.label, "token": plaintext})


@router.post("/tokens/{token_id:int}/revoke")
async def revoke_token(token_id: PathId, user: WebUser, tx: TxDep, _: CsrfChecked) -> RedirectResponse:
    token = await tx.write(accounts.revoke_token, token_id=token_id, user_id=user.user_id)
    return see_other("/tokens", notice=f"Token “{token.label}” revoked: it no longer opens the API.")
