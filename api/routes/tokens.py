"""The caller's own API tokens: list, create, revoke.

Field names follow the bookmark answer's convention (`created`, `modified`): `created`, `last_used`,
`expires`, `revoked`. An expired token answers 401, as a revoked one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from api.created import LOCATION_DOC, locate
from api.deps import CurrentUser, TxDep
from api.errors import responses
from api.schemas import StrictModel
from api.schemas_resources import Moment, PathId
from domain import accounts
from domain.models import ApiToken

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenOut(BaseModel):
    id: int
    label: str
    created: datetime
    last_used: datetime | None
    expires: datetime | None = Field(description="When the token stops working; null: never")
    revoked: datetime | None = Field(description="When the token was revoked; null while it is live")


class TokenCreate(StrictModel):
    label: str = Field(min_length=1, max_length=255)
    expires: Moment | None = Field(None, description="When it stops working (in the future); null: never")


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself; shown only in this response")


def _out(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "label": token.label, "created": token.created_at, "last_used": token.last_used_at,
            "expires": token.expires_at, "revoked": token.revoked_at}


@router.get("", summary="List your tokens", response_model=list[TokenOut], responses=responses(401, 429))
async def list_tokens(user: CurrentUser, tx: TxDep) -> list[dict[str, Any]]:
    return [_out(t) for t in await tx.read(accounts.list_tokens, user_id=user.user_id)]


@router.post("", summary="Create a token", status_code=status.HTTP_201_CREATED, response_model=TokenCreated,
             responses={**responses(400, 401, 413, 422, 429), **LOCATION_DOC})
async def create_token(body: TokenCreate, user: CurrentUser, tx: TxDep, request: Request,
                       response: Response) -> dict[str, Any]:
    token, plaintext = await tx.write(accounts.create_token, user_id=user.user_id, label=body.label,
                                      expires=body.expires)
    locate(request, response, "revoke_token", token_id=token.id)
    return {**_out(token), "token": plaintext}


@router.delete("/{token_id:int}", summary="Revoke a token", response_model=TokenOut,
               responses=responses(401, 404, 422, 429))
async def revoke_token(token_id: PathId, user: CurrentUser, tx: TxDep) -> dict[str, Any]:
    return _out(await tx.write(accounts.revoke_token, token_id=token_id, user_id=user.user_id))
