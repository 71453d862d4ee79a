"""Write use-cases of the workflow. Callers own the transaction; these functions flush, never commit."""

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.actions.base import ActionRefused, ActionType, ExecutionContext
from app.audit import record_event
from app.errors import Conflict, ExecutionRefused, Forbidden, InvalidInput, NotFound
from app.models import ActionReview, ActionStatus, Role, User, WorkflowAction, utcnow
from app.workflow.notify import notify_queue_changed


@dataclass(frozen=True)
class ReviewOutcome:
    action: WorkflowAction
    message: str
    execution_result: dict[str, Any] | None = None


def _known_type(name: str) -> ActionType:
    action_type = get_action_type(name)
    if action_type is None:
        raise InvalidInput("Unknown action type", details={"actionType": f"No action type is named {name!r}"})
    return action_type


async def submit_action(
    *, session: AsyncSession, maker: User, action_type: str, raw_payload: Any
) -> WorkflowAction:
    """Validate the payload and store it as a pending action; nothing else changes.

    Raises:
        Forbidden: the maker lacks the maker role.
        InvalidInput: unknown type, invalid payload, or a conflict with current data.
    """
    if not maker.has_role(Role.MAKER):
        raise Forbidden("Submitting an action needs the maker role")
    kind = _known_type(action_type)
    try:
        payload = kind.parse(raw_payload)
    except ValidationError as exc:
        raise InvalidInput("The payload is not valid", details=kind.errors_of(exc)) from exc
    conflicts = await kind.check_current_data(session, payload)
    if conflicts:
        raise InvalidInput("The payload conflicts with current data", details=conflicts)
    summary = await kind.summarize(session, payload)
    action = WorkflowAction(
        action_type=kind.name, payload=payload.to_json(), summary=summary, maker_id=maker.id
    )
    session.add(action)
    await session.flush()
    await record_event(
        session=session,
        event_type="action_submitted",
        actor_id=maker.id,
        action_id=action.id,
        details={"actionType": kind.name, "summary": summary},
    )
    await notify_queue_changed(session=session, action_id=action.id, status=action.status)
    return action


async def _lock_pending_action(session: AsyncSession, action_id: uuid.UUID, reviewer: User) -> WorkflowAction:
    action = (
        await session.exec(select(WorkflowAction).where(WorkflowAction.id == action_id).with_for_update())
    ).first()
    if action is None:
        raise NotFound("No action has this id")
    if action.maker_id == reviewer.id:
        raise Forbidden("You cannot review an action you made")
    if action.status != ActionStatus.PENDING:
        raise Conflict(f"The action is not pending any more: it is {action.status}")
    reviewed = await session.exec(
        select(func.count())
        .select_from(ActionReview)
        .where(ActionReview.action_id == action_id, ActionReview.reviewer_id == reviewer.id)
    )
    if reviewed.one():
        raise Conflict("You have already reviewed this action")
    return action


async def review_action(
    *,
    session: AsyncSession,
    action_id: uuid.UUID,
    reviewer: User,
    approve: bool,
    comment: str | None,
    base_url: str,
) -> ReviewOutcome:
    """Approve or reject a pending action under a row lock; the final approval executes it.

    Raises:
        Forbidden: not a checker, or the reviewer made the action.
        InvalidInput: rejecting without a comment.
        NotFound: no such action.
        Conflict: not pending any more, or already reviewed by this user.
        ExecutionRefused: current data refused the operation; the action stays pending.
    """
    if not reviewer.has_role(Role.CHECKER):
        raise Forbidden("Reviewing an action needs the checker role")
    comment = (comment or "").strip() or None
    if not approve and comment is None:
        raise InvalidInput(
            "A comment is required to reject",
            details={"reviewComment": "Say why you reject"},
        )
    action = await _lock_pending_action(session, action_id, reviewer)
    if approve:
        return await _approve(session, action, reviewer, comment, base_url)
    return await _reject(session, action, reviewer, comment)


async def _reject(
    session: AsyncSession, action: WorkflowAction, reviewer: User, comment: str | None
) -> ReviewOutcome:
    now = utcnow()
    session.add(
        ActionReview(action_id=action.id, reviewer_id=reviewer.id, decision="rejected", comment=comment)
    )
    action.status = ActionStatus.REJECTED.value
    action.checker_id, action.review_comment = reviewer.id, comment
    action.reviewed_at = action.updated_at = now
    session.add(action)
    await session.flush()
    await record_event(
        session=session,
        event_type="action_rejected",
        actor_id=reviewer.id,
        action_id=action.id,
        details={"comment": comment},
    )
    await notify_queue_changed(session=session, action_id=action.id, status=action.status)
    return ReviewOutcome(action=action, message="Action rejected")


async def _approve(
    session: AsyncSession, action: WorkflowAction, reviewer: User, comment: str | None, base_url: str
) -> ReviewOutcome:
    kind = _known_type(action.action_type)
    ctx = ExecutionContext(
        session=session,
        action_id=action.id,
        maker_id=action.maker_id,
        checker_id=reviewer.id,
        base_url=base_url,
    )
    try:
        # a savepoint: a refused execution must leave no review, no count and no partial effect behind
        async with session.begin_nested():
            result = await _record_approval(ctx, kind, action, reviewer, comment)
    except (ActionRefused, IntegrityError, ValidationError) as exc:
        await _record_refusal(session, action, reviewer, _reason(exc))
        raise ExecutionRefused(f"The action cannot be executed: {_reason(exc)}") from exc
    final = action.status == ActionStatus.APPROVED
    await record_event(
        session=session,
        event_type="action_approved" if final else "approval_recorded",
        actor_id=reviewer.id,
        action_id=action.id,
        details={
            "approvals": action.approvals,
            "requiredApprovals": action.required_approvals,
            "result": result,
        },
    )
    await notify_queue_changed(session=session, action_id=action.id, status=action.status)
    if not final:
        return ReviewOutcome(action=action, message="Approval recorded; more approvals are needed")
    return ReviewOutcome(
        action=action,
        message="Action approved and executed",
        execution_result=result,
    )


async def _record_approval(
    ctx: ExecutionContext, kind: ActionType, action: WorkflowAction, reviewer: User, comment: str | None
) -> dict[str, Any] | None:
    session, now = ctx.session, utcnow()
    session.add(
        ActionReview(action_id=action.id, reviewer_id=reviewer.id, decision="approved", comment=comment)
    )
    action.approvals += 1
    action.updated_at = now
    result = None
    if action.approvals >= action.required_approvals:
        result = await kind.execute(ctx, kind.parse(action.payload))
        action.status = ActionStatus.APPROVED.value
        action.checker_id, action.review_comment, action.reviewed_at = reviewer.id, comment, now
        action.execution_result, action.error = result, None
    session.add(action)
    await session.flush()
    return result


async def _record_refusal(session: AsyncSession, action: WorkflowAction, reviewer: User, reason: str) -> None:
    await session.refresh(action)  # the savepoint's rollback expired what it had changed
    action.error = reason
    action.updated_at = utcnow()
    session.add(action)
    await session.flush()
    await record_event(
        session=session,
        event_type="execution_failed",
        actor_id=reviewer.id,
        action_id=action.id,
        details={"reason": reason},
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ActionRefused):
        return exc.message
    if isinstance(exc, IntegrityError):
        return "a conflicting record was created at the same time"
    return "its stored details are no longer valid"
