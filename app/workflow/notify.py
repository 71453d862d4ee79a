"""Live-update signals: a pg_notify inside the transaction reaches listeners only if it commits."""

import json
import uuid

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

QUEUE_CHANNEL = "workflow_queue"


def queue_message(action_id: uuid.UUID, status: str, maker_id: uuid.UUID) -> str:
    """The payload of the queue's signal: which action changed, to what, and whose it is (so that each
    person's stream can tell the changes to their own requests). Built in SQL too, for bulk updates:
    app.workflow.service._queue_signal_per_row, which must give the same keys."""
    return json.dumps({"actionId": str(action_id), "status": status, "makerId": str(maker_id)})


async def notify_queue_changed(
    *, session: AsyncSession, action_id: uuid.UUID, status: str, maker_id: uuid.UUID
) -> None:
    """Tell every open queue page that an action changed; the payload is a signal, not data."""
    message = queue_message(action_id, status, maker_id)
    await session.exec(select(func.pg_notify(QUEUE_CHANNEL, message)))
