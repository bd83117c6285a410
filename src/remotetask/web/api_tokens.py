"""``/api/v1/tokens``: token management over HTTP, for admins of every site only.

An admin scoped to some sites could otherwise mint a token for sites it
cannot see, so these routes need the admin role *and* the ``*`` site pattern.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from remotetask.app import App
from remotetask.auth import Action, Principal, Role, Token
from remotetask.web.auth import require
from remotetask.web.errors import Problem
from remotetask.web.guard import GuardedRoute
from remotetask.web.models import MAX_ID, Strict

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], route_class=GuardedRoute)
MAX_DAYS = 3660.0


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    role: Role = Field(
        default=Role.READ, strict=False, description="read < submit < operate < admin"
    )
    sites: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50)
    expires_in_days: float | None = Field(default=None, gt=0, le=MAX_DAYS)


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    sites: list[str]
    created: float
    expires: float | None = None
    revoked: float | None = None
    last_used: float | None = None

    @classmethod
    def of(cls, token: Token) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            role=token.role,
            sites=list(token.sites),
            created=token.created,
            expires=token.expires,
            revoked=token.revoked,
            last_used=token.last_used,
        )


class TokenCreated(BaseModel):
    token: TokenOut
    secret: str = Field(description="Shown once; only its SHA-256 hash is stored")


async def global_admin(
    caller: Annotated[Principal, Depends(require(Action.MANAGE_TOKENS))],
) -> Principal:
    """An admin whose token covers every site (``*``)."""
    if not caller.all_sites:
        raise Problem(403, "managing tokens needs an admin token for all sites ('*')")
    return caller


Admin = Annotated[Principal, Depends(global_admin)]


@router.get("", summary="List tokens (never their secrets)")
def list_tokens(request: Request, _: Admin) -> list[TokenOut]:
    app: App = request.app.state.app
    return [TokenOut.of(token) for token in app.tokens.list()]


@router.post("", status_code=201, summary="Create a token; its secret is shown once")
def create_token(request: Request, body: TokenIn, _: Admin) -> TokenCreated:
    app: App = request.app.state.app
    expires_in = None if body.expires_in_days is None else body.expires_in_days * 86400
    token, secret = app.tokens.issue(body.name, body.role, body.sites, expires_in=expires_in)
    return TokenCreated(token=TokenOut.of(token), secret=secret)


@router.delete("/{token_id}", status_code=204, summary="Revoke a token")
def revoke_token(
    request: Request, token_id: Annotated[int, Path(ge=1, le=MAX_ID)], _: Admin
) -> Response:
    app: App = request.app.state.app
    if not app.tokens.revoke(token_id):
        raise Problem(404, f"no active token {token_id}")
    request.app.state.authenticator.forget()
    return Response(status_code=204)
