"""Bulk review: a checker decides several pending actions at once.

First a pre-check, which writes nothing: for each action, whether this reviewer may approve (or
reject) it now, and if not why, by the same rules as a single review (app.workflow.service), and
whether approving it needs the password (step-up). Then the decision: the password, when an item
asks for it, is verified once, before any transaction; then each action is decided by
service.review_action in a transaction of its own, so that one refusal (decided meanwhile by someone
else, stale, refused by current data) never undoes another's decision. Every decision's audit event
carries the batch's id (details.batchId).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import UUID, and_, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import SESSION_QUEUED_MAIL, CommitThenRaise, Database, DriverStatement, as_row, driver_connection
from app.errors import DomainError, InvalidInput
from app.models import ActionPolicy, ActionReview, ActionStatus, Role, User, WorkflowAction
from app.workflow import policies, records, service, step_up
from app.workflow.schemas import MAX_BULK_IDS

ACTIONS = WorkflowAction.__table__
REVIEWS = ActionReview.__table__
POLICIES = ActionPolicy.__table__
USERS = User.__table__

Decision = Literal["approved", "rejected"]

_CANDIDATES = DriverStatement.of(
    select(
        *ACTIONS.c,
        exists()
        .where(
            REVIEWS.c.action_id == ACTIONS.c.id,
            REVIEWS.c.reviewer_id == bindparam("reviewer"),
            REVIEWS.c.version == ACTIONS.c.version,
        )
        .label("already_reviewed"),
        (ACTIONS.c.expires_at <= func.now()).label("past_ttl"),
        select(USERS.c.is_active)
        .where(USERS.c.id == ACTIONS.c.maker_id)
        .scalar_subquery()
        .label("maker_active"),
        POLICIES.c.reviewer_role.label("pinned_reviewer_role"),
        POLICIES.c.step_up.label("pinned_step_up"),
    )
    .select_from(
        ACTIONS.outerjoin(
            POLICIES,
            and_(
                POLICIES.c.action_type == ACTIONS.c.action_type,
                POLICIES.c.version == ACTIONS.c.policy_version,
            ),
        )
    )
    .where(ACTIONS.c.id == func.any(bindparam("ids", type_=ARRAY(UUID))))
)


_ROWS = DriverStatement.of(
    select(ACTIONS).where(ACTIONS.c.id == func.any(bindparam("ids", type_=ARRAY(UUID))))
)


async def rows_by_id(*, session: AsyncSession, action_ids: Sequence[uuid.UUID]) -> list[Any]:
    """The actions with these ids (rows of workflow_actions), in no particular order."""
    connection = await driver_connection(session)
    return [as_row(record) for record in await _ROWS.fetch(connection, ids=list(action_ids))]


@dataclass(frozen=True)
class Check:
    """One action's pre-check for one decision."""

    id: uuid.UUID
    allowed: bool
    reason: str | None = None
    step_up: bool = False
    """Approving it needs the reviewer's password."""
    action: Any = None
    """Its row (attributes as on WorkflowAction), None when no action has the id."""

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "allowed": self.allowed, "reason": self.reason, "stepUp": self.step_up}


def checked_ids(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The ids once each, in the order given; raises InvalidInput for none or too many."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise InvalidInput("Select at least one request", details={"ids": "Select at least one request"})
    if len(unique) > MAX_BULK_IDS:
        message = f"Select at most {MAX_BULK_IDS} requests at once"
        raise InvalidInput(message, details={"ids": message})
    return unique


def _reviewer_role(row: Any) -> str:
    if row.policy_version == 0 or row.pinned_reviewer_role is None:
        return policies.default_policy(row.action_type).reviewer_role
    return str(row.pinned_reviewer_role)


def _asks_for_step_up(row: Any) -> bool:
    if row.policy_version == 0 or row.pinned_step_up is None:
        return policies.default_policy(row.action_type).step_up
    return bool(row.pinned_step_up)


def _refusal(row: Any, reviewer: User) -> str | None:
    """Why reviewing it would be refused whatever the decision, in the order review_action checks."""
    if row.maker_id == reviewer.id:
        return "You cannot review an action you made"
    role = _reviewer_role(row)
    if not reviewer.has_role(Role(role)):
        return f"Reviewing an action needs the {role} role"
    if row.status != ActionStatus.PENDING:
        return f"The action is not pending any more: it is {row.status.replace('_', ' ')}"
    if row.past_ttl:
        return "The action has expired: it was not decided within its policy's time to live"
    if row.already_reviewed:
        return "You have already reviewed this action"
    if not row.maker_active:
        return "The maker of this action is disabled: it cannot be reviewed"
    return None


async def precheck(
    *, session: AsyncSession, reviewer: User, ids: Sequence[uuid.UUID], decisions: Sequence[Decision]
) -> dict[Decision, list[Check]]:
    """For each decision, each action's check, in the order of `ids` (checked_ids first). Writes nothing."""
    wanted = checked_ids(ids)
    connection = await driver_connection(session)
    rows = {
        row.id: row
        for row in map(as_row, await _CANDIDATES.fetch(connection, ids=wanted, reviewer=reviewer.id))
    }
    found: dict[Decision, list[Check]] = {decision: [] for decision in decisions}
    for action_id in wanted:
        row = rows.get(action_id)
        refusal = "No action has this id" if row is None else _refusal(row, reviewer)
        stale = None
        if refusal is None and "approved" in decisions:
            stale = await records.stale_reason(session, row)
        for decision in decisions:
            reason = refusal or (stale if decision == "approved" else None)
            asks = reason is None and decision == "approved" and _asks_for_step_up(row)
            found[decision].append(Check(action_id, reason is None, reason, asks, row))
    return found


Outcome = Literal["approved", "rejected", "approval_recorded", "refused"]


@dataclass(frozen=True)
class ItemResult:
    id: uuid.UUID
    outcome: Outcome
    status_code: int
    message: str
    action: Any = None
    """The action's row after its decision; None when refused."""

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "outcome": self.outcome,
            "statusCode": self.status_code,
            "message": self.message,
        }


