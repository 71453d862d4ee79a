"""`make bench` pre-fills the table by plain SQL: its rows must stay valid actions as the schema evolves."""

import pytest

from bench.prefill import fill_pending

pytestmark = pytest.mark.anyio


async def test_the_prefill_tops_up_pending_actions_that_the_app_lists_and_can_approve(
    client, database_url, maker, checker
):
    assert await fill_pending(database_url, 30, maker.id) == 30
    assert await fill_pending(database_url, 45, maker.id) == 15
    assert await fill_pending(database_url, 45, maker.id) == 0

    listed = await client.get("/api/workflow/actions?status=pending&limit=50", headers=checker.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json()["pagination"]["total"] == 45
    codes = {action["payload"]["code"] for action in listed.json()["data"]}
    assert codes == {f"PREFILL-{n}" for n in range(1, 46)}

    oldest = listed.json()["data"][-1]
    approved = await client.post(
        f"/api/workflow/actions/{oldest['id']}/review", json={"status": "approved"}, headers=checker.headers
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["data"]["executionResult"]["code"] == oldest["payload"]["code"]

    # the prefilled rows hold their codes as a submission would: a second request for one is refused
    duplicate = await client.post(
        "/api/workflow/actions",
        json={"actionType": "create_promotion", "payload": {**oldest["payload"], "code": "prefill-2"}},
        headers=maker.headers,
    )
    assert duplicate.status_code == 409, duplicate.text
