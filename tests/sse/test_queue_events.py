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


async def _next_of(events, name: str, skipped: list[str] | None = None):
    """The next event named `name`; the names of those before it go to `skipped`. Bounded by the
    caller's fail_after."""
    while (event := await anext(events)).event != name:
        if skipped is not None:
            skipped.append(event.event)
    return event


async def test_a_makers_stream_carries_notices_about_their_own_requests_only(events_server, db):
    maker, other, checker = [await make_actor(db, role) for role in ("maker", "maker", "checker")]
    async with (
        httpx.AsyncClient(base_url=events_server.url, timeout=10) as http,
        aconnect_sse(http, "GET", "/my-requests/events", headers=maker.headers) as stream,
    ):
        assert stream.response.status_code == 200
        events = stream.aiter_sse()
        ids = {}
        for who in (other, maker):
            created = await http.post(
                "/api/workflow/actions",
                json={"actionType": "create_user", "payload": user_payload()},
                headers=who.headers,
            )
            ids[who.id] = created.json()["data"]["id"]
        for action_id in (ids[other.id], ids[maker.id]):  # someone else's decision first: not for this stream
            body = {"status": "rejected", "reviewComment": "no"}
            decided = await http.post(
                f"/api/workflow/actions/{action_id}/review", json=body, headers=checker.headers
            )
            assert decided.status_code == 200
        skipped: list[str] = []
        with anyio.fail_after(5):
            notice = await _next_of(events, "request-decided", skipped)
    # the first notice is about my request, and no queue-changed on this stream (it is not a queue page)
    assert notice.data == ids[maker.id]
    assert "queue-changed" not in skipped


async def test_the_queue_stream_also_carries_its_viewers_notices(events_server, db):
    maker_checker, checker = await make_actor(db, "maker", "checker"), await make_actor(db, "checker")
    async with (
        httpx.AsyncClient(base_url=events_server.url, timeout=10) as http,
        aconnect_sse(http, "GET", "/queue/events", headers=maker_checker.headers) as stream,
    ):
        events = stream.aiter_sse()
        created = await http.post(
            "/api/workflow/actions",
            json={"actionType": "create_user", "payload": user_payload()},
            headers=maker_checker.headers,
        )
        action_id = created.json()["data"]["id"]
        body = {"status": "approved"}
        decided = await http.post(
            f"/api/workflow/actions/{action_id}/review", json=body, headers=checker.headers
        )
        assert decided.status_code == 200
        with anyio.fail_after(5):
            notice = await _next_of(events, "request-decided")
    assert notice.data == action_id
