import asyncio

import pytest
from sqlmodel import col, func, select

from app.models import Account, ActionReview, AuditEvent, User
from app.workflow import service
from tests.factories import (
    account_payload,
    count_in_flight,
    make_actor,
    review,
    same_key_as_before_the_rule,
    scalar,
    submit,
    user_payload,
)

pytestmark = pytest.mark.anyio

REVIEWERS = 20


@pytest.fixture
def in_flight(monkeypatch):
    return count_in_flight(monkeypatch, service, "review_action")


async def test_concurrent_approvals_execute_exactly_once(live_client, db, maker, in_flight):
    checkers = [await make_actor(db, "checker") for _ in range(REVIEWERS)]
    action = await submit(live_client, maker, "create_account", account_payload(maker.id))

    responses = await asyncio.gather(*(review(live_client, checker, action["id"]) for checker in checkers))

    assert in_flight.max > 1, "the reviews did not overlap"
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [200] + [409] * (REVIEWERS - 1)
    winner = checkers[statuses.index(200)]
    for response in responses:
        if response.status_code == 409:
            assert response.json() == {
                "success": False,
                "error": "The action is not pending any more: it is approved",
            }
    assert await scalar(db, select(func.count()).select_from(Account)) == 1
    async with db.sessions() as session:
        reviews = (await session.exec(select(ActionReview))).all()
        approved_events = (
            await session.exec(
                select(AuditEvent).where(
                    col(AuditEvent.action_id) == action["id"], AuditEvent.event_type == "action_approved"
                )
            )
        ).all()
        failures = (
            await session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.event_type == "execution_failed")
            )
        ).one()
    assert [(str(r.action_id), r.reviewer_id, r.decision) for r in reviews] == [
        (action["id"], winner.user.id, "approved")
    ]
    assert len(approved_events) == 1
    assert approved_events[0].actor_id == winner.user.id
    assert failures == 0
    stored = (await live_client.get(f"/api/workflow/actions/{action['id']}", headers=maker.headers)).json()
    assert stored["data"]["status"] == "approved"
    assert stored["data"]["approvals"] == 1
    assert stored["data"]["checkerId"] == winner.id


async def test_concurrent_approve_and_reject_decide_once(live_client, db, maker):
    approvers = [await make_actor(db, "checker") for _ in range(REVIEWERS // 2)]
    rejecters = [await make_actor(db, "checker") for _ in range(REVIEWERS // 2)]
    action = await submit(live_client, maker, "create_user", user_payload())
    calls = [review(live_client, checker, action["id"]) for checker in approvers]
    calls += [review(live_client, checker, action["id"], "rejected", "no") for checker in rejecters]

    responses = await asyncio.gather(*calls)

    assert sorted(response.status_code for response in responses) == [200] + [409] * (REVIEWERS - 1)
    decided = next(response.json()["data"]["action"] for response in responses if response.status_code == 200)
    assert await scalar(db, select(func.count()).select_from(ActionReview)) == 1
    created = await scalar(
        db, select(func.count()).select_from(User).where(User.username == action["payload"]["username"])
    )
    assert created == (1 if decided["status"] == "approved" else 0)


async def test_concurrent_approvals_of_two_actions_for_one_username(live_client, db, maker):
    first_checker, second_checker = await make_actor(db, "checker"), await make_actor(db, "checker")
    first = await submit(live_client, maker, "create_user", user_payload(username="only-one"))
    second = await submit(live_client, maker, "create_user", user_payload())
    await same_key_as_before_the_rule(db, second, username="only-one")

    responses = await asyncio.gather(
        review(live_client, first_checker, first["id"]), review(live_client, second_checker, second["id"])
    )

    assert sorted(response.status_code for response in responses) == [200, 409]
    loser = (first, second)[[response.status_code for response in responses].index(409)]
    refusal = next(response.json() for response in responses if response.status_code == 409)
    assert refusal["success"] is False
    assert refusal["error"].startswith("The action cannot be executed: ")
    assert await scalar(db, select(func.count()).select_from(User).where(User.username == "only-one")) == 1
    stored = (await live_client.get(f"/api/workflow/actions/{loser['id']}", headers=maker.headers)).json()[
        "data"
    ]
    assert stored["status"] == "pending"
    assert stored["approvals"] == 0
    assert stored["error"]
    assert await scalar(db, select(func.count()).select_from(ActionReview)) == 1
