"""Secret tokens (API tokens, activation links): handed out once, stored only as a SHA-256 digest."""

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import DriverStatement, autocommit_driver
from app.models import ApiToken, User

_USERS, _TOKENS = User.__table__, ApiToken.__table__
LAST_USED_PRECISION = timedelta(minutes=1)
_TOUCH_TOKEN = (
    # "last used" for the owner's token page, written at most once a minute per token: a busy
    # script's requests mostly find the row recent enough and write nothing
    update(_TOKENS)
    .where(
        _TOKENS.c.token_hash == bindparam("digest"),
        _TOKENS.c.revoked_at.is_(None),
        or_(
            _TOKENS.c.last_used_at.is_(None),
            _TOKENS.c.last_used_at < func.now() - bindparam("precision", LAST_USED_PRECISION),
        ),
    )
    .values(last_used_at=func.now())
    .returning(_TOKENS.c.id)
    .cte("touched_token")
)
_USER_FOR_TOKEN = DriverStatement.of(
    core_select(_USERS)
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.revoked_at.is_(None), _USERS.c.is_active, _TOKENS.c.token_hash == bindparam("digest"))
    .add_cte(_TOUCH_TOKEN)
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
    """The active user owning this unrevoked token, or None: one prepared statement, no ORM session
    (an indexed SELECT, which also notes the token's use when the last note is a minute old)."""
    found = await _USER_FOR_TOKEN.fetchrow(await autocommit_driver(connection), digest=digest(token))
    return User.model_validate(dict(found)) if found else None


async def active_user(*, connection: AsyncConnection, user_id: uuid.UUID) -> User | None:
    """The user with this id if active (a browser session's user): one prepared SELECT, no ORM session."""
    found = await _ACTIVE_USER.fetchrow(await autocommit_driver(connection), user_id=user_id)
    return User.model_validate(dict(found)) if found else None
