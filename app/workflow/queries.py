"""Reads of the workflow. Nothing here changes state."""

import uuid
from dataclasses import dataclass

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models import WorkflowAction


@dataclass(frozen=True)
class ActionFilter:
    status: str | None = None
    action_type: str | None = None
    maker_id: uuid.UUID | None = None

    def apply(self, statement):  # type: ignore[no-untyped-def]
        if self.status:
            statement = statement.where(WorkflowAction.status == self.status)
        if self.action_type:
            statement = statement.where(WorkflowAction.action_type == self.action_type)
        if self.maker_id:
            statement = statement.where(WorkflowAction.maker_id == self.maker_id)
        return statement


@dataclass(frozen=True)
class Page:
    rows: list[WorkflowAction]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return (self.total + self.limit - 1) // self.limit


async def list_actions(
    *, session: AsyncSession, filters: ActionFilter, page: int, limit: int, oldest_first: bool = False
) -> Page:
    """Newest first (or oldest first, as a queue is worked); the total is counted by SQL."""
    created = col(WorkflowAction.created_at)
    total = (await session.exec(filters.apply(select(func.count()).select_from(WorkflowAction)))).one()
    rows = (
        await session.exec(
            filters.apply(select(WorkflowAction))
            .order_by(created.asc() if oldest_first else created.desc(), col(WorkflowAction.id))
            .offset((page - 1) * limit)
            .limit(limit)
        )
    ).all()
    return Page(rows=list(rows), page=page, limit=limit, total=total)


async def get_action(*, session: AsyncSession, action_id: uuid.UUID) -> WorkflowAction:
    """Raises NotFound."""
    action = await session.get(WorkflowAction, action_id)
    if action is None:
        raise NotFound("No action has this id")
    return action
