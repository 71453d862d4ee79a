"""Write use-cases on users outside the workflow: bootstrap (CLI) and demo data."""

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.identity import identity_conflicts, normalise
from app.accounts.passwords import hash_password_async
from app.audit import record_event
from app.errors import Conflict, NotFound
from app.models import ApiToken, SessionRecord, User, utcnow
from app.text import holds_nul
from app.workflow.service import cancel_pending_actions_of


async def create_user_directly(
    *,
    session: AsyncSession,
    username: str,
    email: str,
    roles: list[str],
    full_name: str | None = None,
    password: str | None = None,
    via: str = "cli",
) -> User:
    """Create a user without dual control (bootstrap and break-glass); audited as a system action.

    Raises:
        Conflict: the username or email is taken.
    """
    username, email = normalise(username), normalise(email)
    if await identity_conflicts(session, username=username, email=email):
        raise Conflict(f"A user with username {username} or email {email} already exists")
    user = User(
        username=username,
        email=email,
        full_name=full_name,
        roles=roles,
        password_hash=await hash_password_async(password) if password else None,
    )
    session.add(user)
    await session.flush()
    await record_event(
        session=session,
        event_type="user_created_by_system",
        actor_id=None,
        details={"userId": str(user.id), "username": username, "roles": roles, "via": via},
    )
    return user


async def find_user(*, session: AsyncSession, username: str) -> User | None:
    if holds_nul(username):  # PostgreSQL text cannot hold it, so no username has it
        return None
    return (await session.exec(select(User).where(User.username == normalise(username)))).first()


@dataclass(frozen=True)
class DisabledUser:
    user: User
    cancelled_action_ids: list[uuid.UUID]
    """The pending actions they made, cancelled with the disabling."""


async def disable_user(*, session: AsyncSession, username: str, via: str) -> DisabledUser:
    """Disable the user (see deactivate_user) as a system action: the CLI's break-glass path.

    Raises:
        NotFound: no such user.
    """
    user = await find_user(session=session, username=username)
    if user is None:
        raise NotFound(f"No user is named {username}")
    return await deactivate_user(session=session, user=user, actor_id=None, via=via)


async def deactivate_user(
    *, session: AsyncSession, user: User, actor_id: uuid.UUID | None, via: str
) -> DisabledUser:
    """Deactivate the user, end their browser sessions, revoke their API tokens and cancel their
    pending actions, in the caller's transaction; audited."""
    user.is_active = False
    user.updated_at = utcnow()
    session.add(user)
    await end_access(session=session, user_id=user.id)
    await record_event(
        session=session,
        event_type="user_disabled",
        actor_id=actor_id,
        details={"userId": str(user.id), "via": via},
    )
    # what a disabled maker proposed no longer has anyone answerable for it
    cancelled = await cancel_pending_actions_of(
        session=session, maker_id=user.id, reason="The maker was disabled"
    )
    return DisabledUser(user=user, cancelled_action_ids=cancelled)


async def end_access(*, session: AsyncSession, user_id: uuid.UUID) -> None:
    """End every browser session and revoke every API token of the user: reactivating them later
    brings neither back."""
    await session.exec(delete(SessionRecord).where(col(SessionRecord.user_id) == user_id))
    await session.exec(  # type: ignore[call-overload]
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
