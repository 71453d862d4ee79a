"""Approving exactly what was seen, under concurrency: the stale check locks the record until the
approval's transaction ends, so an approval that passed it cannot be overtaken. Here one approval
holds the promotion after its check; a second approval of another update to it waits for the
promotion, then finds it changed and is refused as stale, having changed nothing."""

import asyncio
import time
import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from app.errors import StaleRecord
from app.workflow import records, service
from tests.factories import make_actor, submit
from tests.records import make_promotion, row

pytestmark = pytest.mark.anyio


async def _waiting_on_a_lock(db, deadline_seconds: float = 10) -> None:
    """Polls until some other backend waits for a row lock (bounded)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        found = await row(
            db,
            "SELECT count(*) AS n FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        )
        if found.n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the second approval never waited for the promotion")


async def test_an_approval_waits_for_the_record_then_finds_it_changed(client, db, maker):
    promotion = await make_promotion(db)
    first = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "name": "First"}
    )
    second = await submit(
        client, maker, "update_promotion", {"promotionId": str(promotion.id), "name": "Second"}
    )
    checker = await make_actor(db, "checker")

    async with db.sessions() as holding, holding.begin():
        # the first approval has passed its check: it holds the promotion
        first_row = SimpleNamespace(
            action_type="update_promotion", payload=first["payload"], record_version=1
        )
        assert await records.stale_reason(holding, first_row, lock=True) is None

        async def approve_second() -> None:
            # no session.begin(): a refusal rolls back and records itself in a fresh transaction
            async with db.sessions() as session:
                await service.review_action(
                    session=session,
                    action_id=uuid.UUID(second["id"]),
                    reviewer=checker.user,
                    approve=True,
                    comment=None,
                )

        contender = asyncio.create_task(approve_second())
        await _waiting_on_a_lock(db)
        # ... and executes: the promotion's next version
        await holding.exec(
            text("UPDATE promotions SET name = 'First' WHERE id = :id").bindparams(id=promotion.id)
        )

    with pytest.raises(StaleRecord):
        await contender
    after = await row(db, "SELECT name, version FROM promotions WHERE id = :id", id=promotion.id)
    assert (after.name, after.version) == ("First", 2)
    state = await row(db, "SELECT status, approvals FROM workflow_actions WHERE id = :id", id=second["id"])
    assert (state.status, state.approvals) == ("pending", 0)
