"""The caller's own API tokens: list, create, revoke."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from api.created import LOCATION_DOC, locate
from api.deps import CurrentUser, TxDep
from api.errors import responses
from api.schemas import StrictModel
from common import accounts

router = APIRouter(prefix="/tokens", tags=["tokens"])


class TokenOut(BaseModel):
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreate(StrictModel):
    label: str = Field(min_length=1, max_length=255)


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself; shown only in this response")


@router.get("", summary="List your tokens", response_model=list[TokenOut], responses=responses(401, 429))
async def list_tokens(user: CurrentUser, tx: TxDep) -> list[TokenOut]:
    rows = await tx.read(accounts.list_tokens, user_id=user.user_id)
    return [TokenOut.model_validate(t, from_attributes=True) for t in rows]


@router.post("", summary="Create a token", status_code=status.HTTP_201_CREATED, response_model=TokenCreated,
             responses={**responses(401, 422, 429), **LOCATION_DOC})
async def create_token(body: TokenCreate, user: CurrentUser, tx: TxDep, request: Request,
                       response: Response) -> TokenCreated:
    token, plaintext = await tx.write(accounts.create_token, user_id=user.user_id, label=body.label)
    locate(request, response, "revoke_token", token_id=token.id)
    return TokenCreated(**TokenOut.model_validate(token, from_attributes=True).model_dump(), token=plaintext)


@router.delete("/{token_id}", summary="Revoke a token", response_model=TokenOut, responses=responses(401, 404, 429))
async def revoke_token(token_id: int, user: CurrentUser, tx: TxDep) -> TokenOut:
    token = await tx.write(accounts.revoke_token, token_id=token_id, user_id=user.user_id)
    return TokenOut.model_validate(token, from_attributes=True)
