"""Shared by the attack tests: one real server process for the folder, and users made from synchronous
code (schemathesis and hypothesis drive synchronous tests)."""

from collections.abc import Iterator

import pytest

from app.db import Database, run_blocking
from tests.factories import Actor, make_actor
from tests.servers import AppServer


@pytest.fixture(scope="package")
def attack_server(database_url: str) -> Iterator[AppServer]:
    server = AppServer(database_url).start()
    yield server
    server.stop()


def actor_now(database_url: str, *roles: str) -> Actor:
    """make_actor, from a synchronous test or fixture (schemathesis and hypothesis tests are synchronous)."""

    async def make() -> Actor:
        db = Database.connect(database_url, pool_size=1)
        try:
            return await make_actor(db, *roles)
        finally:
            await db.dispose()

    return run_blocking(make)
