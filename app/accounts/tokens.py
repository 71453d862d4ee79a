"""Secret tokens (API tokens, activation links): handed out once, stored only as a SHA-256 digest."""

import hashlib
import secrets

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import ApiToken, User

TOKEN_PREFIX = "mc_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_api_token(*, session: AsyncSession, user: User, name: str) -> str:
    """Create a token for the user and return it; it cannot be recovered later."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=digest(token)))
    await session.flush()
    return token


async def user_for_token(*, session: AsyncSession, token: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    statement = (
        select(User)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(ApiToken.token_hash == digest(token), col(ApiToken.revoked_at).is_(None), User.is_active)
    )
    return (await session.exec(statement)).first()
