"""A disabled maker's pending actions (issue 8 item 8): disabling cancels them, audited and signalled to
open queues; and a review of an action whose maker is disabled some other way is refused with 409."""

import asyncio
import json

import anyio
import asyncpg
import pytest
from sqlalchemy import text

from app.accounts.service import disable_user
from app.workflow.notify import QUEUE_CHANNEL
from tests.factories import make_actor, promotion_payload, review, submit

pytestmark = pytest.mark.anyio


async def _rows(db, statement: str, **params):
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


async def _status(db, action_id: str) -> str:
    return (await _rows(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action_id))[0][0]


async def test_disabling_a_maker_cancels_their_pending_actions_and_tells_the_queues(
    client, db, database_url, maker, checker
):
    first = await submit(client, maker, "create_promotion", promotion_payload())
    second = await submit(client, maker, "create_promotion", promotion_payload())
    decided = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await review(client, checker, decided["id"])).status_code == 200
    other_maker = await make_actor(db, "maker")
    others = await submit(client, other_maker, "create_promotion", promotion_payload())

    received: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(database_url)
    await listener.add_listener(QUEUE_CHANNEL, lambda *args: received.put_nowait(args[-1]))
    try:
        async with db.sessions() as session, session.begin():
            await disable_user(session=session, username=maker.user.username, via="test")
        with anyio.fail_after(5):
            signals = [json.loads(await received.get()) for _ in range(2)]
    finally:
        await listener.close()

    assert sorted(s["actionId"] for s in signals) == sorted([first["id"], second["id"]])
    assert {s["status"] for s in signals} == {"cancelled"}
    # the bulk UPDATE builds the message in SQL: the same keys as queue_message, makerId included
    assert all(set(s) == {"actionId", "status", "makerId"} for s in signals)
    assert {s["makerId"] for s in signals} == {maker.id}
    assert await _status(db, first["id"]) == "cancelled"
    assert await _status(db, second["id"]) == "cancelled"
    assert await _status(db, decided["id"]) == "approved"
    assert await _status(db, others["id"]) == "pending"
    events = await _rows(
        db,
        "SELECT action_id::text, details->>'reason' FROM audit_events WHERE event_type = 'action_cancelled'",
    )
    assert sorted(events) == sorted(
        [(first["id"], "The maker was disabled"), (second["id"], "The maker was disabled")]
    )

    response = await review(client, checker, first["id"])
    assert response.status_code == 409, response.text
    assert "cancelled" in response.json()["error"]
    assert await _rows(db, "SELECT count(*) FROM action_reviews WHERE action_id = :id", id=first["id"]) == [
        (0,)
    ]


@pytest.mark.parametrize("decision", ["approved", "rejected"])
async def test_a_review_of_an_action_whose_maker_is_disabled_is_a_409(client, db, maker, checker, decision):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    # disabled by a path that does not cancel (a direct update, an older version of the server)
    await _rows(db, "UPDATE users SET is_active = false WHERE id = :id", id=maker.user.id)

    response = await review(client, checker, action["id"], decision, comment="checked")

    assert response.status_code == 409, response.text
    assert response.json()["error"] == "The maker of this action is disabled: it cannot be reviewed"
    assert await _status(db, action["id"]) == "pending"
    assert await _rows(db, "SELECT count(*) FROM promotions") == [(0,)]
    assert await _rows(db, "SELECT count(*) FROM action_reviews") == [(0,)]
