"""Shared fixtures: one real PostgreSQL for the run, a fresh migrated database, clean tables per test."""

import os
import uuid
from collections.abc import AsyncGenerator, Iterator

import pytest
from litestar.testing import AsyncTestClient
from sqlmodel import SQLModel

from app.db import Database, ensure_database, plain_dsn, run_blocking, start_embedded_postgres, with_database
from app.settings import PROJECT_ROOT, Settings, get_settings
from tests.factories import Actor, make_actor


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _server_url() -> str:
    """The server's URL: DATABASE_URL's server when set, else an embedded one under .data/test."""
    if os.environ.get("DATABASE_URL"):
        return plain_dsn(os.environ["DATABASE_URL"])
    settings = Settings(database_url=None, data_dir=PROJECT_ROOT / ".data" / "test")
    return start_embedded_postgres(settings)


def _drop_database(server_url: str, name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(with_database(server_url, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    run_blocking(drop)


def migrate(url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    command.upgrade(config, revision)


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """A test that changes the environment (monkeypatch) leaves no cached settings behind."""
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def server_url() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def database_url(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database made for this run and migrated to head; dropped at the end.

    DATA_DIR points at a folder of this run, so the mail the app writes there is this run's.
    """
    name = f"mc_test_{uuid.uuid4().hex[:10]}"
    url = ensure_database(server_url, name)
    migrate(url)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    os.environ["DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    # no app started by a test seals the audit chain behind the tests' backs; tests that need a
    # sealer start one themselves
    os.environ["AUDIT_SEAL_INTERVAL"] = "0"
    # nor sends another test's outbox: the long-lived browser servers share this database
    os.environ["MAIL_RETRY_SECONDS"] = "0"
    # nor expires actions: the tests that check expiry set times in the database and sweep themselves
    os.environ["EXPIRY_SWEEP_SECONDS"] = "0"
    get_settings.cache_clear()
    yield url
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    get_settings.cache_clear()
    _drop_database(server_url, name)


def _truncate_sql() -> str:
    tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    return f"TRUNCATE {tables} RESTART IDENTITY CASCADE"


@pytest.fixture
async def db(database_url: str) -> AsyncGenerator[Database, None]:
    """The test database with every table emptied first, so tests do not see each other's rows."""
    database = Database.connect(database_url, pool_size=5)
    async with database.engine.begin() as conn:
        await conn.exec_driver_sql(_truncate_sql())
    yield database
    await database.dispose()


@pytest.fixture
async def client(db: Database) -> AsyncGenerator[AsyncTestClient, None]:
    from app.main import create_app

    async with AsyncTestClient(app=create_app()) as test_client:
        yield test_client


@pytest.fixture
async def maker(db: Database) -> Actor:
    return await make_actor(db, "maker")


@pytest.fixture
async def checker(db: Database) -> Actor:
    return await make_actor(db, "checker")
