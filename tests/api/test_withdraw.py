"""Withdraw (issue 9 item 4): a maker cancels their own pending action, by
POST /api/workflow/actions/{id}/cancel; anyone else is refused, and so is a decided action."""

import asyncio
import json

import anyio
import asyncpg
import pytest
from sqlalchemy import text

from app.workflow.notify import QUEUE_CHANNEL
from tests.factories import make_actor, promotion_payload, review, submit

pytestmark = pytest.mark.anyio


async def _rows(db, statement: str, **params):
    async with db.engine.begin() as conn:
        return list((await conn.execute(text(statement), params)).all())


async def cancel(client, actor, action_id: str):
    return await client.post(f"/api/workflow/actions/{action_id}/cancel", headers=actor.headers)


async def test_the_maker_withdraws_their_pending_action(client, db, database_url, maker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(QUEUE_CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        response = await cancel(client, maker, action["id"])
        with anyio.fail_after(5):
            signal = json.loads(await received.get())
    finally:
        await listener.close()

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["data"]["status"] == "cancelled"
    assert signal == {"actionId": action["id"], "status": "cancelled", "makerId": maker.id}
    stored = (await client.get(f"/api/workflow/actions/{action['id']}", headers=maker.headers)).json()
    assert stored["data"]["status"] == "cancelled"
    events = await _rows(
        db,
        "SELECT event_type, actor_id::text FROM audit_events WHERE action_id = :id ORDER BY id",
        id=action["id"],
    )
    assert events == [("action_submitted", maker.id), ("action_withdrawn", maker.id)]


async def test_someone_elses_action_cannot_be_withdrawn(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    other_maker = await make_actor(db, "maker")

    for stranger in (other_maker, checker):
        response = await cancel(client, stranger, action["id"])
        assert response.status_code == 403, response.text
        assert response.json() == {"success": False, "error": "Only its maker can withdraw an action"}
    assert await _rows(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action["id"]) == [
        ("pending",)
    ]


@pytest.mark.parametrize("decision", ["approved", "rejected", "withdrawn"])
async def test_an_action_no_longer_pending_cannot_be_withdrawn(client, db, maker, checker, decision):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    if decision == "withdrawn":
        assert (await cancel(client, maker, action["id"])).status_code == 200
    else:
        assert (await review(client, checker, action["id"], decision, comment="no")).status_code == 200

    response = await cancel(client, maker, action["id"])

    assert response.status_code == 409, response.text
    status = "cancelled" if decision == "withdrawn" else decision
    assert response.json()["error"] == f"The action is not pending any more: it is {status}"
    assert await _rows(db, "SELECT count(*) FROM audit_events WHERE event_type = 'action_withdrawn'") == [
        (1 if decision == "withdrawn" else 0,)
    ]


async def test_unknown_and_malformed_ids(client, maker):
    missing = await cancel(client, maker, "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert (await cancel(client, maker, "not-an-id")).status_code == 400
