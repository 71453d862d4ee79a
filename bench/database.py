"""The bench's database: a fresh one, its users and tokens, the pre-fill, and the end-of-run checks."""

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from app.db import Database, ensure_database, plain_dsn, start_embedded_postgres, with_database
from app.settings import Settings

PASSWORD = "bench-password-1234"


@dataclass(frozen=True)
class Target:
    """Where the bench runs: the database's URL, and the environment `maker-checker` needs to use it."""

    url: str
    env: dict[str, str]


@contextmanager
def fresh_database() -> Iterator[Target]:
    """A scratch database on DATABASE_URL's server when set; else an embedded server in a new DATA_DIR."""
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"APP_ENV": "development"}
    data_dir = Path(tempfile.mkdtemp(prefix="mc-bench-"))
    # registered first, so it runs after embedded-postgres's own exit handler, which writes in DATA_DIR
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    env = base_env | {"DATA_DIR": str(data_dir)}
    try:
        if os.environ.get("DATABASE_URL"):
            with _scratch_database(plain_dsn(os.environ["DATABASE_URL"])) as url:
                yield Target(url=url, env=env | {"DATABASE_URL": url})
        else:
            with _embedded_server(data_dir) as url:
                # no DATABASE_URL: `serve` finds the server in DATA_DIR, as it does for `make run`
                yield Target(url=url, env=env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _scratch_database(server: str) -> Iterator[str]:
    name = f"mc_bench_{uuid.uuid4().hex[:8]}"
    try:
        yield ensure_database(server, name)
    finally:
        _drop(server, name)


@contextmanager
def _embedded_server(data_dir: Path) -> Iterator[str]:
    try:
        yield start_embedded_postgres(Settings(database_url=None, data_dir=data_dir))
    finally:
        _stop_embedded(data_dir)


def _drop(server: str, name: str) -> None:
    import asyncio

    async def drop() -> None:
        conn = await asyncpg.connect(with_database(server, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def _stop_embedded(data_dir: Path) -> None:
    from app import db

    server = db._embedded_servers.pop(str(data_dir / "pgdata"), None)
    if server is not None:
        server.cleanup()  # stops it: this process is its last user once `serve` has exited


@dataclass(frozen=True)
class People:
    maker_ids: list[str]
    maker_tokens: list[str]
    checker_tokens: list[str]
    checker_usernames: list[str]


async def create_people(url: str, count: int) -> People:
    """`count` makers and checkers with API tokens, by the app's services; checkers log in with PASSWORD."""
    from app.accounts.service import create_user_directly
    from app.accounts.tokens import issue_api_token

    db = Database.connect(url, pool_size=1)
    people = People([], [], [], [])
    try:
        async with db.sessions() as session, session.begin():
            for role, i in [(role, i) for role in ("maker", "checker") for i in range(count)]:
                username = f"bench-{role}-{i}"
                user = await create_user_directly(
                    session=session,
                    username=username,
                    email=f"{username}@bench.example",
                    roles=[role],
                    full_name=f"Bench {role.title()} {i}",
                    password=PASSWORD if role == "checker" else None,
                    via="bench",
                )
                token = await issue_api_token(session=session, user=user, name="bench")
                if role == "maker":
                    people.maker_ids.append(str(user.id))
                    people.maker_tokens.append(token)
                else:
                    people.checker_usernames.append(username)
                    people.checker_tokens.append(token)
    finally:
        await db.dispose()
    return people
