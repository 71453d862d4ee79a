"""The queue's listener connection, in process: lost, it is logged, retried with bounded backoff
while the database refuses, and once back every subscribed channel is told to refresh."""

import logging
from itertools import islice, pairwise

import anyio
import asyncpg
import pytest

from app.workflow.listener import RECONNECTED, ReconnectingChannelsBackend, listener_name, retry_delays
from app.workflow.notify import QUEUE_CHANNEL

pytestmark = pytest.mark.anyio

REFUSALS = 3


def test_retries_back_off_from_a_tenth_of_a_second_to_at_most_five():
    assert list(islice(retry_delays(), 9)) == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]


async def _terminate_listener(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        ended = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            listener_name(),
        )
    finally:
        await conn.close()
    assert ended == 1


async def test_a_lost_listener_is_logged_retried_and_refreshes_its_channels(database_url, caplog):
    backend = ReconnectingChannelsBackend(database_url)
    connect, attempts = backend._connect, []

    async def refusing_at_first() -> asyncpg.Connection:
        # after the loss, the database refuses a few attempts, as one that is restarting does
        attempts.append(anyio.current_time())
        if 1 < len(attempts) <= 1 + REFUSALS:
            raise ConnectionRefusedError("the database is restarting")
        return await connect()

    backend._connect = refusing_at_first
    caplog.set_level(logging.INFO, logger="app.workflow.listener")
    await backend.on_startup()
    try:
        await backend.subscribe([QUEUE_CHANNEL])
        events = backend.stream_events()
        await _terminate_listener(database_url)

        with anyio.fail_after(10):
            assert await anext(events) == (QUEUE_CHANNEL, RECONNECTED)
        notifier = await asyncpg.connect(database_url)
        try:
            await notifier.execute("SELECT pg_notify($1, 'after')", QUEUE_CHANNEL)
        finally:
            await notifier.close()
        with anyio.fail_after(5):
            assert await anext(events) == (QUEUE_CHANNEL, b"after")
    finally:
        await backend.on_shutdown()

    assert len(attempts) == 2 + REFUSALS
    waits = [later - earlier for earlier, later in pairwise(attempts[1:])]
    assert all(wait >= 0.09 for wait in waits) and waits == sorted(waits)  # backing off
    messages = [(record.levelno, record.getMessage()) for record in caplog.records]
    assert (logging.WARNING, "queue listener: lost its database connection; reconnecting") in messages
    assert any(level == logging.INFO and "reconnected" in text for level, text in messages)


async def test_a_server_starting_before_its_database_listens_once_it_is_up(database_url):
    backend = ReconnectingChannelsBackend(database_url)
    connect, refused = backend._connect, []

    async def down_at_first() -> asyncpg.Connection:
        if not refused:
            refused.append(True)
            raise ConnectionRefusedError("not up yet")
        return await connect()

    backend._connect = down_at_first
    await backend.on_startup()  # does not raise: the server serves, the listener keeps trying
    try:
        await backend.subscribe([QUEUE_CHANNEL])
        events = backend.stream_events()
        with anyio.fail_after(5):
            assert await anext(events) == (QUEUE_CHANNEL, RECONNECTED)
        assert backend.connected
    finally:
        await backend.on_shutdown()
