"""resend_activation: a fresh activation link for a user who has not activated their account yet.

Proposed by an admin (typically when the first mail could not be delivered), approved by a
checker; approval spends every earlier link and mails the new one to the user's stored address.
"""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.activation import send_activation_link
from app.actions.base import ActionRefused, ActionType, ExecutionContext, FieldErrors, Payload, UniqueKey
from app.models import Role, User

RESEND_MAIL = """Hello {name},

Here is a new link to activate your account with the username {username}.
Choose your password with it. It works once, within 72 hours; earlier links no longer work:

{url}

If you did not expect this message, tell your administrator and do not use the link.
"""


class ResendActivationPayload(Payload):
    user_id: uuid.UUID


def _problem(user: User | None) -> str | None:
    if user is None:
        return "Choose an existing user"
    if not user.is_active:
        return "The user is deactivated: reactivate them first"
    if user.password_hash is not None:
        return "The user has activated their account already"
    return None


async def summarize(session: AsyncSession, payload: ResendActivationPayload) -> str:
    user = await session.get(User, payload.user_id)
    if user is None:
        return f"Send a new activation link to user {payload.user_id}"
    return (
        f"Send a new activation link to {user.username} ({user.full_name or user.username}) at {user.email}"
    )


async def check_current_data(session: AsyncSession, payload: ResendActivationPayload) -> FieldErrors:
    problem = _problem(await session.get(User, payload.user_id))
    return {"userId": problem} if problem else {}


async def apply(ctx: ExecutionContext, payload: ResendActivationPayload) -> dict[str, Any]:
    # locked: an activation at the same moment either happens first (and this is refused) or waits
    user = await ctx.session.get(User, payload.user_id, with_for_update=True, populate_existing=True)
    problem = _problem(user)
    if problem or user is None:
        raise ActionRefused(problem or "Choose an existing user", field="userId")
    return await send_activation_link(session=ctx.session, user=user, body=RESEND_MAIL)


ACTION = ActionType(
    name="resend_activation",
    label="Resend activation link",
    payload_model=ResendActivationPayload,
    summarize=summarize,
    sample={"userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c"},
    check_current_data=check_current_data,
    apply=apply,
    maker_role=Role.ADMIN,
    # one new link per user at a time: a second would spend the first the moment it is approved
    unique_keys=(UniqueKey("activation link of user", "userId", lambda payload: payload.user_id),),
)
