"""Prepared statements sent to the driver (app.db.DriverStatement) belong to the session's transaction."""

import uuid

import pytest
from sqlalchemy import text

from app.audit import record_event
from app.db import Database, driver_connection

pytestmark = pytest.mark.anyio


async def _events_of(db: Database, action_type: str) -> int:
    async with db.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM audit_events WHERE event_type = :t"), {"t": action_type}
        )
        return found.scalar_one()


async def test_a_driver_statement_first_in_a_transaction_is_rolled_back_with_it(db: Database):
    # the adapter sends BEGIN with its own first statement: a driver statement sent before any
    # must still be inside the transaction, not autocommitted
    async with db.sessions() as session:
        await session.begin()
        await record_event(session=session, event_type="rolled_back_probe", actor_id=None)
        await session.rollback()
    assert await _events_of(db, "rolled_back_probe") == 0


async def test_a_driver_statement_is_committed_with_the_transaction(db: Database):
    async with db.sessions() as session:
        await session.begin()
        await record_event(session=session, event_type="committed_probe", actor_id=None)
        await session.commit()
    assert await _events_of(db, "committed_probe") == 1


async def test_pending_orm_changes_are_flushed_before_a_driver_statement(db: Database):
    from app.models import User

    async with db.sessions() as session:
        await session.begin()
        user = User(username=f"u{uuid.uuid4().hex[:8]}", email=f"{uuid.uuid4().hex[:8]}@example.com")
        session.add(user)
        connection = await driver_connection(session)
        # the user row exists for the driver's statement: the ORM's pending insert went first
        assert await connection.fetchval("SELECT count(*) FROM users WHERE id = $1", user.id) == 1
        await session.rollback()
