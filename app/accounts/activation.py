"""Activation links: one valid link per user at a time, mailed through the outbox to the stored address."""

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.tokens import digest
from app.mail import queue_email
from app.models import ActivationToken, User, utcnow
from app.settings import get_settings

ACTIVATION_TTL = timedelta(hours=72)
SUBJECT = "Activate your account"


async def send_activation_link(*, session: AsyncSession, user: User, body: str) -> dict[str, Any]:
    """Issue a fresh link for the user, spend every earlier one, and queue the mail in the caller's
    transaction; returns the execution result an action shows (who it went to, when it expires).

    `body` is the message with {name}, {username} and {url} to fill in. Only the user's own
    stored address receives it: neither the maker nor the checker may hold their identity.
    """
    now = utcnow()
    await session.exec(  # type: ignore[call-overload]
        update(ActivationToken)
        .where(
            col(ActivationToken.user_id) == user.id,
            col(ActivationToken.used_at).is_(None),
            col(ActivationToken.expires_at) > now,
        )
        .values(expires_at=now)
    )
    token, expires_at = secrets.token_urlsafe(32), now + ACTIVATION_TTL
    session.add(ActivationToken(user_id=user.id, token_hash=digest(token), expires_at=expires_at))
    url = f"{get_settings().public_base_url}/activate/{token}"
    queue_email(
        session=session,
        to=user.email,
        subject=SUBJECT,
        body=body.format(name=user.full_name or user.username, username=user.username, url=url),
    )
    await session.flush()
    return {
        "userId": str(user.id),
        "username": user.username,
        "activationSentTo": user.email,
        "activationExpiresAt": expires_at.isoformat(),
    }
