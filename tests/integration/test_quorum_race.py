"""N-of-M under concurrency: many approvals at once execute an action exactly once, on its N-th
approval, and one person's concurrent approvals count once."""

import asyncio

import pytest
from sqlmodel import col, func, select

from app.models import ActionReview, AuditEvent, Promotion, WorkflowAction
from app.workflow import service
from tests.factories import count_in_flight, make_actor, promotion_payload, review, scalar, set_policy, submit

pytestmark = pytest.mark.anyio

REVIEWERS = 12


@pytest.fixture
def in_flight(monkeypatch):
    return count_in_flight(monkeypatch, service, "review_action")


async def events(db, action_id: str, event_type: str) -> int:
    return await scalar(
        db,
        select(func.count())
        .select_from(AuditEvent)
        .where(col(AuditEvent.action_id) == action_id, AuditEvent.event_type == event_type),
    )


@pytest.mark.parametrize("required", [2, 3])
async def test_many_concurrent_approvals_execute_once_on_the_nth(live_client, db, maker, in_flight, required):
    checkers = [await make_actor(db, "checker") for _ in range(REVIEWERS)]
    await set_policy(db, "create_promotion", required_approvals=required)
    action = await submit(live_client, maker, "create_promotion", promotion_payload())
    assert action["requiredApprovals"] == required

    responses = await asyncio.gather(*(review(live_client, checker, action["id"]) for checker in checkers))

    assert in_flight.max > 1, "the reviews did not overlap"
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [200] * required + [409] * (REVIEWERS - required)
    messages = sorted(r.json()["message"] for r in responses if r.status_code == 200)
    assert messages == ["Action approved and executed"] + ["Approval recorded; more approvals are needed"] * (
        required - 1
    )
    assert await scalar(db, select(func.count()).select_from(Promotion)) == 1
    assert await scalar(db, select(func.count(col(ActionReview.reviewer_id).distinct()))) == required
    assert await scalar(db, select(func.count()).select_from(ActionReview)) == required
    assert await events(db, action["id"], "action_approved") == 1
    assert await events(db, action["id"], "approval_recorded") == required - 1
    assert await events(db, action["id"], "execution_failed") == 0
    stored = await scalar(db, select(WorkflowAction).where(col(WorkflowAction.id) == action["id"]))
    assert (stored.status, stored.approvals, stored.error) == ("approved", required, None)
    winners = {checkers[i].user.id for i, status in enumerate(statuses) if status == 200}
    assert set(await db_reviewers(db, action["id"])) == winners


async def db_reviewers(db, action_id: str) -> list:
    async with db.sessions() as session:
        return list(
            (
                await session.exec(
                    select(ActionReview.reviewer_id).where(col(ActionReview.action_id) == action_id)
                )
            ).all()
        )


@pytest.mark.parametrize("required", [2, 3])
async def test_one_persons_concurrent_approvals_count_once(live_client, db, maker, in_flight, required):
    checker = await make_actor(db, "checker")
    for _ in range(required):
        await make_actor(db, "checker")
    await set_policy(db, "create_promotion", required_approvals=required)
    action = await submit(live_client, maker, "create_promotion", promotion_payload())

    responses = await asyncio.gather(*(review(live_client, checker, action["id"]) for _ in range(REVIEWERS)))

    assert in_flight.max > 1, "the reviews did not overlap"
    assert sorted(r.status_code for r in responses) == [200] + [409] * (REVIEWERS - 1)
    refusals = {r.json()["error"] for r in responses if r.status_code == 409}
    assert refusals == {"You have already reviewed this action"}
    assert await db_reviewers(db, action["id"]) == [checker.user.id]
    stored = await scalar(db, select(WorkflowAction).where(col(WorkflowAction.id) == action["id"]))
    # still waiting for others; nothing recorded as a failed execution
    assert (stored.status, stored.approvals, stored.error) == ("pending", 1, None)
    assert await events(db, action["id"], "execution_failed") == 0
    assert await scalar(db, select(func.count()).select_from(Promotion)) == 0


async def test_concurrent_approvals_and_a_rejection_decide_once(live_client, db, maker):
    approvers = [await make_actor(db, "checker") for _ in range(REVIEWERS)]
    rejecter = await make_actor(db, "checker")
    await set_policy(db, "create_promotion", required_approvals=3)
    action = await submit(live_client, maker, "create_promotion", promotion_payload())
    calls = [review(live_client, checker, action["id"]) for checker in approvers]
    calls.insert(REVIEWERS // 2, review(live_client, rejecter, action["id"], "rejected", "no"))

    responses = await asyncio.gather(*calls)

    stored = await scalar(db, select(WorkflowAction).where(col(WorkflowAction.id) == action["id"]))
    promotions = await scalar(db, select(func.count()).select_from(Promotion))
    successes = sum(1 for r in responses if r.status_code == 200)
    assert {r.status_code for r in responses} <= {200, 409}
    if stored.status == "approved":
        assert (promotions, stored.approvals, successes) == (1, 3, 3)
    else:
        assert stored.status == "rejected"
        assert promotions == 0
        assert successes == stored.approvals + 1
    assert await scalar(db, select(func.count()).select_from(ActionReview)) == successes
