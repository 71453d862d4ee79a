"""update_account_status (issue 10 item 2): a maker proposes freezing or reactivating an account, a
checker approves; a closed account stays closed; the diff says status active → frozen."""

import uuid

import pytest

from app.actions import REGISTRY
from tests.factories import field_errors, review, submit
from tests.records import make_account, row

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["update_account_status"]
ACTIONS = "/api/workflow/actions"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (
            {"accountId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "status": "closed"},
            "status",
            "Choose one of",
        ),
        ({"accountId": "nope", "status": "frozen"}, "accountId", ""),
        ({"status": "frozen"}, "accountId", "Required"),
    ],
)
def test_invalid_payloads_name_the_field(raw, field, message):
    errors = field_errors(ACTION, raw)
    assert errors[field].startswith(message)


async def test_freezing_an_account_stores_the_change_and_its_diff(client, db, maker, checker):
    account = await make_account(db, maker.id)
    action = await submit(
        client, maker, "update_account_status", {"accountId": str(account.id), "status": "frozen"}
    )
    assert action["summary"].startswith(f"Freeze account {account.account_number} (savings, 0.00 EUR")
    assert action["changes"] == [{"field": "status", "before": "active", "after": "frozen"}]
    stored = await row(
        db,
        "SELECT record_ids, record_version, record_before FROM workflow_actions WHERE id = :id",
        id=action["id"],
    )
    assert (stored.record_ids, stored.record_version, stored.record_before) == (
        [account.id],
        1,
        {"status": "active"},
    )
    assert (await row(db, "SELECT status FROM accounts WHERE id = :id", id=account.id)).status == "active"

    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["executionResult"]["status"] == "frozen"
    after = await row(db, "SELECT status, version FROM accounts WHERE id = :id", id=account.id)
    assert (after.status, after.version) == ("frozen", 2)


async def test_submission_refuses_no_change_a_closed_account_and_an_unknown_one(client, db, maker):
    active = await make_account(db, maker.id)
    closed = await make_account(db, maker.id, status="closed")
    for payload, field, message in [
        ({"accountId": str(active.id), "status": "active"}, "status", "is already active"),
        ({"accountId": str(closed.id), "status": "active"}, "accountId", "is closed: it stays closed"),
        ({"accountId": str(uuid.uuid4()), "status": "frozen"}, "accountId", "Choose an existing account"),
    ]:
        response = await client.post(
            ACTIONS, json={"actionType": "update_account_status", "payload": payload}, headers=maker.headers
        )
        assert response.status_code == 400, response.text
        [detail] = response.json()["details"]
        assert detail["field"] == field
        assert message in detail["message"]
