"""Write use-cases of the workflow. Callers own the transaction; these functions never commit (a
refused execution rolls the caller's transaction back first: see review_action).

The workflow's own statements are SQLAlchemy Core compiled once and run as prepared statements
on the driver's connection inside the session's transaction (app.db.DriverStatement), each doing
as much as one statement can (a row with its queue signal; a review with the action's update), so
a submission or a review costs few round trips, no ORM flush and no per-request statement
building. An action type's `execute` may still use the ORM session: it is per-type code, and runs
inside the same transaction.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from asyncpg import IntegrityConstraintViolationError
from pydantic import ValidationError
from sqlalchemy import (
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.actions.base import ActionRefused, ActionType, ExecutionContext, InvalidPayload, Payload
from app.audit import appended_event_values, event_appended_with, record_event
from app.db import DriverStatement, as_row, driver_connection
from app.errors import (
    ActionExpired,
    Conflict,
    DuplicatePending,
    ExecutionRefused,
    Forbidden,
    InvalidInput,
    NotFound,
    StaleRecord,
    StepUpRefused,
)
from app.models import (
    PENDING_KEY_COLUMNS,
    ActionPolicy,
    ActionReview,
    ActionStatus,
    ActionVersion,
    Role,
    User,
    WorkflowAction,
    utcnow,
)
from app.workflow import policies, records
from app.workflow.notify import QUEUE_CHANNEL, queue_message

ACTIONS = WorkflowAction.__table__
REVIEWS = ActionReview.__table__
USERS = User.__table__
POLICIES = ActionPolicy.__table__
VERSIONS = ActionVersion.__table__
Row = Any
"""A row of workflow_actions read by a driver statement (app.db.as_row): attributes as on WorkflowAction."""
_JSONB_COLUMNS = frozenset(column.name for column in ACTIONS.c if isinstance(column.type, JSONB))


def _signal() -> Any:
    """The queue's pg_notify, riding along in the statement that changes the action."""
    return func.pg_notify(QUEUE_CHANNEL, bindparam("signal")).label("queue_signal")


def _hours(count: Any) -> Any:
    return func.make_interval(0, 0, 0, 0, count)


def _insert_pinned_to_policy() -> Any:
    """INSERT ... SELECT: the action, pinned to its type's latest policy version (required_approvals,
    more above the policy's large amount; policy_version, and expires_at from its time to live; the
    defaults, version 0, when the type has none) and stored only if that policy is enabled: no row
    back means the type is disabled. No extra round trip."""
    latest = (
        select(
            POLICIES.c.version,
            POLICIES.c.enabled,
            POLICIES.c.required_approvals,
            POLICIES.c.ttl_hours,
            POLICIES.c.large_amount,
            POLICIES.c.large_amount_approvals,
        )
        .where(POLICIES.c.action_type == bindparam("action_type"))
        .order_by(POLICIES.c.version.desc())
        .limit(1)
        .subquery("policy")
    )
    usual = func.coalesce(latest.c.required_approvals, 1)
    large = and_(
        latest.c.large_amount.is_not(None),
        bindparam("amount", type_=ACTIONS.c.amount.type) > latest.c.large_amount,
    )
    pinned = {
        "required_approvals": case(
            (large, func.greatest(usual, latest.c.large_amount_approvals)), else_=usual
        ),
        "policy_version": func.coalesce(latest.c.version, 0),
        "expires_at": bindparam("expiry_base", type_=ACTIONS.c.created_at.type)
        + _hours(func.coalesce(latest.c.ttl_hours, policies.DEFAULT_TTL_HOURS)),
    }
    columns = list(ACTIONS.c)
    values = [pinned.get(c.name, bindparam(c.name, type_=c.type)) for c in columns]
    one_row = select(literal(1).label("one")).subquery("one")
    source = (
        select(*values)
        .select_from(one_row.outerjoin(latest, true()))
        .where(func.coalesce(latest.c.enabled, true()))
    )
    return upsert(ACTIONS).from_select(columns, source).on_conflict_do_nothing().returning(*ACTIONS.c)


