"""close_account (issue 10 item 2): only an account whose balance is exactly zero, checked at
submission and again at execution; its status becomes closed."""

import pytest

from app.actions import REGISTRY
from tests.factories import field_errors, review, submit
from tests.records import make_account, row

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["close_account"]
ACTIONS = "/api/workflow/actions"


def test_the_payload_names_the_account_only():
    assert field_errors(ACTION, {})["accountId"] == "Required"
    assert field_errors(ACTION, {"accountId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "status": "x"}) == {
        "status": "Unknown field"
    }


async def test_closing_a_zero_balance_account(client, db, maker, checker):
    account = await make_account(db, maker.id)
    action = await submit(client, maker, "close_account", {"accountId": str(account.id)})
    assert action["summary"].startswith(f"Close account {account.account_number}")
    assert action["changes"] == [{"field": "status", "before": "active", "after": "closed"}]
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert (await row(db, "SELECT status FROM accounts WHERE id = :id", id=account.id)).status == "closed"
    again = await client.post(
        ACTIONS,
        json={"actionType": "close_account", "payload": {"accountId": str(account.id)}},
        headers=maker.headers,
    )
    assert again.status_code == 400
    assert "already closed" in again.json()["details"][0]["message"]


async def test_a_balance_refuses_the_submission(client, db, maker):
    account = await make_account(db, maker.id, balance="0.01")
    response = await client.post(
        ACTIONS,
        json={"actionType": "close_account", "payload": {"accountId": str(account.id)}},
        headers=maker.headers,
    )
    assert response.status_code == 400, response.text
    [detail] = response.json()["details"]
    assert detail == {
        "field": "accountId",
        "message": f"The account {account.account_number} holds 0.01 EUR: "
        "only an account with a zero balance can be closed",
    }


async def test_a_balance_that_arrived_after_submission_refuses_the_execution(client, db, maker, checker):
    account = await make_account(db, maker.id)
    action = await submit(client, maker, "close_account", {"accountId": str(account.id)})
    # money arrives (a balance is not one of the record's fields: its version stays)
    await row(db, "UPDATE accounts SET balance = 5 WHERE id = :id", id=account.id)
    response = await review(client, checker, action["id"])
    assert response.status_code == 409, response.text
    assert "holds 5.00 EUR" in response.json()["error"]
    after = await row(
        db,
        "SELECT a.status, w.status AS action_status FROM accounts a, workflow_actions w"
        " WHERE a.id = :id AND w.id = :action",
        id=account.id,
        action=action["id"],
    )
    assert (after.status, after.action_status) == ("active", "pending")
