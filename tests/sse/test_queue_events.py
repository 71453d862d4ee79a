"""The queue's event stream, read over real HTTP from a server process: committed changes are signalled."""

from collections.abc import Iterator

import anyio
import httpx
import pytest
from httpx_sse import aconnect_sse

from app.accounts.service import disable_user
from tests.factories import make_actor, user_payload
from tests.servers import AppServer

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def events_server(database_url: str) -> Iterator[AppServer]:
    server = AppServer(database_url).start()
    yield server
    server.stop()


async def test_a_committed_submission_is_signalled_to_listeners(events_server, db):
    maker, checker = await make_actor(db, "maker"), await make_actor(db, "checker")
    async with (
        httpx.AsyncClient(base_url=events_server.url, timeout=10) as http,
        aconnect_sse(http, "GET", "/queue/events", headers=checker.headers) as stream,
    ):
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        events = stream.aiter_sse()
        response = await http.post(
            "/api/workflow/actions",
            json={"actionType": "create_user", "payload": user_payload()},
            headers=maker.headers,
        )
        assert response.status_code == 201
        with anyio.fail_after(5):
            event = await anext(events)
    assert event.event == "queue-changed"


async def test_the_stream_needs_authentication(events_server):
    async with httpx.AsyncClient(base_url=events_server.url, timeout=10) as http:
        response = await http.get("/queue/events")
    assert response.status_code == 401


async def test_the_stream_ends_once_its_user_is_disabled(events_server, db):
    maker, checker = await make_actor(db, "maker"), await make_actor(db, "checker")
    async with (
        httpx.AsyncClient(base_url=events_server.url, timeout=10) as http,
        aconnect_sse(http, "GET", "/queue/events", headers=checker.headers) as stream,
    ):
        events = stream.aiter_sse()
        async with db.sessions() as session, session.begin():
            await disable_user(session=session, username=checker.user.username, via="test")
        response = await http.post(
            "/api/workflow/actions",
            json={"actionType": "create_user", "payload": user_payload()},
            headers=maker.headers,
        )
        assert response.status_code == 201
        with anyio.fail_after(5):
            last = await anext(events)
            remaining = [event async for event in events]
    assert last.event == "session-ended"
    assert remaining == []  # the server closed the stream