def _submission() -> DriverStatement:
    """The action's INSERT, its audit event and the queue's signal: one statement, so a submission
    is atomic with no BEGIN and COMMIT round trips (the API runs it outside a transaction).

    It inserts nothing, and the statement returns no row, when the type is disabled by its policy,
    or when a pending action holds one of its unique keys (the partial unique indexes on
    unique_key_1 and unique_key_2), even one submitted at the same moment, whose transaction the
    index makes this one wait for. Not an error: a unique violation would abort the caller's
    transaction (the form's), where "nothing inserted" leaves it usable."""
    added = _insert_pinned_to_policy().cte("added_action")
    event = event_appended_with(added, added.c.id)
    return DriverStatement.of(
        select(*added.c, _signal()).select_from(added.join(event, true())),
    )


_SUBMIT = _submission()
# the literal status lets the planner use the partial indexes, whose predicate it must imply
_PENDING_HOLDERS = DriverStatement.of(
    select(ACTIONS.c.id, *(ACTIONS.c[column] for column in PENDING_KEY_COLUMNS))
    .where(
        ACTIONS.c.status == literal_column(f"'{ActionStatus.PENDING.value}'"),
        or_(*(ACTIONS.c[column] == bindparam(column) for column in PENDING_KEY_COLUMNS)),
    )
    .order_by(ACTIONS.c.created_at, ACTIONS.c.id)
)
SUBMIT_ATTEMPTS = 3
"""Tries of a submission whose key was held by a pending action that was decided before it could be named."""
_LOCK_ACTION = DriverStatement.of(
    select(
        *ACTIONS.c,
        exists()
        .where(
            REVIEWS.c.action_id == bindparam("id"),
            REVIEWS.c.reviewer_id == bindparam("reviewer"),
            REVIEWS.c.version == ACTIONS.c.version,
        )
        .label("already_reviewed"),
        (ACTIONS.c.expires_at <= func.now()).label("past_ttl"),
        select(USERS.c.is_active)
        .where(USERS.c.id == ACTIONS.c.maker_id)
        .scalar_subquery()
        .label("maker_active"),
        # None under the defaults (version 0): the type's default_step_up
        select(POLICIES.c.step_up)
        .where(
            POLICIES.c.action_type == ACTIONS.c.action_type, POLICIES.c.version == ACTIONS.c.policy_version
        )
        .scalar_subquery()
        .label("pinned_step_up"),
    )
    .where(ACTIONS.c.id == bindparam("id"))
    .with_for_update(of=ACTIONS)
)


def _driver_values(values: dict[str, Any]) -> dict[str, Any]:
    """jsonb values as JSON text, as the driver takes them."""
    return {k: json.dumps(v) if k in _JSONB_COLUMNS and v is not None else v for k, v in values.items()}


@dataclass(frozen=True)
class ReviewOutcome:
    action: Any
    """The action's row after the review (attributes as on WorkflowAction)."""
    message: str
    execution_result: dict[str, Any] | None = None


def _known_type(name: str) -> ActionType:
    kind = get_action_type(name)
    if kind is None:
        raise InvalidInput("Unknown action type", details={"actionType": f"No action type is named {name!r}"})
    return kind


def _require_maker_role(maker: User, kind: ActionType | None) -> None:
    """Makers propose; people administration (update_user, resend_activation) is proposed by admins."""
    needed = kind.maker_role if kind else Role.MAKER
    if not maker.has_role(needed):
        what = "an action" if kind is None or needed == Role.MAKER else kind.name
        raise Forbidden(f"Submitting {what} needs the {needed.value} role")


