"""A withdrawal racing an approval (issue 9 item 4): exactly one of them wins, every time."""

import asyncio

import pytest
from sqlalchemy import text

from tests.factories import account_payload, make_actor, review, submit

pytestmark = pytest.mark.anyio

ROUNDS = 15


async def test_withdraw_and_approve_never_both_succeed(live_client, db, maker):
    checker = await make_actor(db, "checker")
    for _ in range(ROUNDS):
        action = await submit(live_client, maker, "create_account", account_payload(maker.id))
        withdrawal, approval = await asyncio.gather(
            live_client.post(f"/api/workflow/actions/{action['id']}/cancel", headers=maker.headers),
            review(live_client, checker, action["id"]),
        )
        codes = (withdrawal.status_code, approval.status_code)
        assert sorted(codes) == [200, 409], (withdrawal.text, approval.text)
        async with db.engine.begin() as conn:
            status, accounts, reviews = (
                await conn.execute(
                    text(
                        "SELECT status, (SELECT count(*) FROM accounts WHERE account_number = :number),"
                        " (SELECT count(*) FROM action_reviews WHERE action_id = :id)"
                        " FROM workflow_actions WHERE id = :id"
                    ),
                    {"id": action["id"], "number": action["payload"]["accountNumber"]},
                )
            ).one()
        if withdrawal.status_code == 200:
            assert (status, accounts, reviews) == ("cancelled", 0, 0)
        else:
            assert (status, accounts, reviews) == ("approved", 1, 1)
