"""The queue's LISTEN connection survives pg_terminate_backend (as a PostgreSQL restart or a
failover would end it): open streams refresh once it is back and hear later changes, and so do
streams opened afterwards."""

from collections.abc import AsyncIterator, Iterator

import anyio
import asyncpg
import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from app.workflow.listener import listener_name
from tests.factories import make_actor, user_payload
from tests.servers import AppServer

pytestmark = pytest.mark.anyio

BACK_WITHIN_SECONDS = 10.0
EVENT_WITHIN_SECONDS = 5.0


@pytest.fixture
def listening_server(database_url: str) -> Iterator[AppServer]:
    # its own server: the test ends this server's listener connection, no other one's
    server = AppServer(database_url, env={"QUEUE_KEEPALIVE_SECONDS": "1"}).start()
    yield server
    server.stop()


async def _listener_pids(database_url: str, server: AppServer) -> list[int]:
    assert server.process is not None
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
            listener_name(server.process.pid),
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def _terminate(database_url: str, pids: list[int]) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for pid in pids:
            assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def _next_change(events: AsyncIterator[ServerSentEvent], within: float) -> ServerSentEvent:
    """The next event that is not a keepalive, within a bounded wait."""
    with anyio.fail_after(within):
        async for event in events:
            if event.event != "keepalive":
                return event
    raise AssertionError("the stream ended")


async def _submit(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post(
        "/api/workflow/actions",
        json={"actionType": "create_user", "payload": user_payload()},
        headers=headers,
    )
    assert response.status_code == 201


async def test_open_and_new_streams_hear_changes_after_the_listener_was_terminated(
    listening_server, db, database_url
):
    maker, checker = await make_actor(db, "maker"), await make_actor(db, "checker")
    first_listener = await _listener_pids(database_url, listening_server)
    assert len(first_listener) == 1, "the server's listener is not named in pg_stat_activity"

    async with (
        httpx.AsyncClient(base_url=listening_server.url, timeout=30) as http,
        aconnect_sse(http, "GET", "/queue/events", headers=checker.headers) as stream,
    ):
        events = stream.aiter_sse()
        await _terminate(database_url, first_listener)

        # once the listener is back, the open stream is told to refresh: it may have missed changes
        refresh = await _next_change(events, within=BACK_WITHIN_SECONDS)
        assert refresh.event == "queue-changed"
        now_listening = await _listener_pids(database_url, listening_server)
        assert len(now_listening) == 1 and now_listening != first_listener

        await _submit(http, maker.headers)
        assert (await _next_change(events, within=EVENT_WITHIN_SECONDS)).event == "queue-changed"

        async with aconnect_sse(http, "GET", "/queue/events", headers=checker.headers) as later:
            later_events = later.aiter_sse()
            await _submit(http, maker.headers)
            assert (await _next_change(later_events, EVENT_WITHIN_SECONDS)).event == "queue-changed"
            assert (await _next_change(events, EVENT_WITHIN_SECONDS)).event == "queue-changed"
