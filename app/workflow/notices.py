"""Reads for a maker's own view: which statuses their requests are in, and the notices about them
(requests that left pending other than by their own withdrawal, since a moment)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.models import ActionStatus, AuditEvent, User, WorkflowAction, WorkflowMakerCount
from app.workflow.service import WITHDRAWN_EVENT

ACTIONS = WorkflowAction.__table__
EVENTS = AuditEvent.__table__
MAKER_COUNTS = WorkflowMakerCount.__table__
USERS = User.__table__
MAX_NOTICES = 5
"""Toasts one refresh shows at most; the header's count covers the rest."""

STATUS_GROUPS = {
    "pending": [ActionStatus.PENDING.value],
    "sent back": [ActionStatus.CHANGES_REQUESTED.value],
}
"""How My requests groups statuses; every other status is decided."""


def group_of(status: str) -> str:
    return next((group for group, members in STATUS_GROUPS.items() if status in members), "decided")


async def statuses_of(*, session: AsyncSession, maker_id: uuid.UUID) -> dict[str, int]:
    """The maker's request count per status, only statuses they have (from the counters)."""
    total = func.sum(MAKER_COUNTS.c.n)
    statement = (
        select(MAKER_COUNTS.c.status, total)
        .where(MAKER_COUNTS.c.maker_id == maker_id)
        .group_by(MAKER_COUNTS.c.status)
        .having(total > 0)
    )
    rows = (await (await session.connection()).execute(statement)).all()
    return {status: int(n) for status, n in rows}


def _changed_by_others_since(maker_id: uuid.UUID, since: datetime) -> list[Any]:
    withdrawn = exists().where(EVENTS.c.action_id == ACTIONS.c.id, EVENTS.c.event_type == WITHDRAWN_EVENT)
    return [
        ACTIONS.c.maker_id == maker_id,
        ACTIONS.c.updated_at > since,
        ACTIONS.c.status != ActionStatus.PENDING.value,
        ~withdrawn,
    ]


async def unseen_count(*, session: AsyncSession, maker_id: uuid.UUID, since: datetime) -> int:
    """How many of the maker's requests someone else (or expiry) moved on since `since`."""
    statement = select(func.count()).select_from(ACTIONS).where(*_changed_by_others_since(maker_id, since))
    return int((await (await session.connection()).execute(statement)).scalar_one())


@dataclass(frozen=True)
class Notice:
    action: Any
    label: str
    decided_by: str | None


async def notices_since(*, session: AsyncSession, maker_id: uuid.UUID, since: datetime) -> list[Notice]:
    """The maker's requests someone else moved on after `since`, oldest change first (at most
    MAX_NOTICES, the latest ones), with who decided them."""
    decider = select(USERS.c.username).where(USERS.c.id == ACTIONS.c.checker_id).scalar_subquery()
    statement = (
        select(ACTIONS, decider.label("decided_by"))
        .where(*_changed_by_others_since(maker_id, since))
        .order_by(ACTIONS.c.updated_at.desc())
        .limit(MAX_NOTICES)
    )
    rows = (await (await session.connection()).execute(statement)).all()
    notices = []
    for row in reversed(rows):
        kind = get_action_type(row.action_type)
        notices.append(
            Notice(action=row, label=kind.label if kind else row.action_type, decided_by=row.decided_by)
        )
    return notices
