"""JSON API for people: the admin's lists of users and of undelivered mail, and each user's own API tokens.

Changes to users are proposed as update_user and resend_activation actions (POST /api/workflow/actions).
"""

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from pydantic import ConfigDict
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.guards import requires_admin
from app.errors import NotFound
from app.models import ApiToken, User
from app.people import service as people
from app.workflow.inputs import parse_uuid
from app.workflow.schemas import error_responses


class PendingChangeOut(SQLModel):
    id: uuid.UUID
    actionType: str
    summary: str


class UserOut(SQLModel):
    id: uuid.UUID
    username: str
    email: str
    fullName: str | None
    roles: list[str]
    status: str
    """active, inactive or awaiting activation"""
    lastLoginAt: datetime | None
    createdAt: datetime
    pendingActions: list[PendingChangeOut]


class UserList(SQLModel):
    success: bool = True
    data: list[UserOut]


class FailedMailOut(SQLModel):
    id: uuid.UUID
    toAddress: str
    subject: str
    attempts: int
    lastError: str | None
    createdAt: datetime
    user: UserOut | None
    """The user whose stored address it is, if any."""
    deliveredLater: datetime | None
    """When a later message to the same address was delivered, if one was."""


class FailedMailList(SQLModel):
    success: bool = True
    data: list[FailedMailOut]


class TokenOut(SQLModel):
    id: uuid.UUID
    name: str
    createdAt: datetime
    lastUsedAt: datetime | None
    revokedAt: datetime | None


class TokenList(SQLModel):
    success: bool = True
    data: list[TokenOut]


class NewTokenOut(TokenOut):
    token: str
    """The secret, shown in this answer only: it is stored as a digest and cannot be recovered."""


class NewTokenEnvelope(SQLModel):
    success: bool = True
    message: str
    data: NewTokenOut


class TokenEnvelope(SQLModel):
    success: bool = True
    message: str
    data: TokenOut


class NewTokenIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    name: str
    """Where the token is used, up to 100 characters."""


def _user_json(row: people.UserRow) -> dict[str, Any]:
    user = row.user
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "fullName": user.full_name,
        "roles": list(user.roles),
        "status": row.status.value,
        "lastLoginAt": user.last_login_at,
        "createdAt": user.created_at,
        "pendingActions": [
            {"id": change.action_id, "actionType": change.action_type, "summary": change.summary}
            for change in row.pending
        ],
    }


def _token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "createdAt": token.created_at,
        "lastUsedAt": token.last_used_at,
        "revokedAt": token.revoked_at,
    }


_ADMINS_ONLY = "Not allowed: this needs the admin role"


class PeopleApiController(Controller):
    path = "/api/admin"
    tags = ["people"]
    guards = [requires_admin]
    security = [{"BearerToken": []}]

    @get(
        "/users",
        summary="List users with their status, last login and pending changes (admins)",
        responses=error_responses(401, 403, e403=_ADMINS_ONLY),
    )
    async def list_users(self, db_session: NamedDependency[AsyncSession]) -> Response[UserList]:
        rows = await people.list_users(session=db_session)
        return Response({"success": True, "data": [_user_json(row) for row in rows]})

    @get(
        "/outbox",
        summary="List mail the outbox gave up on after 5 attempts (admins)",
        responses=error_responses(401, 403, e403=_ADMINS_ONLY),
    )
    async def failed_mail(self, db_session: NamedDependency[AsyncSession]) -> Response[FailedMailList]:
        failed = await people.failed_mail(session=db_session)
        data = [
            {
                "id": item.message.id,
                "toAddress": item.message.to_address,
                "subject": item.message.subject,
                "attempts": item.message.attempts,
                "lastError": item.message.last_error,
                "createdAt": item.message.created_at,
                "user": _user_json(item.recipient) if item.recipient else None,
                "deliveredLater": item.delivered_later,
            }
            for item in failed
        ]
        return Response({"success": True, "data": data})


class TokenApiController(Controller):
    path = "/api/account/tokens"
    tags = ["account"]
    security = [{"BearerToken": []}]

    @get("/", summary="List your own API tokens", responses=error_responses(401))
    async def list_tokens(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[TokenList]:
        tokens = await people.tokens_of(session=db_session, user=request.user)
        return Response({"success": True, "data": [_token_json(token) for token in tokens]})

    @post(
        "/",
        status_code=201,
        summary="Create an API token for yourself (its secret is shown once)",
        responses=error_responses(400, 401),
    )
    async def create_token(
        self,
        request: Request[User, Any, Any],
        data: Annotated[NewTokenIn, Body(media_type=RequestEncodingType.JSON)],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[NewTokenEnvelope]:
        created = await people.create_own_token(session=db_session, user=request.user, name=data.name)
        body = _token_json(created.token) | {"token": created.secret}
        return Response(
            {"success": True, "message": "Token created: keep it, it is shown once", "data": body}
        )

    @post(
        "/{token_id:str}/revoke",
        status_code=200,
        summary="Revoke one of your own API tokens",
        responses=error_responses(401, 404, e404="You have no API token with this id"),
    )
    async def revoke_token(
        self,
        request: Request[User, Any, Any],
        token_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[TokenEnvelope]:
        parsed = parse_uuid(token_id)
        if parsed is None:
            raise NotFound("You have no API token with this id")
        token = await people.revoke_own_token(session=db_session, user=request.user, token_id=parsed)
        return Response({"success": True, "message": "Token revoked", "data": _token_json(token)})