async def submit_action(*, session: AsyncSession, maker: User, action_type: str, raw_payload: Any) -> Any:
    """Validate the payload and store it as a pending action; nothing else changes. Returns its row.

    Raises:
        Forbidden: the maker lacks the role the type asks of its makers (maker, or admin).
        InvalidInput: unknown type, invalid payload, or a conflict with current data.
        Conflict: the type's policy is disabled.
        DuplicatePending: a pending action has one of its unique keys (nothing was written).
    """
    _require_maker_role(maker, get_action_type(action_type))
    kind = _known_type(action_type)
    try:
        payload = kind.parse(raw_payload)
    except (ValidationError, InvalidPayload) as exc:
        raise InvalidInput("The payload is not valid", details=kind.errors_of(exc)) from exc
    conflicts = await kind.check_current_data(session, payload)
    if conflicts:
        raise InvalidInput("The payload conflicts with current data", details=conflicts)
    summary = await kind.summarize(session, payload)
    # the model gives the defaults (id, status, times); one INSERT stores it and signals the queue
    keys = kind.pending_keys(payload)
    action = WorkflowAction(
        action_type=kind.name,
        payload=payload.to_json(),
        summary=summary,
        maker_id=maker.id,
        record_ids=kind.stored_records(payload),
        amount=kind.stored_amount(payload),
        **await _record_snapshot(session, kind, payload),
        **keys,
    )
    event = appended_event_values("action_submitted", maker.id, {"actionType": kind.name, "summary": summary})
    values = _driver_values(action.model_dump())
    connection = await driver_connection(session)
    for _ in range(SUBMIT_ATTEMPTS):
        found = await _SUBMIT.fetchrow(
            connection,
            signal=queue_message(action.id, action.status, maker.id),
            expiry_base=action.created_at,
            **values,
            **event,
        )
        if found is not None:
            return as_row(found)
        # refused by a pending action with one of the keys: name it (a later statement sees it
        # committed), unless it was decided meanwhile and the key is free again: then try again
        holders = await _PENDING_HOLDERS.fetch(connection, **keys)
        if holders:
            raise _duplicate(kind, payload, keys, holders)
        if not (await policies.current_policy(session, kind.name)).enabled:
            raise Conflict(f"{kind.label} is disabled by its policy: no new requests of this type are taken")
    raise Conflict("Another request with the same details was just submitted or decided: submit again")


def _duplicate(
    kind: ActionType, payload: Payload, keys: dict[str, str | None], holders: list[Any]
) -> DuplicatePending:
    """The refusal of a submission: for each key a pending action holds, which one holds it."""
    held: dict[str, uuid.UUID] = {}
    details: dict[str, str] = {}
    for key, column in zip(kind.unique_keys, PENDING_KEY_COLUMNS, strict=False):
        holder = next((row["id"] for row in holders if row[column] == keys[column]), None)
        if holder is not None:
            held[key.field] = holder
            details[key.field] = (
                f"Request {holder} is already pending for the {key.name} {key.value(payload)}"
            )
    first = next(iter(held.values()))
    return DuplicatePending(
        f"A pending request ({first}) already asks for this",
        details=details,
        holders=held,
    )


async def _check_reviewer_role(session: AsyncSession, action: Row, reviewer: User) -> None:
    """The reviewer role of the policy the action is pinned to (the defaults cost no query)."""
    if action.policy_version == 0:
        kind = get_action_type(action.action_type)
        role = kind.default_reviewer_role if kind else Role.CHECKER.value
    else:
        role = (
            await policies.pinned_policy(session, action.action_type, action.policy_version)
        ).reviewer_role
    if not reviewer.has_role(Role(role)):
        raise Forbidden(f"Reviewing an action needs the {role} role")


