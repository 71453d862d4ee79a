"""Fault tests: the app under a database that drops connections, stops and starts, and a server
killed with SIGKILL. Each works on a database of its own, as its faults end every connection to it."""

import uuid
from collections.abc import AsyncGenerator, Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app.db import Database, ensure_database, with_database
from tests.conftest import _drop_database, migrate


@pytest.fixture
def own_database_url(server_url: str) -> Iterator[str]:
    """A migrated database on the session's server that no other test uses."""
    name = f"mc_fault_{uuid.uuid4().hex[:10]}"
    url = ensure_database(server_url, name)
    migrate(url)
    yield url
    _drop_database(server_url, name)


@pytest.fixture
async def own_db(own_database_url: str) -> AsyncGenerator[Database, None]:
    database = Database.connect(own_database_url, pool_size=2)
    yield database
    await database.dispose()


async def terminate_every_other_backend(database_url: str) -> int:
    """pg_terminate_backend on every backend of the database but this one's; how many ended."""
    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        name = make_url(database_url).database
        return await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()


async def count_other_backends(database_url: str, *, exclude_listeners: bool = False) -> int:
    """Backends connected to the database (a listener that came back excluded when asked)."""
    conn = await asyncpg.connect(with_database(database_url, "postgres"))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
            " AND NOT ($2 AND application_name LIKE 'maker-checker queue listener %')",
            make_url(database_url).database,
            exclude_listeners,
        )
    finally:
        await conn.close()