@dataclass(frozen=True)
class BatchResult:
    batch_id: uuid.UUID
    results: list[ItemResult]
    mail_queued: bool
    """A decision queued mail (an approved create_user): the caller sends it after answering."""

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for item in self.results:
            found[item.outcome] = found.get(item.outcome, 0) + 1
        return found

    def message(self) -> str:
        counts = self.counts()
        decided = len(self.results) - counts.get("refused", 0)
        return f"{decided} of {len(self.results)} decided, {counts.get('refused', 0)} refused"


def require_comment_to_reject(decision: Decision, comment: str | None) -> str | None:
    """The comment as recorded; raises InvalidInput when rejecting without one (before anything runs)."""
    comment = (comment or "").strip() or None
    if decision == "rejected" and comment is None:
        raise InvalidInput(
            "A comment is required to reject", details={"reviewComment": "Say why you reject them"}
        )
    return comment


async def review_batch(
    *,
    db: Database,
    throttle: Any,
    caller: step_up.Caller,
    ids: Sequence[uuid.UUID],
    decision: Decision,
    comment: str | None,
    password: str | None,
) -> BatchResult:
    """Decide each action in its own transaction; the per-item results in the order of `ids`.

    Raises (before anything is decided): InvalidInput (no ids, too many, rejecting without a
    comment); StepUpRefused (a wrong password, a locked account) or TooManyAttempts when an item
    asks for a step-up and a password is given. Without a password, those items are refused alone.
    """
    wanted = checked_ids(ids)
    comment = require_comment_to_reject(decision, comment)
    stepped_up = False
    if decision == "approved" and password and await step_up.needing_step_up(db, wanted):
        await step_up.verify_password_again(db, throttle, caller, password)
        stepped_up = True
    batch_id = uuid.uuid4()
    results, mail_queued = [], False
    for action_id in wanted:
        result, queued = await _decide_one(
            db, caller.user, action_id, decision, comment, stepped_up=stepped_up, batch_id=batch_id
        )
        results.append(result)
        mail_queued = mail_queued or queued
    return BatchResult(batch_id, results, mail_queued)


async def _decide_one(
    db: Database,
    reviewer: User,
    action_id: uuid.UUID,
    decision: Decision,
    comment: str | None,
    *,
    stepped_up: bool,
    batch_id: uuid.UUID,
) -> tuple[ItemResult, bool]:
    """One action's review in a transaction of its own, committed before the next begins."""
    async with db.sessions() as session:
        await session.begin()
        try:
            outcome = await service.review_action(
                session=session,
                action_id=action_id,
                reviewer=reviewer,
                approve=decision == "approved",
                comment=comment,
                stepped_up=stepped_up,
                batch_id=batch_id,
            )
        except DomainError as exc:
            # a refused execution or an expiry keeps its record (CommitThenRaise), as a single review does
            await (session.commit() if isinstance(exc, CommitThenRaise) else session.rollback())
            return ItemResult(action_id, "refused", exc.status_code, exc.message), False
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
        queued = bool(session.info.get(SESSION_QUEUED_MAIL))
    status = outcome.action.status
    kind: Outcome = (
        "rejected"
        if status == ActionStatus.REJECTED
        else "approved"
        if status == ActionStatus.APPROVED
        else "approval_recorded"
    )
    return ItemResult(action_id, kind, 200, outcome.message, outcome.action), queued
