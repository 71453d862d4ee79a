"""The bench's database: a fresh one, its users and tokens, the pre-fill, and the end-of-run checks."""

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
    """A scratch database on DATABASE_URL's server when set; else an embedded server in a new DATA_DIR.

    With the embedded server, `serve` is given that DATA_DIR and no DATABASE_URL, so it finds the
    database as it does for `make run`.
    """
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"APP_ENV": "development"}
    if os.environ.get("DATABASE_URL"):
        server = plain_dsn(os.environ["DATABASE_URL"])
        name = f"mc_bench_{uuid.uuid4().hex[:8]}"
        url = ensure_database(server, name)
        data_dir = Path(tempfile.mkdtemp(prefix="mc-bench-"))
        try:
            yield Target(url=url, env=base_env | {"DATABASE_URL": url, "DATA_DIR": str(data_dir)})
        finally:
            _drop(server, name)
            shutil.rmtree(data_dir, ignore_errors=True)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="mc-bench-"))
    try:
        url = start_embedded_postgres(Settings(database_url=None, data_dir=data_dir))
        yield Target(url=url, env=base_env | {"DATA_DIR": str(data_dir)})
    finally:
        _stop_embedded(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


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
