"""Concurrent submissions of one key: the database's unique index decides, not a check before the insert."""

import asyncio

import pytest
from sqlalchemy import text

from app.workflow import service
from tests.factories import count_in_flight, make_actor, promotion_payload, user_payload

pytestmark = pytest.mark.anyio

SUBMITTERS = 20
ACTIONS = "/api/workflow/actions"


@pytest.fixture
def in_flight(monkeypatch):
    return count_in_flight(monkeypatch, service, "submit_action")


async def _rows(db, statement: str) -> list:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text(statement))).all())


@pytest.mark.parametrize(
    ("action_type", "payloads"),
    [
        ("create_promotion", lambda n: promotion_payload(code="RACE-CODE", name=f"Try {n}")),
        # each has its own username, all one email (spelt in different cases)
        ("create_user", lambda n: user_payload(email=f"{'RACE' if n % 2 else 'race'}@example.com")),
    ],
    ids=["promotion code", "email"],
)
async def test_concurrent_submissions_of_one_key_make_one_pending_action(
    live_client, db, in_flight, action_type, payloads
):
    makers = [await make_actor(db, "maker") for _ in range(SUBMITTERS)]

    responses = await asyncio.gather(
        *(
            live_client.post(
                ACTIONS, json={"actionType": action_type, "payload": payloads(n)}, headers=maker.headers
            )
            for n, maker in enumerate(makers)
        )
    )

    assert in_flight.max > 1, "the submissions did not overlap"
    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [201] + [409] * (SUBMITTERS - 1), [
        r.text for r in responses if r.status_code >= 500
    ]
    winner = responses[statuses.index(201)].json()["data"]["id"]
    assert {response.json()["pendingActionId"] for response in responses if response.status_code == 409} == {
        winner
    }
    assert await _rows(db, "SELECT id::text FROM workflow_actions") == [(winner,)]
    submitted = await _rows(
        db, "SELECT action_id::text FROM audit_events WHERE event_type = 'action_submitted'"
    )
    assert submitted == [(winner,)]
