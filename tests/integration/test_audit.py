import asyncio
import itertools

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.audit import GENESIS_HASH, event_hash, record_event, verify_chain
from app.models import AuditEvent, utcnow
from tests.factories import promotion_payload, review, submit, user_payload

pytestmark = pytest.mark.anyio


async def all_events(db) -> list[AuditEvent]:
    async with db.sessions() as session:
        return list((await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all())


async def chain_report(db):
    async with db.sessions() as session:
        return await verify_chain(session)


async def test_submit_approve_and_reject_are_audited_in_an_intact_chain(client, db, maker, checker):
    approved = await submit(client, maker, "create_user", user_payload(username="audited"))
    rejected = await submit(client, maker, "create_promotion", promotion_payload())
    assert (await review(client, checker, approved["id"])).status_code == 200
    assert (await review(client, checker, rejected["id"], "rejected", "Not this quarter")).status_code == 200

    events = await all_events(db)
    workflow = [(e.event_type, e.actor_id, str(e.action_id)) for e in events if e.action_id is not None]
    assert workflow == [
        ("action_submitted", maker.user.id, approved["id"]),
        ("action_submitted", maker.user.id, rejected["id"]),
        ("action_approved", checker.user.id, approved["id"]),
        ("action_rejected", checker.user.id, rejected["id"]),
    ]
    by_type = {e.event_type: e for e in events if e.action_id is not None}
    assert by_type["action_submitted"].details["actionType"] == "create_promotion"
    assert by_type["action_approved"].details["result"]["username"] == "audited"
    assert "activationUrl" not in str(by_type["action_approved"].details)  # the secret is never stored
    assert by_type["action_rejected"].details == {"comment": "Not this quarter"}

    assert events[0].prev_hash == GENESIS_HASH
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    assert all(event.hash == event_hash(event) for event in events)
    report = await chain_report(db)
    assert report.ok
    assert report.checked == len(events)
    assert report.bad_event_id is None


async def test_the_empty_chain_is_intact(db):
    report = await chain_report(db)
    assert (report.ok, report.checked) == (True, 0)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET details = '{}'::jsonb",
        "UPDATE audit_events SET event_type = 'nothing' WHERE id = (SELECT max(id) FROM audit_events)",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE id = (SELECT min(id) FROM audit_events)",
    ],
)
async def test_the_database_refuses_to_rewrite_history(client, db, maker, statement):
    await submit(client, maker, "create_user", user_payload())
    before = [(e.id, e.event_type, e.details, e.hash) for e in await all_events(db)]
    assert before

    with pytest.raises(DBAPIError, match="append-only"):
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(statement)

    assert [(e.id, e.event_type, e.details, e.hash) for e in await all_events(db)] == before
    assert (await chain_report(db)).ok


async def test_a_forged_event_with_a_wrong_hash_is_reported(client, db, maker):
    await submit(client, maker, "create_user", user_payload())
    last = (await all_events(db))[-1]
    async with db.sessions() as session, session.begin():
        forged = AuditEvent(
            occurred_at=utcnow(),
            event_type="action_approved",
            actor_id=maker.user.id,
            details={"forged": True},
            prev_hash=last.hash,
            hash="f" * 64,
        )
        session.add(forged)
        await session.flush()
        forged_id = forged.id

    report = await chain_report(db)

    assert report.ok is False
    assert report.bad_event_id == forged_id
    assert report.reason == "content does not match its hash"
    assert report.checked == forged_id - 1


async def test_a_forged_event_that_skips_the_chain_is_reported(client, db, maker):
    await submit(client, maker, "create_user", user_payload())
    async with db.sessions() as session, session.begin():
        forged = AuditEvent(
            occurred_at=utcnow(),
            event_type="user_created_by_system",
            actor_id=None,
            details={},
            prev_hash=GENESIS_HASH,  # pretends to follow nothing
            hash="",
        )
        forged.hash = event_hash(forged)  # self-consistent, but not linked to the previous event
        session.add(forged)
        await session.flush()
        forged_id = forged.id

    report = await chain_report(db)

    assert report.ok is False
    assert report.bad_event_id == forged_id
    assert report.reason == "prev_hash does not match the previous event"


async def test_events_appended_after_a_forgery_do_not_hide_it(client, db, maker):
    async with db.sessions() as session, session.begin():
        await record_event(session=session, event_type="first", actor_id=None)
        forged = AuditEvent(
            occurred_at=utcnow(), event_type="forged", details={}, prev_hash="0" * 64, hash="e" * 64
        )
        session.add(forged)
        await session.flush()
        forged_id = forged.id
    await submit(client, maker, "create_user", user_payload())  # appended on top of the forged hash

    report = await chain_report(db)

    assert (report.ok, report.bad_event_id) == (False, forged_id)


async def test_concurrent_appends_keep_one_chain(live_client, db, maker):
    responses = await asyncio.gather(
        *(
            live_client.post(
                "/api/workflow/actions",
                json={"actionType": "create_promotion", "payload": promotion_payload()},
                headers=maker.headers,
            )
            for _ in range(15)
        )
    )
    assert [response.status_code for response in responses] == [201] * 15
    events = await all_events(db)
    assert len({event.prev_hash for event in events}) == len(events)  # no fork: every hash is followed once
    report = await chain_report(db)
    assert report.ok
    assert report.checked == len(events)
