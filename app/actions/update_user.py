"""update_user: change a user's full name, roles or status, proposed by an admin, approved by a checker.

Only the fields given change, so two pending changes to one user do not undo each other.
Deactivating ends the user's sessions and API tokens and cancels their pending actions.
"""

import uuid
from typing import Any

from pydantic import model_validator
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.identity import FullName, Roles
from app.actions.base import ActionRefused, ActionType, ExecutionContext, FieldErrors, Payload
from app.models import Role, User, utcnow

NOTHING_CHANGES = "Nothing would change: the user already has these values"
NO_USER = "Choose an existing user"


class UpdateUserPayload(Payload):
    user_id: uuid.UUID
    full_name: FullName | None = None
    roles: Roles | None = None
    active: bool | None = None
    """False deactivates (sessions and tokens end), true reactivates."""

    def to_json(self) -> dict[str, Any]:
        """Only the fields that change: a stored request says what it changes and nothing else."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @model_validator(mode="after")
    def _changes_something(self) -> "UpdateUserPayload":
        if self.full_name is None and self.roles is None and self.active is None:
            raise ValueError("Give at least one of fullName, roles and active")
        return self


def changes(user: User, payload: UpdateUserPayload) -> dict[str, tuple[Any, Any]]:
    """What the payload would change on the user now, by field: (current, proposed)."""
    found: dict[str, tuple[Any, Any]] = {}
    if payload.full_name is not None and payload.full_name != user.full_name:
        found["fullName"] = (user.full_name, payload.full_name)
    if payload.roles is not None:
        proposed = [role.value for role in payload.roles]
        if set(proposed) != set(user.roles):
            found["roles"] = (list(user.roles), proposed)
    if payload.active is not None and payload.active != user.is_active:
        found["active"] = (user.is_active, payload.active)
    return found


def _describe(field: str, before: Any, after: Any) -> str:
    if field == "fullName":
        return f"full name {before or '(none)'} → {after}"
    if field == "roles":
        return f"roles {', '.join(before) or '(none)'} → {', '.join(after)}"
    return "reactivate" if after else "deactivate (ends their sessions and API tokens)"


async def summarize(session: AsyncSession, payload: UpdateUserPayload) -> str:
    user = await session.get(User, payload.user_id)
    if user is None:
        return f"Update user {payload.user_id}"
    described = "; ".join(_describe(field, *pair) for field, pair in changes(user, payload).items())
    return f"Update user {user.username} ({user.full_name or user.username}): {described or 'no change'}"


async def _other_active_admins(session: AsyncSession, user: User) -> int:
    query = select(func.count()).where(
        col(User.is_active), col(User.roles).contains([Role.ADMIN.value]), User.id != user.id
    )
    return int((await session.exec(query)).one())


async def check_current_data(session: AsyncSession, payload: UpdateUserPayload) -> FieldErrors:
    user = await session.get(User, payload.user_id)
    if user is None:
        return {"userId": NO_USER}
    found = changes(user, payload)
    if not found:
        return {"userId": NOTHING_CHANGES}
    loses_admin = "roles" in found and Role.ADMIN.value not in found["roles"][1]
    leaves = found.get("active", (True, True))[1] is False
    last_admin = user.is_active and user.has_role(Role.ADMIN) and (loses_admin or leaves)
    if last_admin and await _other_active_admins(session, user) == 0:
        return {"roles" if loses_admin else "active": "This is the last active admin: keep one"}
    return {}


async def apply(ctx: ExecutionContext, payload: UpdateUserPayload) -> dict[str, Any]:
    user = await ctx.session.get(User, payload.user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise ActionRefused(NO_USER, field="userId")
    if user.id == ctx.checker_id:
        raise ActionRefused("A change to your own account is approved by someone else", field="userId")
    if user.id == ctx.maker_id and payload.active is False:
        raise ActionRefused("Admins cannot deactivate themselves: another admin proposes it", field="active")
    found = changes(user, payload)
    if "fullName" in found:
        user.full_name = payload.full_name
    if "roles" in found:
        user.roles = found["roles"][1]
    user.updated_at = utcnow()
    ctx.session.add(user)
    cancelled: list[uuid.UUID] = []
    if "active" in found and payload.active:
        user.is_active, user.failed_logins, user.locked_until = True, 0, None
    elif "active" in found:
        # imported here: app.accounts.service imports the workflow, which imports this registry
        from app.accounts.service import deactivate_user

        disabled = await deactivate_user(
            session=ctx.session, user=user, actor_id=ctx.checker_id, via=f"action {ctx.action_id}"
        )
        cancelled = disabled.cancelled_action_ids
    await ctx.session.flush()
    return {
        "userId": str(user.id),
        "username": user.username,
        "changed": ", ".join(found),
        "fullName": user.full_name,
        "roles": ", ".join(user.roles),
        "active": user.is_active,
        "cancelledActions": len(cancelled),
    }


ACTION = ActionType(
    name="update_user",
    label="Update user",
    payload_model=UpdateUserPayload,
    summarize=summarize,
    sample={
        "userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c",
        "fullName": "Ana Lopez-Garcia",
        "roles": ["maker", "checker"],
        "active": True,
    },
    check_current_data=check_current_data,
    apply=apply,
    maker_role=Role.ADMIN,
    # the user's records pages show it while it is pending
    records=lambda payload: [payload.user_id],
    # none: a change names only the fields it changes, so two pending changes to one user can both stand
    unique_keys=(),
)