async def _lock_pending_action(session: AsyncSession, action_id: uuid.UUID, reviewer: User) -> Row:
    """The action's row, locked until the transaction ends, and whether the reviewer reviewed it."""
    connection = await driver_connection(session)
    found = await _LOCK_ACTION.fetchrow(connection, id=action_id, reviewer=reviewer.id)
    if found is None:
        raise NotFound("No action has this id")
    action = as_row(found)
    if action.maker_id == reviewer.id:
        raise Forbidden("You cannot review an action you made")
    await _check_reviewer_role(session, action, reviewer)
    if action.status != ActionStatus.PENDING:
        raise Conflict(f"The action is not pending any more: it is {action.status}")
    if action.past_ttl:
        await _expire(session, action)
        raise ActionExpired(
            "The action has expired: it was not decided within its policy's time to live, "
            f"which ended {action.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    if action.already_reviewed:
        raise Conflict("You have already reviewed this action")
    if not action.maker_active:
        # disabling cancels a maker's pending actions; this catches a maker disabled any other way
        raise Conflict("The maker of this action is disabled: it cannot be reviewed")
    return action


@cache
def _review_statement(changed: tuple[str, ...], count_approval: bool) -> DriverStatement:
    """The review row's INSERT, its audit event and the action's UPDATE (`changed` columns set, plus
    updated_at, and approvals + 1 when counting an approval) in one statement, returned with the
    queue signal."""
    review = {c.name: bindparam(f"review_{c.name}") for c in REVIEWS.c}
    added = insert(REVIEWS).values(review).returning(REVIEWS.c.action_id).cte("added_review")
    event = event_appended_with(added, added.c.action_id)
    values: dict[str, Any] = {name: bindparam(f"set_{name}") for name in (*changed, "updated_at")}
    if count_approval:
        values["approvals"] = ACTIONS.c.approvals + 1
    statement = (
        update(ACTIONS)
        .where(ACTIONS.c.id == bindparam("action_id"))
        .values(values)
        .returning(*ACTIONS.c, _signal())
        .add_cte(added, event)
    )
    return DriverStatement.of(statement)


@dataclass(frozen=True)
class Event:
    """The audit event a statement appends alongside its change."""

    event_type: str
    details: dict[str, Any]


async def _review_and_update(
    session: AsyncSession,
    action: Row,
    reviewer: User,
    decision: str,
    comment: str | None,
    event: Event,
    *,
    count_approval: bool = False,
    **changes: Any,
) -> Row:
    """One statement: the review row, its audit event, and the action's update with its queue signal."""
    review = ActionReview(
        action_id=action.id,
        version=action.version,
        reviewer_id=reviewer.id,
        decision=decision,
        comment=comment,
    )
    statement = _review_statement(tuple(sorted(changes)), count_approval)
    values = {f"set_{k}": v for k, v in _driver_values(changes | {"updated_at": utcnow()}).items()}
    values |= {f"review_{k}": v for k, v in review.model_dump().items()}
    values |= appended_event_values(event.event_type, reviewer.id, event.details)
    status = changes.get("status", action.status)
    connection = await driver_connection(session)
    found = await statement.fetchrow(
        connection, action_id=action.id, signal=queue_message(action.id, status, action.maker_id), **values
    )
    return as_row(found)


async def review_action(
    *,
    session: AsyncSession,
    action_id: uuid.UUID,
    reviewer: User,
    approve: bool,
    comment: str | None,
    send_back: bool = False,
    stepped_up: bool = False,
    batch_id: uuid.UUID | None = None,
) -> ReviewOutcome:
    """Approve, reject or send back a pending action under a row lock; the final approval executes it.

    stepped_up: the reviewer entered their password again for this approval, checked before the
    transaction (app.workflow.step_up); an approval whose pinned policy asks for it needs it.
    batch_id: the bulk review this decision is part of, recorded in its audit event.

    Raises:
        Forbidden: not a checker, the reviewer made the action, or an approval without its step-up.
        InvalidInput: rejecting or sending back without a comment.
        NotFound: no such action.
        Conflict: not pending any more, or already reviewed by this user.
        ActionExpired: past its time to live (it is marked expired, and that is kept).
        ExecutionRefused: current data refused the operation; the action stays pending. The
            caller's transaction has been rolled back, and a new one holds the refusal's record,
            for the caller to commit (ExecutionRefused is a CommitThenRaise).
    """
    if not any(reviewer.has_role(Role(role)) for role in policies.REVIEWER_ROLES):
        raise Forbidden("Reviewing an action needs the checker role")
    comment = (comment or "").strip() or None
    if send_back and comment is None:
        raise InvalidInput(
            "A comment is required to send back",
            details={"reviewComment": "Say what the maker should change"},
        )
    if not approve and comment is None:
        raise InvalidInput(
            "A comment is required to reject",
            details={"reviewComment": "Say why you reject"},
        )
    action = await _lock_pending_action(session, action_id, reviewer)
    noted = {"batchId": str(batch_id)} if batch_id else {}
    if send_back:
        return await _send_back(session, action, reviewer, comment, noted)
    if approve:
        if _asks_for_step_up(action):
            if not stepped_up:
                raise StepUpRefused()
            noted |= {"stepUp": True}
        return await _approve(session, action, reviewer, comment, noted)
    return await _reject(session, action, reviewer, comment, noted)


def _asks_for_step_up(action: Row) -> bool:
    """Whether the action's pinned policy asks for the password to approve (read with its lock)."""
    if action.pinned_step_up is None:
        kind = get_action_type(action.action_type)
        return bool(kind and kind.default_step_up)
    return bool(action.pinned_step_up)


async def _send_back(
    session: AsyncSession, action: Row, reviewer: User, comment: str | None, noted: dict[str, Any]
) -> ReviewOutcome:
    changes = {
        "status": ActionStatus.CHANGES_REQUESTED.value,
        "checker_id": reviewer.id,
        "review_comment": comment,
        "reviewed_at": utcnow(),
    }
    event = Event("action_sent_back", {"comment": comment, "version": action.version} | noted)
    try:
        sent_back = await _review_and_update(
            session, action, reviewer, ActionStatus.CHANGES_REQUESTED.value, comment, event, **changes
        )
    except IntegrityConstraintViolationError as exc:
        _refuse_duplicate_review(exc)
        raise
    return ReviewOutcome(action=sent_back, message="Action sent back to its maker for changes")


async def _expire(session: AsyncSession, action: Row) -> None:
    """Mark a pending action found past its time expired, as the sweeper would: queues told, audited."""
    connection = await session.connection()
    await connection.execute(
        update(ACTIONS)
        .where(ACTIONS.c.id == action.id)
        .values(status=ActionStatus.EXPIRED.value, updated_at=utcnow())
        .returning(_queue_signal_per_row(ActionStatus.EXPIRED.value))
    )
    await record_event(
        session=session,
        event_type="action_expired",
        actor_id=None,
        action_id=action.id,
        details={"reason": "not decided within its time to live", "expiresAt": action.expires_at},
    )


async def _reject(
    session: AsyncSession, action: Row, reviewer: User, comment: str | None, noted: dict[str, Any]
) -> ReviewOutcome:
    changes = {
        "status": ActionStatus.REJECTED.value,
        "checker_id": reviewer.id,
        "review_comment": comment,
        "reviewed_at": utcnow(),
    }
    event = Event("action_rejected", {"comment": comment} | noted)
    try:
        rejected = await _review_and_update(session, action, reviewer, "rejected", comment, event, **changes)
    except IntegrityConstraintViolationError as exc:
        _refuse_duplicate_review(exc)
        raise
    return ReviewOutcome(action=rejected, message="Action rejected")


async def _record_snapshot(session: AsyncSession, kind: ActionType, payload: Payload) -> dict[str, Any]:
    """An update's record as it is now: its version (approval is refused once it moves on) and the
    values the update changes (its diff's "before")."""
    snapshot = await kind.snapshot(session, payload)
    if snapshot is None:
        return {"record_version": None, "record_before": None}
    return {"record_version": snapshot.version, "record_before": snapshot.before}


async def _refuse_if_stale(session: AsyncSession, action: Row, reviewer: User, noted: dict[str, Any]) -> None:
    """An update whose record changed since submission is not approved (its checker saw the record
    as it was): refused like a refused execution, audited, still pending."""
    reason = await records.stale_reason(session, action, lock=True)
    if reason is not None:
        await session.rollback()
        await _record_refusal(session, action, reviewer, reason, noted)
        raise StaleRecord(f"The action cannot be approved: {reason}")


async def _approve(
    session: AsyncSession, action: Row, reviewer: User, comment: str | None, noted: dict[str, Any]
) -> ReviewOutcome:
    kind = _known_type(action.action_type)
    await _refuse_if_stale(session, action, reviewer, noted)
    ctx = ExecutionContext(
        session=session, action_id=action.id, maker_id=action.maker_id, checker_id=reviewer.id
    )
    try:
        approved, result = await _record_approval(ctx, kind, action, reviewer, comment, noted)
    except (
        ActionRefused,
        IntegrityError,
        IntegrityConstraintViolationError,
        ValidationError,
        InvalidPayload,
    ) as exc:
        # a refused execution leaves no review, no count and no partial effect behind: the whole
        # transaction goes (cheaper than a savepoint around every approval), then the refusal is
        # recorded in a fresh one, which the request commits before answering
        await session.rollback()
        _refuse_duplicate_review(exc)
        await _record_refusal(session, action, reviewer, _reason(exc), noted)
        raise ExecutionRefused(f"The action cannot be executed: {_reason(exc)}") from exc
    if approved.status != ActionStatus.APPROVED:
        return ReviewOutcome(action=approved, message="Approval recorded; more approvals are needed")
    return ReviewOutcome(action=approved, message="Action approved and executed", execution_result=result)


async def _record_approval(
    ctx: ExecutionContext,
    kind: ActionType,
    action: Row,
    reviewer: User,
    comment: str | None,
    noted: dict[str, Any],
) -> tuple[Row, dict[str, Any] | None]:
    changes: dict[str, Any] = {}
    result = None
    final = action.approvals + 1 >= action.required_approvals
    if final:
        result = await kind.execute(ctx, kind.parse(action.payload))
        changes |= {
            "status": ActionStatus.APPROVED.value,
            "checker_id": reviewer.id,
            "review_comment": comment,
            "reviewed_at": utcnow(),
            "execution_result": result,
            "error": None,
        }
    event = Event(
        "action_approved" if final else "approval_recorded",
        {"approvals": action.approvals + 1, "requiredApprovals": action.required_approvals, "result": result}
        | noted,
    )
    approved = await _review_and_update(
        ctx.session, action, reviewer, "approved", comment, event, count_approval=True, **changes
    )
    return approved, result


async def _record_refusal(
    session: AsyncSession, action: Row, reviewer: User, reason: str, noted: dict[str, Any]
) -> None:
    """The failed attempt on a still pending action (the row lock went with the rolled-back attempt,
    so someone else may have decided it meanwhile: then their decision stands, untouched)."""
    connection = await session.connection()
    await connection.execute(
        update(ACTIONS)
        .where(ACTIONS.c.id == action.id, ACTIONS.c.status == ActionStatus.PENDING.value)
        .values(error=reason, updated_at=utcnow())
    )
    await record_event(
        session=session,
        event_type="execution_failed",
        actor_id=reviewer.id,
        action_id=action.id,
        details={"reason": reason} | noted,
    )


def _refuse_duplicate_review(exc: Exception) -> None:
    """One person's two reviews raced: the second passed the lock's "already reviewed" check,
    read in the snapshot its statement began with, and the unique index stopped its row."""
    if getattr(exc, "constraint_name", None) == "uq_action_reviews_one_per_user":
        raise Conflict("You have already reviewed this action") from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, ActionRefused):
        return exc.message
    if isinstance(exc, IntegrityError | IntegrityConstraintViolationError):
        return "a conflicting record was created at the same time"
    return "its stored details are no longer valid"


