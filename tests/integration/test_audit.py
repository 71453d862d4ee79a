import asyncio
import time

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from app.audit import GENESIS_HASH, chain_hash, event_digest, record_event, run_sealer, seal_pending
from app.db import Database
from app.models import AuditEvent, AuditSeal
from tests.auditing import chain_report, seal_all, tamper
from tests.factories import promotion_payload, review, submit, user_payload

pytestmark = pytest.mark.anyio

WRITERS = 32
DEADLINE = 20.0  # seconds: a bound for waits that succeed at once when the code is right


async def all_events(db) -> list[AuditEvent]:
    async with db.sessions() as session:
        return list((await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all())


async def all_seals(db) -> list[AuditSeal]:
    async with db.sessions() as session:
        return list((await session.exec(select(AuditSeal).order_by(col(AuditSeal.seq)))).all())


async def append(db, event_type: str, **details) -> int:
    async with db.sessions() as session, session.begin():
        return await record_event(session=session, event_type=event_type, actor_id=None, details=details)


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

    await seal_all(db)
    seals = await all_seals(db)
    assert [seal.event_id for seal in seals] == [
        e.id for e in sorted(events, key=lambda e: (e.xact_id, e.id))
    ]
    assert [seal.seq for seal in seals] == list(range(1, len(events) + 1))
    previous = GENESIS_HASH
    for seal in seals:
        assert seal.chain_hash == chain_hash(previous, seal.event_digest)
        previous = seal.chain_hash
    report = await chain_report(db)
    assert (report.ok, report.checked, report.pending) == (True, len(events), 0)
    assert report.head == (len(events), previous)


async def test_the_empty_chain_is_intact(db):
    assert await seal_all(db) == 0
    report = await chain_report(db)
    assert (report.ok, report.checked, report.pending, report.head) == (True, 0, 0, None)


async def test_an_event_is_one_insert_that_records_its_transaction(db):
    async with db.sessions() as session, session.begin():
        event_id = await record_event(session=session, event_type="one", actor_id=None, details={"n": 1})
        xact_id = (await session.exec(select(AuditEvent.xact_id).where(AuditEvent.id == event_id))).one()
        current = (
            await (await session.connection()).execute(text("SELECT pg_current_xact_id()::text::bigint"))
        ).scalar()
    assert xact_id == current
    report = await chain_report(db)
    assert (report.ok, report.checked, report.pending) == (True, 0, 1)  # appended, not yet sealed


@pytest.mark.parametrize(
    ("table", "statement"),
    [
        ("audit_events", "UPDATE audit_events SET details = '{}'::jsonb"),
        ("audit_events", "DELETE FROM audit_events WHERE id = (SELECT min(id) FROM audit_events)"),
        ("audit_seals", "UPDATE audit_seals SET chain_hash = repeat('a', 64)"),
        ("audit_seals", "DELETE FROM audit_seals WHERE seq = 1"),
    ],
)
async def test_the_database_refuses_to_rewrite_history(db, table, statement):
    await append(db, "first", n=1)
    await seal_all(db)
    before = (
        [(e.id, e.details) for e in await all_events(db)],
        [(s.seq, s.chain_hash) for s in await all_seals(db)],
    )

    with pytest.raises(DBAPIError, match=f"{table} is append-only"):
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql(statement)

    assert (
        [(e.id, e.details) for e in await all_events(db)],
        [(s.seq, s.chain_hash) for s in await all_seals(db)],
    ) == before
    assert (await chain_report(db)).ok


async def test_32_writers_append_together_without_waiting_on_each_other(database_url, db):
    """Every writer holds its transaction open until all 32 have inserted: a shared lock would hang it."""
    writers_db = Database.connect(database_url, pool_size=WRITERS)
    all_in_flight = asyncio.Barrier(WRITERS + 1)
    commit = asyncio.Event()

    async def writer(number: int) -> None:
        async with writers_db.sessions() as session, session.begin():
            await record_event(
                session=session, event_type="written", actor_id=None, details={"writer": number}
            )
            await all_in_flight.wait()
            await commit.wait()

    try:
        tasks = [asyncio.create_task(writer(number)) for number in range(WRITERS)]
        await asyncio.wait_for(all_in_flight.wait(), DEADLINE)
        assert await seal_all(db) == 0  # all 32 are in flight: nothing of theirs may be sealed yet
        commit.set()
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
    finally:
        commit.set()
        await writers_db.dispose()

    assert await seal_all(db) == WRITERS
    events = await all_events(db)
    assert len({event.xact_id for event in events}) == WRITERS
    assert sorted(event.details["writer"] for event in events) == list(range(WRITERS))
    report = await chain_report(db)
    assert (report.ok, report.checked, report.pending) == (True, WRITERS, 0)


async def test_an_event_in_flight_with_a_lower_id_is_not_skipped(db):
    """Ids are taken before commit: the first event's id is lower, yet it commits last."""
    async with db.sessions() as early:
        await early.begin()
        first_id = await record_event(session=early, event_type="early", actor_id=None)
        second_id = await asyncio.wait_for(append(db, "late"), DEADLINE)  # not held up by the open one
        assert first_id < second_id

        assert await seal_all(db) == 0  # the open transaction holds the horizon below both events
        assert await all_seals(db) == []
        await early.commit()

    assert await seal_all(db) == 2
    assert [seal.event_id for seal in await all_seals(db)] == [first_id, second_id]
    report = await chain_report(db)
    assert (report.ok, report.checked) == (True, 2)


async def test_an_event_in_flight_with_a_lower_transaction_but_a_higher_id_is_chained_first(db):
    async with db.sessions() as early:
        await early.begin()
        await (await early.connection()).execute(
            text("SELECT pg_current_xact_id()")
        )  # takes its transaction id now
        later_committed_id = await asyncio.wait_for(append(db, "committed first"), DEADLINE)
        early_id = await record_event(session=early, event_type="committed last", actor_id=None)
        assert early_id > later_committed_id
        assert await seal_all(db) == 0
        await early.commit()

    assert await seal_all(db) == 2
    assert [seal.event_id for seal in await all_seals(db)] == [early_id, later_committed_id]
    assert (await chain_report(db)).ok


async def sealed_events(db, count: int = 5) -> list[int]:
    ids = [await append(db, "sealed", n=n) for n in range(count)]
    assert await seal_all(db) == count
    assert (await chain_report(db)).ok
    return ids


async def test_a_changed_event_is_reported(db):
    ids = await sealed_events(db)
    await tamper(db, "audit_events", "UPDATE audit_events SET details = '{\"n\": 99}' WHERE id = $1", ids[2])

    report = await chain_report(db)

    assert report.ok is False
    assert [(p.kind, p.event_id, p.seal_seq) for p in report.problems] == [("event_changed", ids[2], 3)]
    assert report.problems[0].message == f"event {ids[2]} (seal 3) changed"


async def test_a_deleted_event_is_reported(db):
    ids = await sealed_events(db)
    await tamper(db, "audit_events", "DELETE FROM audit_events WHERE id = $1", ids[1])

    report = await chain_report(db)

    assert [(p.kind, p.event_id, p.seal_seq) for p in report.problems] == [("event_deleted", ids[1], 2)]


async def test_an_event_inserted_below_the_horizon_after_sealing_is_reported(db):
    ids = await sealed_events(db)
    events = {event.id: event for event in await all_events(db)}
    # no trigger stands in the way of an INSERT: any writer could try this
    conn = await asyncpg.connect(db.url)
    try:
        forged_id = await conn.fetchval(
            "INSERT INTO audit_events (xact_id, occurred_at, event_type, details) "
            "VALUES ($1, now(), 'forged', '{}') RETURNING id",
            events[ids[1]].xact_id,
        )
    finally:
        await conn.close()
    assert await seal_all(db) == 0  # the sealer never goes back below its last seal

    report = await chain_report(db)

    assert [(p.kind, p.event_id) for p in report.problems] == [("event_inserted", forged_id)]


async def test_a_changed_seal_is_reported(db):
    await sealed_events(db)
    await tamper(db, "audit_seals", "UPDATE audit_seals SET chain_hash = repeat('a', 64) WHERE seq = 3")

    report = await chain_report(db)

    # seal 3 does not follow from seal 2, and seal 4 does not follow from the altered seal 3
    assert [(p.kind, p.seal_seq) for p in report.problems] == [("seal_changed", 3), ("seal_changed", 4)]


async def test_a_removed_seal_is_reported(db):
    ids = await sealed_events(db)
    await tamper(db, "audit_seals", "DELETE FROM audit_seals WHERE seq = 2")

    report = await chain_report(db)

    assert [(p.kind, p.seal_seq, p.event_id) for p in report.problems] == [
        ("seal_removed", 2, None),
        ("event_inserted", None, ids[1]),  # its event is now unsealed below the horizon
    ]


async def test_an_event_rewritten_together_with_its_seal_breaks_the_next_link(db):
    ids = await sealed_events(db)
    await tamper(db, "audit_events", "UPDATE audit_events SET details = '{\"n\": 99}' WHERE id = $1", ids[2])
    conn = await asyncpg.connect(db.url)
    try:
        row = await conn.fetchrow(
            "SELECT id, xact_id, occurred_at, event_type, actor_id, action_id, details::text AS details "
            "FROM audit_events WHERE id = $1",
            ids[2],
        )
        previous = await conn.fetchval("SELECT chain_hash FROM audit_seals WHERE seq = 2")
    finally:
        await conn.close()
    digest = event_digest(row)
    await tamper(
        db,
        "audit_seals",
        "UPDATE audit_seals SET event_digest = $1, chain_hash = $2 WHERE seq = 3",
        digest,
        chain_hash(previous, digest),
    )

    report = await chain_report(db)

    assert [(p.kind, p.seal_seq) for p in report.problems] == [("seal_changed", 4)]


async def test_an_event_left_unsealed_longer_than_the_bound_is_reported(db):
    await sealed_events(db, 2)
    conn = await asyncpg.connect(db.url)
    try:
        stale_id = await conn.fetchval(
            "INSERT INTO audit_events (occurred_at, event_type, details) "
            "VALUES (now() - interval '2 minutes', 'stale', '{}') RETURNING id"
        )
    finally:
        await conn.close()

    assert (await chain_report(db, max_unsealed_seconds=600)).ok
    report = await chain_report(db, max_unsealed_seconds=60)

    assert [(p.kind, p.event_id) for p in report.problems] == [("unsealed_too_long", stale_id)]
    assert report.problems[0].message == f"event {stale_id} unsealed for more than 60 s"


async def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def test_a_sealer_killed_mid_batch_resumes(db):
    for n in range(6):
        await append(db, "event", n=n)
    assert await seal_all(db, batch=3) == 6  # two batches of three
    for n in range(6, 12):
        await append(db, "event", n=n)

    blocker = await asyncpg.connect(db.url)
    sealer = await asyncpg.connect(db.url)
    try:
        # the sealer's INSERT waits on this lock: it is stopped in the middle of its first batch
        await blocker.execute("BEGIN; LOCK TABLE audit_seals IN SHARE MODE")
        task = asyncio.create_task(seal_pending(sealer, 3))
        pid = sealer.get_server_pid()

        async def sealer_waits_on_the_lock() -> bool:
            state = await blocker.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid)
            return state == "Lock"

        await wait_until(sealer_waits_on_the_lock, "the sealer waits inside its batch")
        assert await blocker.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, ConnectionError)):
            await asyncio.wait_for(task, DEADLINE)
        await blocker.execute("ROLLBACK")
    finally:
        await blocker.close()
        sealer.terminate()

    assert len(await all_seals(db)) == 6  # the killed batch left nothing behind
    report = await chain_report(db)
    assert (report.ok, report.checked, report.pending) == (True, 6, 6)

    assert await seal_all(db, batch=3) == 6
    seals = await all_seals(db)
    assert [seal.seq for seal in seals] == list(range(1, 13))
    assert len({seal.event_id for seal in seals}) == 12
    report = await chain_report(db)
    assert (report.ok, report.checked, report.pending) == (True, 12, 0)


