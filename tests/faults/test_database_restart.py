"""The database stopped and started under a running server: while it is down, API requests get a
clear 503 in bounded time (no hang, no 500), /ready says not ready while /health stays up, open
queue streams end cleanly (the page reconnects); once it is back, service resumes by itself.

The test runs a PostgreSQL of its own (the session's server is shared by every other test)."""

import atexit
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest
from httpx_sse import aconnect_sse

from app.db import Database, _embedded_servers, start_embedded_postgres
from app.settings import PROJECT_ROOT, Settings
from app.workflow.listener import listener_name
from tests.conftest import migrate
from tests.factories import make_actor, user_payload
from tests.servers import AppServer

pytestmark = pytest.mark.anyio

ANSWER_WITHIN_SECONDS = 8.0
"""A request while the database is down answers within this (connecting is bounded at 5 s)."""
RESUME_WITHIN_SECONDS = 20.0


class OwnPostgres:
    """An embedded PostgreSQL under a test's folder, which the test may stop and start."""

    def __init__(self, data_dir: Path) -> None:
        self.url = start_embedded_postgres(Settings(database_url=None, data_dir=data_dir))
        self.pgdata = data_dir / "pgdata"
        self.server = _embedded_servers[str(self.pgdata)]
        self.socket_dir = self.server.get_postmaster_info().socket_dir

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def start(self) -> None:
        from embedded_postgres._commands import pg_ctl

        options = ["-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.server.log)]
        pg_ctl(["-w", *options, "start"], pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def is_running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    # under the project's .data, as the session's server is: the server's own system user (when
    # the tests run as root) cannot reach pytest's private temporary folders
    data_dir = PROJECT_ROOT / ".data" / f"fault-{uuid.uuid4().hex[:8]}"
    postgres = OwnPostgres(data_dir)
    try:
        migrate(postgres.url)
        yield postgres
    finally:
        if postgres.is_running():
            postgres.stop()
        atexit.unregister(_embedded_servers.pop(str(postgres.pgdata))._cleanup)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def app_server(own_postgres: OwnPostgres, tmp_path: Path) -> Iterator[AppServer]:
    env = {"DATA_DIR": str(tmp_path / "app"), "QUEUE_KEEPALIVE_SECONDS": "1"}
    server = AppServer(own_postgres.url, env=env).start()
    yield server
    server.stop()


async def _timed(http: httpx.AsyncClient, method: str, path: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await http.request(method, path, **kwargs)
    return response, time.monotonic() - started


async def _until_served(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """Poll (bounded) until a list request succeeds again."""
    with anyio.fail_after(RESUME_WITHIN_SECONDS):
        while True:
            if (await http.get("/api/workflow/actions", headers=headers)).status_code == 200:
                return
            await anyio.sleep(0.2)  # polling, bounded by fail_after


def _submission(headers: dict[str, str]) -> dict:
    return {"json": {"actionType": "create_user", "payload": user_payload()}, "headers": headers}


async def test_while_the_database_is_down_requests_get_503_and_service_resumes_once_it_is_back(
    own_postgres, app_server
):
    db = Database.connect(own_postgres.url, pool_size=1)
    try:
        maker, checker = await make_actor(db, "maker"), await make_actor(db, "checker")
    finally:
        await db.dispose()

    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as http:
        assert (await http.get("/ready")).status_code == 200
        async with aconnect_sse(http, "GET", "/queue/events", headers=checker.headers) as stream:
            events = stream.aiter_sse()
            await anyio.to_thread.run_sync(own_postgres.stop)
            with anyio.fail_after(10):
                # the stream ends cleanly (a cut connection would raise), so the page reconnects
                assert [event.event async for event in events if event.event != "keepalive"] == []

        for method, path, kwargs in [
            ("GET", "/api/workflow/actions", {"headers": maker.headers}),
            ("POST", "/api/workflow/actions", _submission(maker.headers)),
            ("GET", "/queue/events", {"headers": checker.headers}),
        ]:
            response, took = await _timed(http, method, path, **kwargs)
            assert response.status_code == 503, (path, response.text)
            assert response.json() == {
                "success": False,
                "error": "The database is unavailable; try again shortly",
            }
            assert response.headers["retry-after"]
            assert took < ANSWER_WITHIN_SECONDS

        page, took = await _timed(http, "GET", "/queue", headers=checker.headers)
        assert page.status_code == 503 and "The database is unavailable" in page.text
        assert took < ANSWER_WITHIN_SECONDS

        ready = await http.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert (await http.get("/health")).status_code == 200  # liveness: the process is fine

        await anyio.to_thread.run_sync(own_postgres.start)
        await _until_served(http, maker.headers)
        assert (await http.post("/api/workflow/actions", **_submission(maker.headers))).status_code == 201
        ready = await http.get("/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"

        # the live queue is back too: its listener reconnected, and a new stream hears a submission
        await _until_listening(own_postgres.url, app_server)
        async with aconnect_sse(http, "GET", "/queue/events", headers=checker.headers) as stream:
            events = stream.aiter_sse()
            assert (await http.post("/api/workflow/actions", **_submission(maker.headers))).status_code == 201
            with anyio.fail_after(5):
                assert "queue-changed" in [event.event async for event in _until_change(events)]


async def _until_change(events):
    async for event in events:
        yield event
        if event.event == "queue-changed":
            return


async def _until_listening(database_url: str, server: AppServer) -> None:
    assert server.process is not None
    conn = await asyncpg.connect(database_url)
    try:
        with anyio.fail_after(RESUME_WITHIN_SECONDS):
            while True:
                query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                if await conn.fetchval(query, listener_name(server.process.pid)):
                    return
                await anyio.sleep(0.1)  # polling, bounded by fail_after
    finally:
        await conn.close()