def _queue_signal_per_row(status: str) -> Any:
    """queue_signal's message, built in SQL for each row an UPDATE touches."""
    message = func.json_build_object(
        "actionId", ACTIONS.c.id, "status", status, "makerId", ACTIONS.c.maker_id
    )
    return func.pg_notify(QUEUE_CHANNEL, cast(message, Text)).label("queue_signal")


async def cancel_pending_actions_of(
    *, session: AsyncSession, maker_id: uuid.UUID, reason: str
) -> list[uuid.UUID]:
    """Cancel every pending action this maker made, and those sent back to them (when they are
    disabled: nobody else may resubmit them); audited, queues told.

    Returns the ids of the cancelled actions.
    """
    open_statuses = (ActionStatus.PENDING.value, ActionStatus.CHANGES_REQUESTED.value)
    connection = await session.connection()
    rows = (
        await connection.execute(
            update(ACTIONS)
            .where(ACTIONS.c.maker_id == maker_id, ACTIONS.c.status.in_(open_statuses))
            .values(status=ActionStatus.CANCELLED.value, error=reason, updated_at=utcnow())
            .returning(ACTIONS.c.id, _queue_signal_per_row(ActionStatus.CANCELLED.value))
        )
    ).all()
    for row in rows:
        await record_event(
            session=session,
            event_type="action_cancelled",
            actor_id=None,
            action_id=row.id,
            details={"reason": reason},
        )
    return [row.id for row in rows]


