"""update_policy: a new version of an action type's approval policy, made by an admin and
approved by another admin (its own default reviewer role is admin)."""

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

import app.actions
from app.actions.base import ActionType, Amount, ExecutionContext, FieldErrors, Payload
from app.models import ActionPolicy, Role
from app.text import Text
from app.workflow import policies
from app.workflow.policies import MAX_APPROVALS, MAX_TTL_HOURS, UPDATE_POLICY


class UpdatePolicyPayload(Payload):
    target_type: Text = Field(max_length=50)
    """The action type whose policy changes."""
    enabled: bool
    required_approvals: int = Field(ge=1, le=MAX_APPROVALS)
    ttl_hours: int = Field(ge=1, le=MAX_TTL_HOURS)
    reviewer_role: Literal["checker", "admin"]
    base_version: int = Field(ge=0)
    """The version this change amends: refused if another change was approved since."""
    step_up: bool | None = None
    """Approving needs the checker's password again; left out: as in the version it amends."""
    large_amount: Amount | None = None
    """Above this amount an action needs large_amount_approvals approvals; left out: no such rule."""
    large_amount_approvals: int | None = Field(default=None, ge=1, le=MAX_APPROVALS)

    @model_validator(mode="before")
    @classmethod
    def _approvals_stated(cls, data: Any) -> Any:
        """A large amount without its approvals: checked as a missing value given (so the message
        names largeAmountApprovals, which a default's check would not)."""
        if isinstance(data, dict) and not {"largeAmountApprovals", "large_amount_approvals"} & set(data):
            return data | {"largeAmountApprovals": None}
        return data

    @field_validator("target_type")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in app.actions.REGISTRY:
            raise ValueError("Choose one of: " + ", ".join(app.actions.REGISTRY))
        return value

    @field_validator("large_amount")
    @classmethod
    def _positive(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value <= 0:
            raise ValueError("Must be more than 0")
        return value

    @field_validator("large_amount_approvals")
    @classmethod
    def _with_its_amount(cls, value: int | None, info: ValidationInfo) -> int | None:
        """The amount and its approvals come together (an invalid amount has its own message)."""
        if "large_amount" not in info.data:
            return value
        if value is None and info.data["large_amount"] is not None:
            raise ValueError("Give the approvals needed above the large amount too")
        if value is not None and info.data["large_amount"] is None:
            raise ValueError("Give the large amount too: these approvals are needed above it")
        return value


def _label(name: str) -> str:
    kind = app.actions.get_action_type(name)
    return kind.label if kind else name


def _proposed(payload: UpdatePolicyPayload, amended: policies.Policy) -> policies.Policy:
    """The new version; step-up left out stays as in `amended`, the version in force (checks
    refuse the change once another version replaced the one it amends)."""
    return policies.Policy(
        payload.target_type,
        payload.base_version + 1,
        enabled=payload.enabled,
        required_approvals=payload.required_approvals,
        ttl_hours=payload.ttl_hours,
        reviewer_role=payload.reviewer_role,
        step_up=amended.step_up if payload.step_up is None else payload.step_up,
        large_amount=payload.large_amount,
        large_amount_approvals=payload.large_amount_approvals,
    )


async def summarize(session: AsyncSession, payload: UpdatePolicyPayload) -> str:
    current = await policies.current_policy(session, payload.target_type)
    return (
        f"Policy of {_label(payload.target_type)}: {_proposed(payload, current).describe()} "
        f"(version {current.version}: {current.describe()})"
    )


async def check_current_data(session: AsyncSession, payload: UpdatePolicyPayload) -> FieldErrors:
    """Run at submission and again at approval: the policy must not have changed in between, and
    the new one must be one that its reviewers can satisfy."""
    if payload.target_type == UPDATE_POLICY:
        if not payload.enabled:
            return {"enabled": "Policy changes cannot be disabled: nothing could turn them on again"}
        if payload.reviewer_role != "admin":
            return {"reviewerRole": "Policy changes are reviewed by admins"}
    current = await policies.current_policy(session, payload.target_type)
    if current.version != payload.base_version:
        return {"baseVersion": f"The policy changed since: it is at version {current.version} now"}
    if _proposed(payload, current).settings() == current.settings():
        return {"targetType": "This is the policy in force already: change at least one setting"}
    if payload.enabled:
        shortfall = await policies.quorum_shortfall(
            session,
            action_type=payload.target_type,
            # the most any action of the type may need
            required_approvals=max(payload.required_approvals, payload.large_amount_approvals or 0),
            reviewer_role=payload.reviewer_role,
        )
        if shortfall:
            return {"requiredApprovals": shortfall}
    return {}


async def apply(ctx: ExecutionContext, payload: UpdatePolicyPayload) -> dict[str, Any]:
    proposed = _proposed(payload, await policies.current_policy(ctx.session, payload.target_type))
    ctx.session.add(
        ActionPolicy(
            action_type=proposed.action_type,
            version=proposed.version,
            enabled=proposed.enabled,
            required_approvals=proposed.required_approvals,
            ttl_hours=proposed.ttl_hours,
            reviewer_role=proposed.reviewer_role,
            step_up=proposed.step_up,
            large_amount=proposed.large_amount,
            large_amount_approvals=proposed.large_amount_approvals,
            created_by=ctx.maker_id,
            approved_by=ctx.checker_id,
            action_id=ctx.action_id,
        )
    )
    # a concurrent change to the same version fails here on the primary key: refused, not doubled
    await ctx.session.flush()
    settings = proposed.settings()
    if proposed.large_amount is not None:
        settings["largeAmount"] = str(proposed.large_amount)  # JSON has no decimals
    return {"actionType": proposed.action_type, "version": proposed.version} | settings


async def form_options(session: AsyncSession) -> dict[str, Any]:
    return {"policies": await policies.current_policies(session)}


ACTION = ActionType(
    name=UPDATE_POLICY,
    label="Change approval policy",
    payload_model=UpdatePolicyPayload,
    summarize=summarize,
    sample={
        "targetType": "create_promotion",
        "enabled": True,
        "requiredApprovals": 2,
        "ttlHours": 48,
        "reviewerRole": "checker",
        "baseVersion": 0,
    },
    check_current_data=check_current_data,
    apply=apply,
    form_options=form_options,
    maker_role=Role.ADMIN,
    default_reviewer_role="admin",
)
