"""Live-update signals: a pg_notify inside the transaction reaches listeners only if it commits."""

import json
import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

QUEUE_CHANNEL = "workflow_queue"


def queue_message(action_id: uuid.UUID, status: str) -> str:
    """The payload of the queue's signal: which action changed, and to what."""
    return json.dumps({"actionId": str(action_id), "status": status})


def queue_signal(action_id: uuid.UUID, status: str) -> Any:
    """The pg_notify call as an expression, to ride along in the statement that changes the action."""
    return func.pg_notify(QUEUE_CHANNEL, queue_message(action_id, status)).label("queue_signal")


async def notify_queue_changed(*, session: AsyncSession, action_id: uuid.UUID, status: str) -> None:
    """Tell every open queue page that an action changed; the payload is a signal, not data."""
    message = json.dumps({"actionId": str(action_id), "status": status})
    await session.exec(select(func.pg_notify(QUEUE_CHANNEL, message)))
