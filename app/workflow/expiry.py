"""Expiry: a pending action past its time to live (expires_at, set from its pinned policy) becomes
`expired`. Review checks it for the action at hand (service.review_action); this sweeper marks the
rest, so that lists and live queues show it without anyone opening the action.

One process sweeps at a time: the sweeper holds a session-level advisory lock on a dedicated
connection, as the audit sealer does (app.elected); when its process dies, another takes
over. Each sweep is one statement per batch: the status change, a queue signal per row (as
service.cancel_pending_actions_of sends) and an audit event per row, committed together.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from app.elected import ElectedJob, run_elected, running_in_background
from app.workflow.notify import QUEUE_CHANNEL

log = logging.getLogger(__name__)

_SWEEPER_ELECTION_KEY = 0x4D43_4558  # an arbitrary constant naming the sweeper's advisory lock
DEFAULT_BATCH = 500

_SWEEP = f"""
WITH due AS (
    SELECT id FROM workflow_actions
    WHERE status = 'pending' AND expires_at <= now()
    ORDER BY expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), expired AS (
    UPDATE workflow_actions a
    SET status = 'expired', updated_at = now()
    FROM due
    WHERE a.id = due.id AND a.status = 'pending'
    RETURNING a.id, a.expires_at,
        pg_notify(
            '{QUEUE_CHANNEL}',
            json_build_object('actionId', a.id, 'status', 'expired', 'makerId', a.maker_id)::text
        )
)
INSERT INTO audit_events (occurred_at, event_type, actor_id, action_id, details)
SELECT now(), 'action_expired', NULL, id,
       jsonb_build_object('reason', 'not decided within its time to live', 'expiresAt', expires_at)
FROM expired
RETURNING action_id
"""
"""A row being reviewed right now is skipped (SKIP LOCKED): its review decides it, or finds it
expired itself."""


async def sweep_expired(conn: asyncpg.Connection, batch: int = DEFAULT_BATCH) -> int:
    """Expire every pending action past its time, batch by batch; returns how many."""
    total = 0
    while True:
        expired = len(await conn.fetch(_SWEEP, batch))
        total += expired
        if expired < batch:
            return total


def _sweep_job() -> ElectedJob:
    async def sweep(conn: asyncpg.Connection) -> None:
        if count := await sweep_expired(conn):
            log.info("expiry sweeper: %d action(s) expired", count)

    return ElectedJob(
        name="expiry sweeper",
        election_key=_SWEEPER_ELECTION_KEY,
        elected_message="this process expires pending actions past their time",
        work=sweep,
    )


async def run_sweeper(url: str, *, interval: float) -> None:
    """Forever: try to become the sweeper; once elected, sweep every `interval` seconds."""
    await run_elected(url, _sweep_job(), interval=interval)


@asynccontextmanager
async def sweeping_in_background(url: str, interval: float) -> AsyncIterator[None]:
    """Run a sweeper candidate while the block runs (interval 0: none)."""
    if interval <= 0:
        yield
        return
    async with running_in_background(lambda: run_sweeper(url, interval=interval), name="expiry-sweeper"):
        yield
