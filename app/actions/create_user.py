"""create_user: a new staff user, who sets their own password through a one-time activation link."""

from typing import Any, ClassVar

from pydantic import Field
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.activation import ACTIVATION_TTL, send_activation_link
from app.accounts.identity import (
    FORMAT_HINTS,
    Email,
    FullName,
    Roles,
    Username,
    identity_conflicts,
    normalise,
)
from app.actions.base import ActionType, ExecutionContext, FieldErrors, Payload, UniqueKey
from app.models import Role, User

__all__ = ["ACTION", "ACTIVATION_TTL", "CreateUserPayload"]
ACTIVATION_MAIL = """Hello {name},

An account with the username {username} was created for you.
Choose your password with this link. It works once, within 72 hours:

{url}

If you did not expect this message, tell your administrator and do not use the link.
"""


class CreateUserPayload(Payload):
    email: Email
    username: Username
    full_name: FullName
    roles: Roles = Field(default_factory=lambda: [Role.MAKER])

    format_hints: ClassVar[dict[str, str]] = FORMAT_HINTS


async def summarize(session: AsyncSession, payload: CreateUserPayload) -> str:
    roles = ", ".join(role.value for role in payload.roles)
    return f"Create user {payload.username} ({payload.full_name}, {payload.email}) as {roles}"


async def check_current_data(session: AsyncSession, payload: CreateUserPayload) -> FieldErrors:
    return await identity_conflicts(session, username=payload.username, email=payload.email)


async def apply(ctx: ExecutionContext, payload: CreateUserPayload) -> dict[str, Any]:
    user = User(
        username=payload.username,
        email=payload.email,
        full_name=payload.full_name,
        roles=[role.value for role in payload.roles],
        password_hash=None,
    )
    ctx.session.add(user)
    await ctx.session.flush()
    return await send_activation_link(session=ctx.session, user=user, body=ACTIVATION_MAIL)


ACTION = ActionType(
    name="create_user",
    label="Create user",
    payload_model=CreateUserPayload,
    summarize=summarize,
    sample={"email": "ana@example.com", "username": "ana", "fullName": "Ana Lopez", "roles": ["maker"]},
    check_current_data=check_current_data,
    apply=apply,
    # compared as stored: normalised, so Ana@Example.com and ana@example.com are one mailbox
    unique_keys=(
        UniqueKey("username", "username", lambda payload: normalise(payload.username)),
        UniqueKey("email", "email", lambda payload: normalise(payload.email)),
    ),
)
