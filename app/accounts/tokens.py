"""Secret tokens (API tokens, activation links): handed out once, stored only as a SHA-256 digest."""

import hashlib
import secrets
import uuid

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import DriverStatement, autocommit_driver
from app.models import ApiToken, User

_USERS, _TOKENS = User.__table__, ApiToken.__table__
_USER_FOR_TOKEN = DriverStatement.of(
    core_select(_USERS)
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.revoked_at.is_(None), _USERS.c.is_active, _TOKENS.c.token_hash == bindparam("digest"))
)

_ACTIVE_USER = DriverStatement.of(
    core_select(_USERS).where(_USERS.c.id == bindparam("user_id"), _USERS.c.is_active)
)

TOKEN_PREFIX = "mc_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_api_token(*, session: AsyncSession, user: User, name: str) -> str:
    """Create a token for the user and return it; it cannot be recovered later."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=digest(token)))
    await session.flush()
    return token


async def user_for_token(*, connection: AsyncConnection, token: str) -> User | None:
    """The active user owning this unrevoked token, or None: one indexed SELECT, prepared, no ORM session."""
    found = await _USER_FOR_TOKEN.fetchrow(await autocommit_driver(connection), digest=digest(token))
    return User.model_validate(dict(found)) if found else None


async def active_user(*, connection: AsyncConnection, user_id: uuid.UUID) -> User | None:
    """The user with this id if active (a browser session's user): one prepared SELECT, no ORM session."""
    found = await _ACTIVE_USER.fetchrow(await autocommit_driver(connection), user_id=user_id)
    return User.model_validate(dict(found)) if found else None