async def test_one_sealer_is_elected_among_several(db):
    for n in range(3):
        await append(db, "event", n=n)
    sealers = [asyncio.create_task(run_sealer(db.url, interval=0.05)) for _ in range(3)]
    try:

        async def all_sealed() -> bool:
            return len(await all_seals(db)) == 3

        await wait_until(all_sealed, "the events are sealed")
        conn = await asyncpg.connect(db.url)
        try:
            holders = await conn.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1",
                0x4D43_4153,
            )
        finally:
            await conn.close()
        assert holders == 1
    finally:
        for task in sealers:
            task.cancel()
        await asyncio.gather(*sealers, return_exceptions=True)
    assert (await chain_report(db)).ok


async def test_the_app_seals_in_the_background(db, maker, monkeypatch):
    from litestar.testing import AsyncTestClient

    from app.main import create_app
    from app.settings import get_settings

    monkeypatch.setenv("AUDIT_SEAL_INTERVAL", "0.05")  # the tests' default is no in-app sealer
    get_settings.cache_clear()
    try:
        app = create_app()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    async with AsyncTestClient(app=app) as client:
        await submit(client, maker, "create_user", user_payload())

        async def everything_sealed() -> bool:
            report = await chain_report(db)
            return report.ok and report.pending == 0 and report.checked == len(await all_events(db))

        await wait_until(everything_sealed, "the app's sealer has sealed every event")


async def test_an_app_started_with_a_zero_interval_does_not_seal(client, db, maker):
    await submit(client, maker, "create_user", user_payload())
    report = await chain_report(db)
    assert (report.ok, report.checked) == (True, 0)
    assert report.pending == len(await all_events(db))