async def resubmit_action(
    *, session: AsyncSession, action_id: uuid.UUID, maker: User, raw_payload: Any
) -> Any:
    """The maker's new version of an action sent back to them: validated like a submission, stored
    as the next version, pending again with its approvals voided and a fresh time to live (the
    pinned policy's). Returns the action's row.

    Raises:
        NotFound: no such action.
        Forbidden: the caller is not its maker.
        Conflict: it is not sent back (changes_requested).
        InvalidInput: invalid payload, or a conflict with current data.
    """
    connection = await session.connection()
    found = (
        await connection.execute(select(ACTIONS).where(ACTIONS.c.id == action_id).with_for_update())
    ).first()
    if found is None:
        raise NotFound("No action has this id")
    if found.maker_id != maker.id:
        raise Forbidden("Only the maker of an action can resubmit it")
    # a new version is a new proposal: it needs the role that proposing this type needs
    _require_maker_role(maker, get_action_type(found.action_type))
    if found.status != ActionStatus.CHANGES_REQUESTED:
        raise Conflict(f"Only an action sent back for changes can be resubmitted: this one is {found.status}")
    kind = _known_type(found.action_type)
    try:
        payload = kind.parse(raw_payload)
    except ValidationError as exc:
        raise InvalidInput("The payload is not valid", details=kind.errors_of(exc)) from exc
    conflicts = await kind.check_current_data(session, payload)
    if conflicts:
        raise InvalidInput("The payload conflicts with current data", details=conflicts)
    summary = await kind.summarize(session, payload)
    policy = await policies.pinned_policy(session, found.action_type, found.policy_version)
    now, version = utcnow(), found.version + 1
    await _keep_versions(session, found, version, payload.to_json(), summary, now)
    amount = kind.stored_amount(payload)
    changes = {
        "version": version,
        "payload": payload.to_json(),
        "summary": summary,
        "status": ActionStatus.PENDING.value,
        "approvals": 0,
        # what the new version changes and moves, and so what it needs (a larger amount, more)
        "record_ids": kind.stored_records(payload),
        "amount": amount,
        "required_approvals": policy.approvals_for(amount),
        "checker_id": None,
        "review_comment": None,
        "reviewed_at": None,
        "error": None,
        "expires_at": now + timedelta(hours=policy.ttl_hours),
        "updated_at": now,
        # a new proposal, against the record as it is now
        **await _record_snapshot(session, kind, payload),
        # pending again: its keys count again, as the new payload has them
        **kind.pending_keys(payload),
    }
    keys = kind.pending_keys(payload)
    holders = await _PENDING_HOLDERS.fetch(await driver_connection(session), **keys)
    if holders:
        raise _duplicate(kind, payload, keys, holders)
    try:
        resubmitted = (
            await connection.execute(
                update(ACTIONS)
                .where(ACTIONS.c.id == action_id)
                .values(changes)
                .returning(*ACTIONS.c, _queue_signal_per_row(ActionStatus.PENDING.value))
            )
        ).one()
    except IntegrityError as exc:  # a submission took one of the keys since the look-up
        raise Conflict("Another request with the same details was just submitted: resubmit again") from exc
    await record_event(
        session=session,
        event_type="action_resubmitted",
        actor_id=maker.id,
        action_id=action_id,
        details={
            "version": version,
            "summary": summary,
            "changed": [change.field for change in payload_changes(found.payload, payload.to_json())],
        },
    )
    return resubmitted


