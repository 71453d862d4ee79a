"""Updates to existing records on the API (issue 10 items 3 and 4): the diff in the action object
(changes: field, before, after; now and stale on one action), and approval refused as stale (409)
once the record changed since submission, with nothing executed and the refusal audited."""

import pytest

from tests.factories import make_actor, review, submit
from tests.records import make_account, make_promotion, row

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"


async def test_the_action_object_carries_the_diff_in_lists_and_alone(client, db, maker, checker):
    account = await make_account(db, maker.id)
    action = await submit(
        client, maker, "update_account_status", {"accountId": str(account.id), "status": "frozen"}
    )
    expected = [{"field": "status", "before": "active", "after": "frozen"}]
    assert action["changes"] == expected

    listed = (
        await client.get(ACTIONS, params={"actionType": "update_account_status"}, headers=checker.headers)
    ).json()
    assert [item["changes"] for item in listed["data"]] == [expected]

    alone = (await client.get(f"{ACTIONS}/{action['id']}", headers=checker.headers)).json()["data"]
    assert alone["changes"] == [expected[0] | {"now": "active"}]
    assert alone["stale"] is False

    created = await submit(
        client,
        maker,
        "create_promotion",
        {
            "code": "NO-DIFF",
            "name": "n",
            "discountType": "fixed",
            "discountValue": "1",
            "startDate": "2027-01-01",
            "endDate": "2027-02-01",
        },
    )
    assert created["changes"] == []


async def test_update_user_shows_its_diff_too(client, db):
    admin = await make_actor(db, "admin")
    target = await make_actor(db, "maker")
    action = await submit(
        client, admin, "update_user", {"userId": target.id, "fullName": "Ana Nova", "roles": ["maker"]}
    )
    # the roles are what they are already: not a change
    assert action["changes"] == [{"field": "fullName", "before": target.user.full_name, "after": "Ana Nova"}]


async def test_an_approval_after_the_record_changed_is_refused_as_stale_and_changes_nothing(
    client, db, maker, checker
):
    promotion = await make_promotion(db)
    renaming = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "name": "Renamed"}
    )
    extending = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "endDate": "2027-04-30"}
    )
    assert (
        await review(client, checker, renaming["id"])
    ).status_code == 200  # the promotion is now version 2

    other_checker = await make_actor(db, "checker")
    refused = await review(client, other_checker, extending["id"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"].startswith(
        "The action cannot be approved: the promotion changed since this request was submitted"
        " (version 1 then, 2 now)"
    )
    after = await row(db, "SELECT name, end_date, version FROM promotions WHERE id = :id", id=promotion.id)
    assert (after.name, after.end_date.date().isoformat(), after.version) == ("Renamed", "2027-03-31", 2)
    state = await row(
        db, "SELECT status, approvals, error FROM workflow_actions WHERE id = :id", id=extending["id"]
    )
    assert (state.status, state.approvals) == ("pending", 0)
    assert "changed since this request was submitted" in state.error
    reviews = await row(
        db, "SELECT count(*) AS n FROM action_reviews WHERE action_id = :id", id=extending["id"]
    )
    assert reviews.n == 0
    event = await row(
        db,
        "SELECT actor_id, details FROM audit_events"
        " WHERE action_id = :id AND event_type = 'execution_failed'",
        id=extending["id"],
    )
    assert event.actor_id == other_checker.user.id
    assert "changed since this request was submitted" in event.details["reason"]

    # the API object says so, with the values at submission, now and proposed
    alone = (await client.get(f"{ACTIONS}/{extending['id']}", headers=checker.headers)).json()["data"]
    assert alone["stale"] is True
    assert alone["changes"] == [
        {
            "field": "endDate",
            "before": "2027-03-31T00:00:00Z",
            "after": "2027-04-30T00:00:00Z",
            "now": "2027-03-31T00:00:00Z",
        }
    ]

    # sent back and resubmitted, it is a proposal against the promotion as it is now: approvable
    sent_back = await review(
        client, checker, extending["id"], "changes_requested", "The name changed: check again"
    )
    assert sent_back.status_code == 200, sent_back.text
    resubmitted = await client.post(
        f"{ACTIONS}/{extending['id']}/resubmit",
        json={"payload": {"promotionId": str(promotion.id), "endDate": "2027-05-31"}},
        headers=maker.headers,
    )
    assert resubmitted.status_code == 200, resubmitted.text
    assert (
        await row(db, "SELECT record_version FROM workflow_actions WHERE id = :id", id=extending["id"])
    ).record_version == 2
    approved = await review(client, other_checker, extending["id"])
    assert approved.status_code == 200, approved.text
    assert (
        await row(db, "SELECT end_date FROM promotions WHERE id = :id", id=promotion.id)
    ).end_date.date().isoformat() == "2027-05-31"


async def test_a_balance_moving_does_not_make_an_account_update_stale(client, db, maker, checker):
    account = await make_account(db, maker.id)
    action = await submit(
        client, maker, "update_account_status", {"accountId": str(account.id), "status": "frozen"}
    )
    await row(db, "UPDATE accounts SET balance = balance + 10 WHERE id = :id", id=account.id)
    assert (await review(client, checker, action["id"])).status_code == 200
