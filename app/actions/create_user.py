"""create_user: a new staff user, who sets their own password through a one-time activation link."""

import re
import secrets
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.tokens import digest
from app.actions.base import ActionType, ExecutionContext, FieldErrors, Payload
from app.mail import queue_email
from app.models import ActivationToken, Role, User, utcnow
from app.settings import get_settings

ACTIVATION_TTL = timedelta(hours=72)
ACTIVATION_MAIL = """Hello {name},

An account with the username {username} was created for you.
Choose your password with this link. It works once, within 72 hours:

{url}

If you did not expect this message, tell your administrator and do not use the link.
"""
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,49}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CreateUserPayload(Payload):
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
    username: Annotated[str, Field(min_length=3, max_length=50)]
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    roles: list[Role] = Field(default_factory=lambda: [Role.MAKER])

    format_hints: ClassVar[dict[str, str]] = {"email": "Give an email address such as ana@example.com"}

    @field_validator("email", "username", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("username")
    @classmethod
    def _username_shape(cls, value: str) -> str:
        if not re.fullmatch(USERNAME_PATTERN, value):
            raise ValueError(
                "Use 3 to 50 letters, digits, dots, dashes or underscores, starting with a letter or digit"
            )
        return value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[Role]) -> list[Role]:
        if not value:
            raise ValueError("Give at least one role")
        return sorted(set(value), key=list(Role).index)


def summarize(payload: CreateUserPayload) -> str:
    roles = ", ".join(role.value for role in payload.roles)
    return f"Create user {payload.username} ({payload.full_name}, {payload.email}) as {roles}"


async def check_current_data(session: AsyncSession, payload: CreateUserPayload) -> FieldErrors:
    errors: FieldErrors = {}
    taken = await session.exec(select(func.count()).where(User.username == payload.username))
    if taken.one():
        errors["username"] = f"The username {payload.username} is already taken"
    taken = await session.exec(select(func.count()).where(func.lower(User.email) == payload.email))
    if taken.one():
        errors["email"] = f"The email {payload.email} is already in use"
    return errors


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
    token, expires_at = secrets.token_urlsafe(32), utcnow() + ACTIVATION_TTL
    ctx.session.add(ActivationToken(user_id=user.id, token_hash=digest(token), expires_at=expires_at))
    # only the new user receives the link: neither the maker nor the checker may hold their identity
    queue_email(
        session=ctx.session,
        to=user.email,
        subject="Activate your account",
        body=ACTIVATION_MAIL.format(
            name=payload.full_name,
            username=user.username,
            url=f"{get_settings().public_base_url}/activate/{token}",
        ),
    )
    await ctx.session.flush()
    return {
        "userId": str(user.id),
        "username": user.username,
        "activationSentTo": user.email,
        "activationExpiresAt": expires_at.isoformat(),
    }


ACTION = ActionType(
    name="create_user",
    label="Create user",
    payload_model=CreateUserPayload,
    summarize=summarize,
    check_current_data=check_current_data,
    apply=apply,
)
