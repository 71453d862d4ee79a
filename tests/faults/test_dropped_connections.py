"""Every connection of the app's database terminated in the middle of a burst of API requests
(pg_terminate_backend, as a failover or an operator does): requests in flight may fail with a
clear 503, never a 500, and every request after it succeeds without a restart."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.factories import make_actor, user_payload
from tests.faults.conftest import count_other_backends, terminate_every_other_backend
from tests.servers import AppServer

pytestmark = pytest.mark.anyio

WORKERS = 8
BEFORE, AFTER = 30, 30
"""Responses counted before the connections are terminated, and after, while the burst goes on."""


@pytest.fixture
def app_server(own_database_url: str, tmp_path) -> Iterator[AppServer]:
    server = AppServer(own_database_url, env={"DATA_DIR": str(tmp_path)}).start()
    yield server
    server.stop()


class Burst:
    """Workers that submit and list until told to stop, keeping every answer."""

    def __init__(self, http: httpx.AsyncClient, maker_headers: dict[str, str]) -> None:
        self.http, self.headers = http, maker_headers
        self.answers: list[httpx.Response] = []
        self.stop = asyncio.Event()
        self.counted = asyncio.Condition()

    async def work(self) -> None:
        while not self.stop.is_set():
            submitted = await self.http.post(
                "/api/workflow/actions",
                json={"actionType": "create_user", "payload": user_payload()},
                headers=self.headers,
            )
            listed = await self.http.get("/api/workflow/actions", headers=self.headers)
            async with self.counted:
                self.answers += [submitted, listed]
                self.counted.notify_all()

    async def wait_for(self, count: int, within: float = 30) -> None:
        async with asyncio.timeout(within), self.counted:
            await self.counted.wait_for(lambda: len(self.answers) >= count)


def _clear_503(response: httpx.Response) -> bool:
    body = response.json()
    return response.status_code == 503 and body["success"] is False and "database" in body["error"]


async def test_requests_succeed_after_every_connection_was_terminated_mid_burst(
    app_server, own_db, own_database_url
):
    maker = await make_actor(own_db, "maker")
    await own_db.dispose()  # the test's own pool is not the app's
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as http:
        burst = Burst(http, maker.headers)
        workers = [asyncio.create_task(burst.work()) for _ in range(WORKERS)]
        try:
            await burst.wait_for(BEFORE)
            assert await terminate_every_other_backend(own_database_url) > 0
            await burst.wait_for(len(burst.answers) + AFTER)
        finally:
            burst.stop.set()
            await asyncio.gather(*workers)

        failed = [r for r in burst.answers if r.status_code >= 400]
        assert all(_clear_503(r) for r in failed), [(r.status_code, r.text[:200]) for r in failed]

        # every request from here on succeeds: no connection found dead fails one, none needs a restart
        after = await asyncio.gather(
            *(http.get("/api/workflow/actions", headers=maker.headers) for _ in range(3 * WORKERS)),
            *(
                http.post(
                    "/api/workflow/actions",
                    json={"actionType": "create_user", "payload": user_payload()},
                    headers=maker.headers,
                )
                for _ in range(WORKERS)
            ),
        )
    assert [r.status_code for r in after] == [200] * 3 * WORKERS + [201] * WORKERS


async def test_no_request_fails_on_a_pooled_connection_terminated_while_idle(
    app_server, own_db, own_database_url
):
    maker = await make_actor(own_db, "maker")
    await own_db.dispose()
    async with httpx.AsyncClient(base_url=app_server.url, timeout=30) as http:
        # fill the pool with connections, then end them all while they idle there
        warm = await asyncio.gather(
            *(http.get("/api/workflow/actions", headers=maker.headers) for _ in range(2 * WORKERS))
        )
        assert {r.status_code for r in warm} == {200}
        assert await terminate_every_other_backend(own_database_url) > 0
        await _until_every_backend_is_gone(own_database_url)

        after = [await http.get("/api/workflow/actions", headers=maker.headers) for _ in range(2 * WORKERS)]
    assert [r.status_code for r in after] == [200] * 2 * WORKERS


async def _until_every_backend_is_gone(database_url: str, within: float = 10) -> None:
    """pg_terminate_backend only signals: wait until the ended backends have left pg_stat_activity."""
    async with asyncio.timeout(within):
        while True:
            if not await count_other_backends(database_url, exclude_listeners=True):
                return
            await asyncio.sleep(0.05)  # polling, bounded by the timeout
