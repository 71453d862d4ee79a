"""Bulk review through the JSON API: the pre-check says, for each selected action, whether this checker
may decide it and why not; the decision takes each action in a transaction of its own (a refusal of
one never undoes another), checks a step-up password once before any of them, and records one batch
id in every decided item's audit event."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.models import utcnow
from tests.factories import (
    make_actor,
    promotion_payload,
    review,
    same_key_as_before_the_rule,
    set_policy,
    submit,
)

pytestmark = pytest.mark.anyio

BULK = "/api/workflow/actions/bulk-review"
PASSWORD = "bulk checker secret"


@pytest.fixture
async def bulk_checker(db):
    """A checker who is also a maker, so that an action of their own can be in the batch."""
    return await make_actor(db, "maker", "checker", password=PASSWORD)


async def fetch_rows(db, sql: str, **params):
    async with db.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).all()


async def status_of(db, action_id: str) -> str:
    return (await fetch_rows(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action_id))[0][0]


async def batch_ids_of(db, action_id: str) -> list[str | None]:
    rows = await fetch_rows(
        db,
        "SELECT details->>'batchId' FROM audit_events WHERE action_id = :id"
        " AND event_type IN ('action_approved', 'action_rejected', 'approval_recorded') ORDER BY id",
        id=action_id,
    )
    return [row[0] for row in rows]


async def mixed_batch(client, db, maker, bulk_checker):
    """Actions a batch can mix: two the checker may approve, one of their own, one already decided,
    one asking for a step-up, one expired, and an id of no action."""
    other_checker = await make_actor(db, "checker")
    first = await submit(client, maker, "create_promotion", promotion_payload())
    second = await submit(client, maker, "create_promotion", promotion_payload())
    own = await submit(client, bulk_checker, "create_promotion", promotion_payload())
    decided = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await review(client, other_checker, decided["id"])).status_code == 200
    expired = await submit(client, maker, "create_promotion", promotion_payload())
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE workflow_actions SET expires_at = :t WHERE id = :id"),
            {"t": utcnow() - timedelta(minutes=1), "id": expired["id"]},
        )
    await set_policy(db, "create_promotion", step_up=True)
    stepped = await submit(client, maker, "create_promotion", promotion_payload())
    return {
        "first": first["id"],
        "own": own["id"],
        "decided": decided["id"],
        "stepped": stepped["id"],
        "expired": expired["id"],
        "missing": str(uuid.uuid4()),
        "second": second["id"],
    }


async def test_the_precheck_gives_each_item_allowed_or_its_reason_and_writes_nothing(
    client, db, maker, bulk_checker
):
    ids = await mixed_batch(client, db, maker, bulk_checker)

    response = await client.post(
        f"{BULK}/precheck",
        json={"ids": list(ids.values()), "status": "approved"},
        headers=bulk_checker.headers,
    )

    assert response.status_code == 200, response.text
    items = response.json()["data"]
    assert [item["id"] for item in items] == list(ids.values())
    by_name = dict(zip(ids, items, strict=True))
    assert by_name["first"] == {"id": ids["first"], "allowed": True, "reason": None, "stepUp": False}
    assert by_name["second"]["allowed"] is True
    assert by_name["own"]["reason"] == "You cannot review an action you made"
    assert by_name["decided"]["reason"] == "The action is not pending any more: it is approved"
    assert by_name["expired"]["allowed"] is False and "expired" in by_name["expired"]["reason"]
    assert by_name["missing"]["reason"] == "No action has this id"
    assert by_name["stepped"] == {"id": ids["stepped"], "allowed": True, "reason": None, "stepUp": True}
    # a pre-check does not expire what it finds expired, nor anything else
    assert await status_of(db, ids["expired"]) == "pending"

    rejecting = await client.post(
        f"{BULK}/precheck", json={"ids": [ids["stepped"]], "status": "rejected"}, headers=bulk_checker.headers
    )
    assert rejecting.json()["data"][0]["stepUp"] is False


async def test_a_batch_mixing_allowed_and_refused_items_decides_each_alone_with_one_batch_id(
    client, db, maker, bulk_checker
):
    ids = await mixed_batch(client, db, maker, bulk_checker)

    response = await client.post(
        BULK, json={"ids": list(ids.values()), "status": "approved"}, headers=bulk_checker.headers
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    batch_id = data["batchId"]
    assert uuid.UUID(batch_id)
    results = dict(zip(ids, data["results"], strict=True))
    assert results["first"]["outcome"] == "approved" and results["first"]["statusCode"] == 200
    assert results["second"]["outcome"] == "approved"
    assert results["own"] | {"message": ""} == {
        "id": ids["own"],
        "outcome": "refused",
        "statusCode": 403,
        "message": "",
    }
    assert (results["decided"]["outcome"], results["decided"]["statusCode"]) == ("refused", 409)
    assert (results["expired"]["outcome"], results["expired"]["statusCode"]) == ("refused", 409)
    assert (results["missing"]["outcome"], results["missing"]["statusCode"]) == ("refused", 404)
    # another's step-up without the password: refused alone, the others decided
    assert results["stepped"] == {
        "id": ids["stepped"],
        "outcome": "refused",
        "statusCode": 403,
        "message": "Enter your password to approve",
    }
    assert await status_of(db, ids["first"]) == "approved"
    assert await status_of(db, ids["second"]) == "approved"
    assert await status_of(db, ids["stepped"]) == "pending"
    assert await status_of(db, ids["own"]) == "pending"
    # found past its time, it is expired (and kept so), as a single review does
    assert await status_of(db, ids["expired"]) == "expired"
    assert await batch_ids_of(db, ids["first"]) == [batch_id]
    assert await batch_ids_of(db, ids["second"]) == [batch_id]


async def test_one_refused_execution_does_not_undo_the_items_before_or_after_it(client, db, maker, checker):
    first = await submit(client, maker, "create_promotion", promotion_payload(code="BULK-ONCE"))
    clash = await submit(client, maker, "create_promotion", promotion_payload())
    await same_key_as_before_the_rule(db, clash, code="BULK-ONCE")
    last = await submit(client, maker, "create_promotion", promotion_payload())

    response = await client.post(
        BULK,
        json={"ids": [first["id"], clash["id"], last["id"]], "status": "approved"},
        headers=checker.headers,
    )

    assert response.status_code == 200, response.text
    outcomes = [(item["outcome"], item["statusCode"]) for item in response.json()["data"]["results"]]
    assert outcomes == [("approved", 200), ("refused", 409), ("approved", 200)]
    # the refusal rolled its own transaction back, and only its own: the first approval stands
    assert await status_of(db, first["id"]) == "approved"
    assert await status_of(db, clash["id"]) == "pending"
    assert await status_of(db, last["id"]) == "approved"
    promotions = await fetch_rows(db, "SELECT count(*) FROM promotions WHERE code = 'BULK-ONCE'")
    assert promotions == [(1,)]
    batch = response.json()["data"]["batchId"]
    failed = await fetch_rows(
        db,
        "SELECT details->>'batchId' FROM audit_events"
        " WHERE action_id = :id AND event_type = 'execution_failed'",
        id=clash["id"],
    )
    assert failed == [(batch,)]


async def test_the_right_password_steps_up_every_item_that_asks_and_the_audit_records_it(
    client, db, maker, bulk_checker
):
    plain = await submit(client, maker, "create_promotion", promotion_payload())
    await set_policy(db, "create_promotion", step_up=True)
    stepped = await submit(client, maker, "create_promotion", promotion_payload())

    response = await client.post(
        BULK,
        json={"ids": [plain["id"], stepped["id"]], "status": "approved", "password": PASSWORD},
        headers=bulk_checker.headers,
    )

    assert response.status_code == 200, response.text
    assert [item["outcome"] for item in response.json()["data"]["results"]] == ["approved", "approved"]
    assert PASSWORD not in response.text
    details = await fetch_rows(
        db,
        "SELECT details->>'stepUp', details->>'batchId' FROM audit_events"
        " WHERE action_id = :id AND event_type = 'action_approved'",
        id=stepped["id"],
    )
    assert details == [("true", response.json()["data"]["batchId"])]


async def test_a_wrong_password_decides_nothing_and_counts_as_a_failed_login(client, db, maker, bulk_checker):
    plain = await submit(client, maker, "create_promotion", promotion_payload())
    await set_policy(db, "create_promotion", step_up=True)
    stepped = await submit(client, maker, "create_promotion", promotion_payload())

    response = await client.post(
        BULK,
        json={"ids": [plain["id"], stepped["id"]], "status": "approved", "password": "wrong guess"},
        headers=bulk_checker.headers,
    )

    assert response.status_code == 403, response.text
    assert response.json()["details"] == [{"field": "password", "message": "The password is not right"}]
    assert await status_of(db, plain["id"]) == "pending"
    assert await status_of(db, stepped["id"]) == "pending"
    failed = await fetch_rows(db, "SELECT failed_logins FROM users WHERE id = :id", id=bulk_checker.id)
    assert failed == [(1,)]


async def test_rejecting_all_gives_each_the_one_comment_and_needs_no_password(client, db, maker, checker):
    await set_policy(db, "create_promotion", step_up=True)
    actions = [await submit(client, maker, "create_promotion", promotion_payload()) for _ in range(2)]
    ids = [action["id"] for action in actions]

    refused = await client.post(BULK, json={"ids": ids, "status": "rejected"}, headers=checker.headers)
    assert refused.status_code == 400
    assert refused.json()["details"][0]["field"] == "reviewComment"

    response = await client.post(
        BULK,
        json={"ids": ids, "status": "rejected", "reviewComment": "Not this month"},
        headers=checker.headers,
    )

    assert response.status_code == 200, response.text
    assert [item["outcome"] for item in response.json()["data"]["results"]] == ["rejected", "rejected"]
    comments = await fetch_rows(
        db, "SELECT review_comment FROM workflow_actions WHERE id = ANY(CAST(:ids AS uuid[]))", ids=ids
    )
    assert comments == [("Not this month",), ("Not this month",)]
    assert set(await batch_ids_of(db, ids[0])) == {response.json()["data"]["batchId"]}


async def test_approval_recorded_when_more_approvals_are_needed(client, db, maker, checker):
    await set_policy(db, "create_promotion", required_approvals=2)
    action = await submit(client, maker, "create_promotion", promotion_payload())

    response = await client.post(
        BULK, json={"ids": [action["id"]], "status": "approved"}, headers=checker.headers
    )

    assert response.json()["data"]["results"][0]["outcome"] == "approval_recorded"
    assert await status_of(db, action["id"]) == "pending"


async def test_the_number_of_ids_is_capped_and_empty_or_odd_bodies_are_400(client, checker):
    too_many = [str(uuid.uuid4()) for _ in range(101)]
    for body in (
        {"ids": too_many, "status": "approved"},
        {"ids": [], "status": "approved"},
        {"ids": ["not-a-uuid"], "status": "approved"},
        {"ids": [str(uuid.uuid4())], "status": "changes_requested"},
    ):
        for path in (BULK, f"{BULK}/precheck"):
            response = await client.post(path, json=body, headers=checker.headers)
            assert response.status_code == 400, (path, body, response.text)
            assert response.json()["success"] is False


async def test_a_hundred_ids_are_taken(client, checker):
    ids = [str(uuid.uuid4()) for _ in range(100)]
    response = await client.post(
        f"{BULK}/precheck", json={"ids": ids, "status": "approved"}, headers=checker.headers
    )
    assert response.status_code == 200
    assert len(response.json()["data"]) == 100


async def test_makers_may_not_bulk_review(client, maker):
    body = {"ids": [str(uuid.uuid4())], "status": "approved"}
    for path in (BULK, f"{BULK}/precheck"):
        response = await client.post(path, json=body, headers=maker.headers)
        assert response.status_code == 403, response.text


async def test_an_approved_create_user_in_a_batch_mails_its_activation_link_after_the_answer(
    client, maker, checker
):
    from tests.factories import activation_link, user_payload

    action = await submit(client, maker, "create_user", user_payload(email="bulk.starter@example.com"))

    response = await client.post(
        BULK, json={"ids": [action["id"]], "status": "approved"}, headers=checker.headers
    )

    assert response.json()["data"]["results"][0]["outcome"] == "approved"
    assert "/activate/" in activation_link("bulk.starter@example.com")
