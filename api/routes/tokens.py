"""Token management for admins (the same as ``ledgerctl tokens``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Admin
from api.schemas import problems
from ledger.tokens import Role, TokenStore

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    agency_id: Annotated[str | None, Field(max_length=128)] = None
    label: Annotated[str, Field(max_length=256)] = ""


class TokenOut(BaseModel):
    token_id: str
    role: str
    agency_id: str | None
    label: str
    created_at: str
    revoked_at: str | None


class CreatedTokenOut(TokenOut):
    token: str = Field(description="the bearer token: shown once, stored only as a hash")


def _store(request: Request) -> TokenStore:
    store: TokenStore = request.app.state.tokens
    return store


@router.post(
    "",
    status_code=201,
    response_model=CreatedTokenOut,
    responses=problems(400, 401, 403, 422, 429),
)
def create_token(body: TokenIn, request: Request, admin: Admin) -> JSONResponse:
    """Create a token; the answer is the only place the token itself ever appears."""
    token, secret = _store(request).create(body.role, agency_id=body.agency_id, label=body.label)
    return JSONResponse({**token.to_json(), "token": secret}, status_code=201)


@router.get("", response_model=list[TokenOut], responses=problems(401, 403, 429))
def list_tokens(request: Request, admin: Admin) -> JSONResponse:
    """Every token's record (never the tokens)."""
    return JSONResponse([t.to_json() for t in _store(request).list()])


@router.delete("/{token_id}", response_model=TokenOut, responses=problems(401, 403, 404, 429))
def revoke_token(token_id: str, request: Request, admin: Admin) -> JSONResponse:
    """Revoke a token at once."""
    return JSONResponse(_store(request).revoke(token_id).to_json())
