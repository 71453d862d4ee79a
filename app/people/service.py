"""Reads for the admin's Users and Outbox pages, and each user's own API tokens (read, create, revoke).

Changes to people go through the workflow (update_user, resend_activation); only a user's own API
tokens are managed directly, by their owner.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.tokens import digest, issue_api_token
from app.audit import record_event
from app.errors import InvalidInput, NotFound
from app.mail import MAX_ATTEMPTS
from app.models import ActionStatus, ApiToken, OutboundEmail, User, WorkflowAction, utcnow
from app.text import holds_nul

PEOPLE_ACTION_TYPES = ("update_user", "resend_activation")
"""The action types that change a user: listed with the user while pending."""
TOKEN_NAME_MAX = 100
OUTBOX_PAGE_LIMIT = 200


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    AWAITING_ACTIVATION = "awaiting activation"


def status_of(user: User) -> UserStatus:
    if not user.is_active:
        return UserStatus.INACTIVE
    if user.password_hash is None:
        return UserStatus.AWAITING_ACTIVATION
    return UserStatus.ACTIVE


@dataclass(frozen=True)
class PendingChange:
    action_id: uuid.UUID
    action_type: str
    summary: str


@dataclass(frozen=True)
class UserRow:
    user: User
    status: UserStatus
    pending: list[PendingChange] = field(default_factory=list)

    @property
    def can_resend_activation(self) -> bool:
        """Awaiting activation, and no fresh link already waiting for a checker."""
        waiting = any(change.action_type == "resend_activation" for change in self.pending)
        return self.status == UserStatus.AWAITING_ACTIVATION and not waiting


async def _pending_changes(
    session: AsyncSession, user_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[PendingChange]]:
    """Pending update_user and resend_activation actions, by the user they change, oldest first."""
    target = WorkflowAction.payload["userId"].astext  # type: ignore[index]
    query = (
        select(WorkflowAction.id, WorkflowAction.action_type, WorkflowAction.summary, target)
        .where(
            WorkflowAction.status == ActionStatus.PENDING.value,
            col(WorkflowAction.action_type).in_(PEOPLE_ACTION_TYPES),
        )
        .order_by(col(WorkflowAction.created_at))
    )
    if user_ids is not None:
        query = query.where(target.in_([str(user_id) for user_id in user_ids]))
    found: dict[uuid.UUID, list[PendingChange]] = defaultdict(list)
    for action_id, action_type, summary, user_id in (await session.exec(query)).all():
        try:
            found[uuid.UUID(user_id)].append(PendingChange(action_id, action_type, summary))
        except (TypeError, ValueError):
            continue
    return found


async def list_users(*, session: AsyncSession) -> list[UserRow]:
    """Every user by username, with their status and pending changes (staff: hundreds, not millions)."""
    users = (await session.exec(select(User).order_by(col(User.username)))).all()
    pending = await _pending_changes(session)
    return [UserRow(user, status_of(user), pending.get(user.id, [])) for user in users]


async def get_user_row(*, session: AsyncSession, user_id: uuid.UUID) -> UserRow:
    """Raises NotFound."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No user has this id")
    pending = await _pending_changes(session, [user_id])
    return UserRow(user, status_of(user), pending.get(user_id, []))


@dataclass(frozen=True)
class FailedMail:
    message: OutboundEmail
    recipient: UserRow | None
    """The user whose stored address it was sent to, if any."""
    delivered_later: datetime | None = None
    """When a later message to the same address was delivered (a new link that did arrive), if one was."""


async def failed_mail(*, session: AsyncSession) -> list[FailedMail]:
    """Messages the outbox gave up on (MAX_ATTEMPTS failed sends), newest first, with their recipient."""
    messages = (
        await session.exec(
            select(OutboundEmail)
            .where(col(OutboundEmail.sent_at).is_(None), OutboundEmail.attempts >= MAX_ATTEMPTS)
            .order_by(col(OutboundEmail.created_at).desc())
            .limit(OUTBOX_PAGE_LIMIT)
        )
    ).all()
    addresses = {message.to_address for message in messages}
    users = (
        (await session.exec(select(User).where(func.lower(User.email).in_(addresses)))).all()
        if addresses
        else []
    )
    pending = await _pending_changes(session, [user.id for user in users]) if users else {}
    by_address = {
        user.email.lower(): UserRow(user, status_of(user), pending.get(user.id, [])) for user in users
    }
    delivered = await _last_delivered(session, addresses)
    return [
        FailedMail(
            message,
            by_address.get(message.to_address.lower()),
            later if (later := delivered.get(message.to_address)) and later > message.created_at else None,
        )
        for message in messages
    ]


async def _last_delivered(session: AsyncSession, addresses: set[str]) -> dict[str, datetime]:
    if not addresses:
        return {}
    rows = await session.exec(
        select(OutboundEmail.to_address, func.max(OutboundEmail.sent_at))
        .where(col(OutboundEmail.to_address).in_(addresses), col(OutboundEmail.sent_at).is_not(None))
        .group_by(col(OutboundEmail.to_address))
    )
    return dict(rows.all())


async def tokens_of(*, session: AsyncSession, user: User) -> list[ApiToken]:
    """The user's API tokens, newest first, revoked ones included (they say when)."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.created_at).desc())
    return list((await session.exec(query)).all())


def _token_name(raw: Any) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not name:
        raise InvalidInput("Name the token", details={"name": "Required: say where the token is used"})
    if len(name) > TOKEN_NAME_MAX or holds_nul(name):
        raise InvalidInput(
            "Name the token", details={"name": f"Use at most {TOKEN_NAME_MAX} characters of plain text"}
        )
    return name


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str
    """Shown once, to its owner, in the answer to its creation; stored only as a digest."""


async def create_own_token(*, session: AsyncSession, user: User, name: Any) -> NewToken:
    """Raises InvalidInput for a missing or unusable name."""
    clean = _token_name(name)
    secret = await issue_api_token(session=session, user=user, name=clean)
    token = (await session.exec(select(ApiToken).where(ApiToken.token_hash == digest(secret)))).one()
    await record_event(
        session=session,
        event_type="api_token_created",
        actor_id=user.id,
        details={"tokenId": str(token.id), "name": clean},
    )
    return NewToken(token=token, secret=secret)


async def revoke_own_token(*, session: AsyncSession, user: User, token_id: uuid.UUID) -> ApiToken:
    """Revoke one of the user's own tokens (again is harmless). Another user's token is not found.

    Raises:
        NotFound: the user has no token with this id.
    """
    result = await session.exec(  # type: ignore[call-overload]
        update(ApiToken)
        .where(col(ApiToken.id) == token_id, col(ApiToken.user_id) == user.id)
        .values(revoked_at=func.coalesce(ApiToken.revoked_at, utcnow()))
        .returning(ApiToken)
    )
    token = result.scalars().first()
    if token is None:
        raise NotFound("You have no API token with this id")
    await record_event(
        session=session, event_type="api_token_revoked", actor_id=user.id, details={"tokenId": str(token_id)}
    )
    return token
