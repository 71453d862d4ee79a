"""Reads shaped for the pages: actions with the names of the people involved. Nothing here writes."""

import uuid
from dataclasses import dataclass, replace

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.models import ActionReview, ActionStatus, AuditEvent, Role, User, WorkflowAction
from app.workflow.queries import ActionFilter, Page, list_actions


@dataclass(frozen=True)
class ActionView:
    action: WorkflowAction
    maker_name: str
    summary: str
    label: str
    can_review: bool
    """The viewer may approve or reject it now: a checker, not its maker, pending."""
    decided_by: str | None = None
    """Set on a row the viewer had in hand when someone else decided it: that person's username."""


def _view(action: WorkflowAction, maker_name: str, viewer: User | None) -> ActionView:
    kind = get_action_type(action.action_type)
    return ActionView(
        action=action,
        maker_name=maker_name,
        summary=action.summary or action.action_type,
        label=kind.label if kind else action.action_type,
        can_review=viewer is not None
        and viewer.has_role(Role.CHECKER)
        and viewer.id != action.maker_id
        and action.status == ActionStatus.PENDING,
    )


async def _usernames(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.exec(select(User.id, User.username).where(col(User.id).in_(ids)))
    return dict(rows.all())


async def views_of(
    session: AsyncSession, actions: list[WorkflowAction], viewer: User | None
) -> list[ActionView]:
    names = await _usernames(session, {action.maker_id for action in actions})
    return [_view(action, names.get(action.maker_id, "?"), viewer) for action in actions]


QUEUE_PAGE_SIZE = 50


async def pending_queue(
    *, session: AsyncSession, viewer: User, action_type: str | None, page: int = 1
) -> tuple[list[ActionView], Page]:
    """Oldest first, as a queue is worked; with the page (its total counts all pending for the filter)."""
    filters = ActionFilter(status=ActionStatus.PENDING.value, action_type=action_type)
    found = await list_actions(
        session=session, filters=filters, page=page, limit=QUEUE_PAGE_SIZE, oldest_first=True
    )
    return await views_of(session, found.rows, viewer), found


async def pending_count(*, session: AsyncSession) -> int:
    found = await list_actions(
        session=session, filters=ActionFilter(status=ActionStatus.PENDING.value), page=1, limit=1
    )
    return found.total


async def decided_in_hand(
    *, session: AsyncSession, viewer: User, action_ids: list[uuid.UUID]
) -> list[ActionView]:
    """Rows the viewer is working on that are no longer pending, with who decided them: the queue keeps
    them in place with a note instead of removing them under the viewer's comment."""
    if not action_ids:
        return []
    actions = (
        await session.exec(
            select(WorkflowAction).where(
                col(WorkflowAction.id).in_(action_ids), WorkflowAction.status != ActionStatus.PENDING.value
            )
        )
    ).all()
    names = await _usernames(
        session, {a.maker_id for a in actions} | {a.checker_id for a in actions if a.checker_id}
    )
    return [
        replace(
            _view(action, names.get(action.maker_id, "?"), viewer),
            decided_by=names.get(action.checker_id, "?") if action.checker_id else "the system",
        )
        for action in actions
    ]


async def action_view(*, session: AsyncSession, action: WorkflowAction, viewer: User | None) -> ActionView:
    return (await views_of(session, [action], viewer))[0]


@dataclass(frozen=True)
class ReviewView:
    review: ActionReview
    reviewer_name: str


@dataclass(frozen=True)
class EventView:
    event: AuditEvent
    actor_name: str


async def reviews_and_events(
    *, session: AsyncSession, action_id: uuid.UUID
) -> tuple[list[ReviewView], list[EventView]]:
    reviews = (
        await session.exec(
            select(ActionReview)
            .where(ActionReview.action_id == action_id)
            .order_by(col(ActionReview.created_at))
        )
    ).all()
    events = (
        await session.exec(
            select(AuditEvent).where(AuditEvent.action_id == action_id).order_by(col(AuditEvent.id))
        )
    ).all()
    people = {r.reviewer_id for r in reviews} | {e.actor_id for e in events if e.actor_id}
    names = await _usernames(session, people)
    return (
        [ReviewView(r, names.get(r.reviewer_id, "?")) for r in reviews],
        [EventView(e, names.get(e.actor_id, "system") if e.actor_id else "system") for e in events],
    )


async def makers(*, session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """Everyone who has made an action, for the history filter."""
    rows = await session.exec(
        select(User.id, User.username)
        .where(col(User.id).in_(select(WorkflowAction.maker_id).distinct()))
        .order_by(User.username)
    )
    return list(rows.all())
