"""Live-update signals are sent inside the transaction: only committed changes reach listeners."""

import asyncio
import json
import uuid

import anyio
import asyncpg
import pytest

from app.workflow.notify import QUEUE_CHANNEL, notify_queue_changed

pytestmark = pytest.mark.anyio


async def test_only_committed_changes_are_signalled(db, database_url):
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(QUEUE_CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        rolled_back, committed, maker_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with db.sessions() as session:
            await session.begin()
            await notify_queue_changed(
                session=session, action_id=rolled_back, status="pending", maker_id=maker_id
            )
            await session.rollback()
        async with db.sessions() as session, session.begin():
            await notify_queue_changed(
                session=session, action_id=committed, status="pending", maker_id=maker_id
            )

        with anyio.fail_after(5):
            first = json.loads(await received.get())
    finally:
        await listener.close()
    # notifications arrive in commit order: had the rolled-back one been sent, it would be first
    assert first == {"actionId": str(committed), "status": "pending", "makerId": str(maker_id)}
    assert received.empty()