async def _keep_versions(
    session: AsyncSession, action: Row, version: int, payload: dict[str, Any], summary: str, now: Any
) -> None:
    """The outgoing version (once: the first resubmission keeps version 1) and the new one."""
    connection = await session.connection()
    outgoing = {
        "action_id": action.id,
        "version": action.version,
        "payload": action.payload,
        "summary": action.summary,
        # version 1 was submitted with the action; a later one when it was resubmitted
        "submitted_at": action.created_at if action.version == 1 else action.updated_at,
    }
    await connection.execute(upsert(VERSIONS).values(outgoing).on_conflict_do_nothing())
    await connection.execute(
        insert(VERSIONS).values(
            action_id=action.id, version=version, payload=payload, summary=summary, submitted_at=now
        )
    )


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    def json(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


def payload_changes(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """What changed between two versions' payloads, field by field, in the newer one's order."""
    fields = list(after) + [name for name in before if name not in after]
    return [
        FieldChange(name, before.get(name), after.get(name))
        for name in fields
        if before.get(name) != after.get(name)
    ]


def _withdrawal() -> DriverStatement:
    """The maker's withdrawal: the action's UPDATE, guarded by its maker and its being pending, with
    its audit event and the queue's signal, in one statement. The guard is the lock: a concurrent
    review holds the row until it commits, after which PostgreSQL re-checks the guard on the new row,
    so a withdrawal and a decision never both succeed. No row back: nothing changed, no event."""
    withdrawn = (
        update(ACTIONS)
        .where(
            ACTIONS.c.id == bindparam("action_id"),
            ACTIONS.c.maker_id == bindparam("maker_id"),
            ACTIONS.c.status == ActionStatus.PENDING.value,
        )
        .values(
            status=ActionStatus.CANCELLED.value,
            reviewed_at=bindparam("now"),
            updated_at=bindparam("now"),
        )
        .returning(*ACTIONS.c)
        .cte("withdrawn_action")
    )
    event = event_appended_with(withdrawn, withdrawn.c.id)
    return DriverStatement.of(select(*withdrawn.c, _signal()).select_from(withdrawn.join(event, true())))


_WITHDRAW = _withdrawal()
_WHY_NOT_WITHDRAWN = DriverStatement.of(
    select(ACTIONS.c.maker_id, ACTIONS.c.status).where(ACTIONS.c.id == bindparam("action_id"))
)
WITHDRAWN_EVENT = "action_withdrawn"


async def withdraw_action(*, session: AsyncSession, action_id: uuid.UUID, maker: User) -> Row:
    """The maker cancels their own pending action (status cancelled); audited, queues told.

    Raises:
        NotFound: no such action.
        Forbidden: someone else made it.
        Conflict: it is not pending any more (decided, or already withdrawn).
    """
    connection = await driver_connection(session)
    found = await _WITHDRAW.fetchrow(
        connection,
        action_id=action_id,
        maker_id=maker.id,
        now=utcnow(),
        signal=queue_message(action_id, ActionStatus.CANCELLED.value, maker.id),
        **appended_event_values(WITHDRAWN_EVENT, maker.id, {}),
    )
    if found is not None:
        return as_row(found)
    current = await _WHY_NOT_WITHDRAWN.fetchrow(connection, action_id=action_id)
    if current is None:
        raise NotFound("No action has this id")
    if current["maker_id"] != maker.id:
        raise Forbidden("Only its maker can withdraw an action")
    raise Conflict(f"The action is not pending any more: it is {current['status']}")
