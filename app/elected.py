"""Background work that one process at a time does (sealing the audit chain, expiring actions).

Every process runs a candidate; the one holding a session-level advisory lock on its own dedicated
connection does the work. When that process or its connection dies, the lock goes with it and
another candidate takes over at its next try.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import asyncpg

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ElectedJob:
    name: str
    """How the logs name it ("audit sealer")."""
    election_key: int
    """The advisory lock whose holder does the work."""
    elected_message: str
    """Logged once when this process becomes the one doing it."""
    work: Callable[[asyncpg.Connection], Awaitable[None]]
    """One round of the work, on the elected connection."""


async def _work_while_elected(conn: asyncpg.Connection, job: ElectedJob, interval: float) -> None:
    elected = False
    while True:
        if not elected:
            elected = await conn.fetchval("SELECT pg_try_advisory_lock($1)", job.election_key)
            if elected:
                log.info("%s: %s", job.name, job.elected_message)
        if elected:
            await job.work(conn)
        await asyncio.sleep(interval)


async def run_elected(url: str, job: ElectedJob, *, interval: float) -> None:
    """Forever: try to be elected; once elected, do a round of the job every `interval` seconds.
    Errors (a lost connection, a database not migrated yet) are logged once per kind and retried."""
    last_problem = ""
    while True:
        try:
            conn = await asyncpg.connect(url)
            try:
                await _work_while_elected(conn, job, interval)
            finally:
                with suppress(Exception):
                    await conn.close(timeout=2)
        except Exception as exc:  # the job must outlive whatever went wrong, and retry
            problem = f"{type(exc).__name__}: {exc}"
            if problem != last_problem:  # once per kind of problem, not every interval
                log.warning("%s: %s (retrying every %ss)", job.name, problem, interval)
            last_problem = problem
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_in_background(run: Callable[[], Awaitable[None]], *, name: str) -> AsyncIterator[None]:
    """Run a candidate while the block runs."""
    task = asyncio.create_task(run(), name=name)  # type: ignore[arg-type]
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
