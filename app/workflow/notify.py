"""Live-update signals: a pg_notify inside the transaction reaches listeners only if it commits."""

import json
import uuid

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

QUEUE_CHANNEL = "workflow_queue"


def queue_message(action_id: uuid.UUID, status: str) -> str:
    """The payload of the queue's signal: which action changed, and to what."""
    return json.dumps({"actionId": str(action_id), "status": status})


async def notify_queue_changed(*, session: AsyncSession, action_id: uuid.UUID, status: str) -> None:
    """Tell every open queue page that an action changed; the payload is a signal, not data."""
    await session.exec(select(func.pg_notify(QUEUE_CHANNEL, queue_message(action_id, status))))
