"""Rule 4: when current data refuses an approved operation nothing changes but the record of the attempt."""

import dataclasses
import uuid

import pytest
from sqlmodel import col, func, select, update

from app.actions import REGISTRY
from app.actions.base import ActionRefused
from app.models import ActionReview, AuditEvent, Promotion, User, WorkflowAction
from tests.auditing import chain_report, seal_all
from tests.factories import (
    make_actor,
    promotion_payload,
    review,
    same_key_as_before_the_rule,
    submit,
    user_payload,
)

pytestmark = pytest.mark.anyio


async def events_of(db, action_id: str) -> list[AuditEvent]:
    async with db.sessions() as session:
        rows = await session.exec(
            select(AuditEvent)
            .where(AuditEvent.action_id == uuid.UUID(action_id))
            .order_by(col(AuditEvent.id))
        )
        return list(rows.all())


async def reviews_of(db, action_id: str) -> int:
    async with db.sessions() as session:
        statement = (
            select(func.count())
            .select_from(ActionReview)
            .where(ActionReview.action_id == uuid.UUID(action_id))
        )
        return (await session.exec(statement)).one()


async def fetch(client, actor, action_id: str) -> dict:
    response = await client.get(f"/api/workflow/actions/{action_id}", headers=actor.headers)
    assert response.status_code == 200
    return response.json()["data"]


async def test_username_taken_since_submission(client, db, maker, checker):
    first = await submit(client, maker, "create_user", user_payload(username="dupe"))
    second = await submit(client, maker, "create_user", user_payload())
    await same_key_as_before_the_rule(db, second, username="dupe")
    assert (await review(client, checker, first["id"])).status_code == 200

    response = await review(client, checker, second["id"], "approved", "fine by me")

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "The action cannot be executed: The username dupe is already taken",
    }
    stored = await fetch(client, maker, second["id"])
    assert stored["status"] == "pending"
    assert stored["approvals"] == 0
    assert stored["checkerId"] is None
    assert stored["reviewedAt"] is None
    assert stored["reviewComment"] is None
    assert stored["executionResult"] is None
    assert stored["error"] == "The username dupe is already taken"
    async with db.sessions() as session:
        assert (
            await session.exec(select(func.count()).select_from(User).where(User.username == "dupe"))
        ).one() == 1
    assert await reviews_of(db, second["id"]) == 0
    events = await events_of(db, second["id"])
    assert [event.event_type for event in events] == ["action_submitted", "execution_failed"]
    assert events[1].actor_id == checker.user.id
    assert events[1].details == {"reason": "The username dupe is already taken"}
    await seal_all(db)  # what the app's background sealer has not sealed yet
    report = await chain_report(db)
    assert report.ok
    assert report.pending == 0


async def test_a_refused_action_can_be_retried_and_then_rejected(client, db, maker, checker):
    other_checker = await make_actor(db, "checker")
    first = await submit(client, maker, "create_user", user_payload(username="twice"))
    second = await submit(client, maker, "create_user", user_payload())
    await same_key_as_before_the_rule(db, second, username="twice")
    assert (await review(client, checker, first["id"])).status_code == 200
    assert (await review(client, checker, second["id"])).status_code == 409
    # the refusal left no review behind, so the same checker may try again; it is refused again
    assert (await review(client, checker, second["id"])).status_code == 409
    response = await review(client, other_checker, second["id"], "rejected", "Username already taken")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["action"]["status"] == "rejected"
    assert [event.event_type for event in await events_of(db, second["id"])] == [
        "action_submitted",
        "execution_failed",
        "execution_failed",
        "action_rejected",
    ]


async def test_a_refusal_inside_apply_rolls_back_its_partial_effects(client, db, maker, checker, monkeypatch):
    real = REGISTRY["create_promotion"]

    async def apply_then_refuse(ctx, payload):
        await real.apply(ctx, payload)  # the promotion row is flushed...
        raise ActionRefused("Budget exhausted", field="discountValue")  # ...then the operation is refused

    monkeypatch.setitem(REGISTRY, "create_promotion", dataclasses.replace(real, apply=apply_then_refuse))
    action = await submit(client, maker, "create_promotion", promotion_payload())

    response = await review(client, checker, action["id"])

    assert response.status_code == 409
    assert response.json() == {"success": False, "error": "The action cannot be executed: Budget exhausted"}
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Promotion))).one() == 0
    stored = await fetch(client, maker, action["id"])
    assert (stored["status"], stored["approvals"], stored["error"]) == ("pending", 0, "Budget exhausted")
    assert await reviews_of(db, action["id"]) == 0


async def test_a_unique_violation_at_execution_is_a_409_not_a_500(client, db, maker, checker, monkeypatch):
    """As when a concurrent transaction creates the same username after the pre-check passed."""
    real = REGISTRY["create_user"]

    async def no_conflicts(session, payload):
        return {}

    first = await submit(client, maker, "create_user", user_payload(username="racer"))
    second = await submit(client, maker, "create_user", user_payload())
    await same_key_as_before_the_rule(db, second, username="racer")
    assert (await review(client, checker, first["id"])).status_code == 200
    monkeypatch.setitem(REGISTRY, "create_user", dataclasses.replace(real, check_current_data=no_conflicts))

    response = await review(client, checker, second["id"])

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "The action cannot be executed: a conflicting record was created at the same time",
    }
    stored = await fetch(client, maker, second["id"])
    assert (stored["status"], stored["approvals"]) == ("pending", 0)
    assert stored["error"] == "a conflicting record was created at the same time"
    assert await reviews_of(db, second["id"]) == 0
    assert [event.event_type for event in await events_of(db, second["id"])][-1] == "execution_failed"


async def test_a_stored_payload_no_longer_valid_is_refused(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    async with db.sessions() as session, session.begin():
        await session.exec(
            update(WorkflowAction)
            .where(WorkflowAction.id == uuid.UUID(action["id"]))
            .values(payload={"code": "X"})
        )

    response = await review(client, checker, action["id"])

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "The action cannot be executed: its stored details are no longer valid",
    }
    stored = await fetch(client, maker, action["id"])
    assert stored["status"] == "pending"
    assert stored["summary"] == action["summary"]  # stored at submission, not rebuilt from the payload
    assert await reviews_of(db, action["id"]) == 0
