"""A mail server that accepts connections and never answers must not stall anything else.

The outbox rows are claimed in a short committed transaction, sent outside any transaction on the
mail's own threads with a timeout, and the outcome recorded in another short transaction.
"""

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import replace

import anyio
import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from app.mail import deliver_pending, queue_email
from app.models import OutboundEmail
from app.settings import get_settings
from tests.factories import make_actor, user_payload
from tests.servers import AppServer

pytestmark = pytest.mark.anyio

SMTP_TIMEOUT = 3.0


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A loopback port whose connections complete (the kernel's backlog) and then hear nothing."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield listener.getsockname()[1]


async def outbox(db) -> list[OutboundEmail]:
    async with db.sessions() as session:
        return list((await session.exec(select(OutboundEmail))).all())


async def wait_for(predicate, within: float, what: str):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = await predicate()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


async def test_a_stuck_send_holds_no_lock_and_no_open_transaction(db, black_hole):
    async with db.sessions() as session, session.begin():
        queue_email(session=session, to="stuck@example.com", subject="Hello", body="link")
    settings = replace(
        get_settings(),
        smtp_host="127.0.0.1",
        smtp_port=black_hole,
        smtp_starttls=False,
        smtp_timeout=SMTP_TIMEOUT,
    )
    sending = asyncio.create_task(deliver_pending(db, settings))

    async def claimed() -> bool:
        rows = await outbox(db)
        return rows[0].attempts == 1

    # the claim is committed before the mail server is contacted: visible from another connection
    await wait_for(claimed, SMTP_TIMEOUT / 2, "the claim is committed")
    async with db.engine.connect() as conn:
        idle = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        )
        assert idle.scalar_one() == 0
    async with db.engine.begin() as conn:
        locked = await conn.execute(text("SELECT id FROM outbound_emails FOR UPDATE NOWAIT"))
        assert len(locked.all()) == 1  # NOWAIT raises if the sender still held the row

    with anyio.fail_after(SMTP_TIMEOUT + 5):
        assert await sending == 0
    (row,) = await outbox(db)
    assert row.attempts == 1
    assert row.sent_at is None
    assert row.claimed_until is None  # released at once, for the next run to retry
    assert "timed out" in (row.last_error or "")


async def test_approvals_and_health_keep_their_latency_while_mail_is_stuck(db, database_url, black_hole):
    maker = await make_actor(db, "maker")
    checker = await make_actor(db, "checker")
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(black_hole),
        "SMTP_STARTTLS": "false",
        "SMTP_TIMEOUT": str(SMTP_TIMEOUT),
    }
    server = AppServer(database_url, env=env).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            ids = []
            for _ in range(20):
                created = await http.post(
                    "/api/workflow/actions",
                    json={"actionType": "create_user", "payload": user_payload()},
                    headers=maker.headers,
                )
                assert created.status_code == 201, created.text
                ids.append(created.json()["data"]["id"])
            approvals, healths = [], []
            for action_id in ids:
                started = time.monotonic()
                approved = await http.post(
                    f"/api/workflow/actions/{action_id}/review",
                    json={"status": "approved"},
                    headers=checker.headers,
                )
                approvals.append(time.monotonic() - started)
                assert approved.status_code == 200, approved.text
                started = time.monotonic()
                assert (await http.get("/health")).status_code == 200
                healths.append(time.monotonic() - started)
        assert max(approvals) < 2.5, approvals
        assert max(healths) < 1.0, healths

        async def all_attempted_and_failed() -> bool:
            rows = await outbox(db)
            return len(rows) == 20 and all(row.attempts >= 1 and row.last_error for row in rows)

        # 20 messages on the mail's few threads, SMTP_TIMEOUT each: bounded, and recorded
        await wait_for(all_attempted_and_failed, 60, "every message attempted and its failure recorded")
        assert all(row.sent_at is None for row in await outbox(db))
    finally:
        server.stop()


async def test_a_running_app_retries_the_outbox_by_itself(db, monkeypatch):
    from app.main import create_app

    monkeypatch.setenv("MAIL_RETRY_SECONDS", "0.2")
    get_settings.cache_clear()
    app = create_app()

    async def delivered() -> bool:
        rows = await outbox(db)
        return bool(rows) and all(row.sent_at is not None for row in rows)

    async with app.lifespan():
        for address in ("first@example.com", "later@example.com"):
            # queued without any request: only the app's own periodic run can send it
            async with db.sessions() as session, session.begin():
                queue_email(session=session, to=address, subject="Hello", body="link")
            await wait_for(delivered, 10, f"mail to {address} sent by the periodic run")


async def test_an_app_started_with_no_retry_interval_leaves_the_outbox_alone(db, monkeypatch):
    from app.main import create_app

    monkeypatch.setenv("MAIL_RETRY_SECONDS", "0")
    get_settings.cache_clear()
    async with db.sessions() as session, session.begin():
        queue_email(session=session, to="left@example.com", subject="Hello", body="link")
    app = create_app()
    async with app.lifespan():
        # an app with retries on sends this within a moment (the test above); give it as long
        await anyio.sleep(1.0)
    (row,) = await outbox(db)
    assert row.attempts == 0 and row.sent_at is None
