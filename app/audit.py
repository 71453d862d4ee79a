"""The append-only audit log: events are appended freely and chained afterwards by one sealer.

Writers only INSERT: no lock, no read of the previous event. Each row records the id of the
transaction that wrote it (`xact_id`, a column default). A sealer chains the events, in
(xact_id, id) order, into `audit_seals`, but only those below a safe horizon: the xmin of a fresh
snapshot. Every transaction with an id below it has ended, so no event can still appear below
the horizon; identity ids, allocated before commit, give no such promise (a transaction in flight
may commit a lower id than rows already visible), which is why ids alone do not order the chain.

One sealer runs at a time (elected with a session-level advisory lock; see `run_sealer`); each
batch also takes a transaction-level lock and commits atomically, so a sealer killed mid-batch
leaves nothing half-written and the next run continues from the last seal.
"""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import asyncpg
from sqlalchemy import CTE, ColumnElement, FromClause, bindparam, insert, select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import DriverStatement, driver_connection
from app.elected import ElectedJob, run_elected, running_in_background
from app.models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
# arbitrary constants naming two advisory locks: who the sealer is, and one batch at a time
_SEALER_ELECTION_KEY = 0x4D43_4153
_SEAL_BATCH_KEY = 0x4D43_4142
_START = (-1, 0)  # before every (xact_id, id) position
DEFAULT_BATCH = 1000

_EVENTS = AuditEvent.__table__
_INSERT_EVENT = DriverStatement.of(
    insert(_EVENTS)
    .values({c: bindparam(c) for c in ("occurred_at", "event_type", "actor_id", "action_id", "details")})
    .returning(_EVENTS.c.id)
)
_APPENDED_COLUMNS = ("occurred_at", "event_type", "actor_id", "action_id", "details")


def event_appended_with(
    source: FromClause, action_id: ColumnElement[Any], name: str = "appended_event"
) -> CTE:
    """One event's INSERT as a CTE of the statement that makes the change it records, so the change
    and its audit event take one round trip, and commit together even outside a transaction.

    The event names the action `action_id` reads from `source`; the rest comes from
    `appended_event_values`."""
    values = select(
        *(bindparam(f"event_{c}", type_=_EVENTS.c[c].type) for c in _APPENDED_COLUMNS[:3]),
        action_id,
        bindparam("event_details", type_=_EVENTS.c.details.type),
    ).select_from(source)
    return insert(_EVENTS).from_select(list(_APPENDED_COLUMNS), values).returning(_EVENTS.c.id).cte(name)


def appended_event_values(
    event_type: str, actor_id: uuid.UUID | None, details: dict[str, Any] | None
) -> dict[str, Any]:
    """The values of an event_appended_with CTE (details as JSON text, as the driver takes jsonb)."""
    return {
        "event_occurred_at": utcnow(),
        "event_event_type": event_type,
        "event_actor_id": actor_id,
        "event_details": json.dumps(details or {}, default=str),
    }


_EVENT_COLUMNS = "id, xact_id, occurred_at, event_type, actor_id, action_id, details::text AS details"


async def record_event(
    *,
    session: AsyncSession,
    event_type: str,
    actor_id: uuid.UUID | None,
    action_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's transaction (one prepared INSERT); returns its id.

    A pending ORM change is flushed first (see app.db.driver_connection), so that an action or
    user the event names exists by then.
    """
    connection = await driver_connection(session)
    return await _INSERT_EVENT.fetchval(
        connection,
        occurred_at=utcnow(),
        event_type=event_type,
        actor_id=actor_id,
        action_id=action_id,
        details=json.dumps(details or {}, default=str),
    )


def canonical_event(row: Mapping[str, Any]) -> str:
    """The event as read back from the database, in one exact form (details: jsonb's own text)."""
    body = {
        "id": row["id"],
        "xactId": row["xact_id"],
        "occurredAt": row["occurred_at"].astimezone(UTC).isoformat(),
        "eventType": row["event_type"],
        "actorId": str(row["actor_id"]) if row["actor_id"] is not None else None,
        "actionId": str(row["action_id"]) if row["action_id"] is not None else None,
        "details": row["details"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_digest(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_event(row).encode()).hexdigest()


def chain_hash(previous: str, digest: str) -> str:
    return hashlib.sha256(f"{previous}:{digest}".encode()).hexdigest()


# --- sealing ---------------------------------------------------------------------------------

_LAST_SEAL = "SELECT seq, event_xact_id, event_id, chain_hash FROM audit_seals ORDER BY seq DESC LIMIT 1"
_HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
_EVENTS_TO_SEAL = f"""
SELECT {_EVENT_COLUMNS} FROM audit_events
WHERE (xact_id, id) > ($1, $2) AND xact_id < $3
ORDER BY xact_id, id
LIMIT $4
"""
_INSERT_SEALS = """
INSERT INTO audit_seals (seq, event_id, event_xact_id, event_digest, chain_hash, sealed_at)
SELECT seq, event_id, event_xact_id, event_digest, chain_hash, now()
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[])
    AS s(seq, event_id, event_xact_id, event_digest, chain_hash)
"""


async def seal_batch(conn: asyncpg.Connection, limit: int = DEFAULT_BATCH) -> int:
    """Seal up to `limit` events below the horizon in one transaction; returns how many."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEAL_BATCH_KEY)
        last = await conn.fetchrow(_LAST_SEAL)
        seq, position, previous = (
            (last["seq"], (last["event_xact_id"], last["event_id"]), last["chain_hash"])
            if last
            else (0, _START, GENESIS_HASH)
        )
        # a statement after the horizon's sees every commit of the transactions below it
        horizon = await conn.fetchval(_HORIZON)
        events = await conn.fetch(_EVENTS_TO_SEAL, *position, horizon, limit)
        if not events:
            return 0
        seals = []
        for event in events:
            seq += 1
            digest = event_digest(event)
            previous = chain_hash(previous, digest)
            seals.append((seq, event["id"], event["xact_id"], digest, previous))
        columns = [list(column) for column in zip(*seals, strict=True)]
        await conn.execute(_INSERT_SEALS, *columns)
        return len(events)


async def seal_pending(conn: asyncpg.Connection, batch: int = DEFAULT_BATCH) -> int:
    """Seal everything below the horizon, batch by batch; returns how many events were sealed."""
    total = 0
    while (sealed := await seal_batch(conn, batch)) > 0:
        total += sealed
        if sealed < batch:
            break
    return total


async def run_sealer(url: str, *, interval: float, batch: int = DEFAULT_BATCH) -> None:
    """Forever: try to become the sealer (app.elected); once elected, seal every `interval` seconds."""

    async def seal(conn: asyncpg.Connection) -> None:
        await seal_pending(conn, batch)

    job = ElectedJob(
        name="audit sealer",
        election_key=_SEALER_ELECTION_KEY,
        elected_message="this process seals the audit chain",
        work=seal,
    )
    await run_elected(url, job, interval=interval)


@asynccontextmanager
async def sealing_in_background(url: str, interval: float) -> AsyncIterator[None]:
    """Run a sealer candidate while the block runs (interval 0: none)."""
    if interval <= 0:
        yield
        return
    async with running_in_background(lambda: run_sealer(url, interval=interval), name="audit-sealer"):
        yield


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    # event_changed | event_deleted | event_inserted | seal_changed | seal_removed | unsealed_too_long
    kind: str
    message: str
    event_id: int | None = None
    seal_seq: int | None = None


@dataclass(frozen=True)
class ChainReport:
    checked: int  # sealed events checked
    pending: int = 0  # events not sealed yet, within the bound
    problems: tuple[Problem, ...] = ()
    head: tuple[int, str] | None = None  # (seq, chain_hash) of the last seal: worth recording elsewhere

    @property
    def ok(self) -> bool:
        return not self.problems


_SEALS_WITH_EVENTS = text(
    """
SELECT s.seq, s.event_id AS seal_event_id, s.event_xact_id, s.event_digest, s.chain_hash,
       e.id, e.xact_id, e.occurred_at, e.event_type, e.actor_id, e.action_id, e.details::text AS details
FROM audit_seals s LEFT JOIN audit_events e ON e.id = s.event_id
WHERE s.seq > :after
ORDER BY s.seq
LIMIT :batch
"""
)

_UNSEALED = text(
    """
SELECT
    count(*) FILTER (WHERE below) AS below,
    (array_agg(id ORDER BY xact_id, id) FILTER (WHERE below))[1:10] AS below_ids,
    count(*) FILTER (WHERE NOT below AND stale) AS stale,
    (array_agg(id ORDER BY xact_id, id) FILTER (WHERE NOT below AND stale))[1:10] AS stale_ids,
    count(*) FILTER (WHERE NOT below AND NOT stale) AS pending
FROM (
    SELECT e.id, e.xact_id,
           (e.xact_id, e.id) < (:xact_id, :id) AS below,
           e.occurred_at < clock_timestamp() - make_interval(secs => :bound) AS stale
    FROM audit_events e
    WHERE NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)
) AS unsealed
"""
)


@dataclass
class _Walk:
    """The state of a walk along the seals."""

    expected_seq: int = 1
    previous_hash: str = GENESIS_HASH
    position: tuple[int, int] = _START
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)


def _check_seal(walk: _Walk, row: Mapping[str, Any]) -> None:
    seq, event_id = row["seq"], row["seal_event_id"]
    if seq != walk.expected_seq:
        missing = f"{walk.expected_seq}" + (f"..{seq - 1}" if seq - 1 > walk.expected_seq else "")
        walk.problems.append(Problem("seal_removed", f"seal {missing} removed", seal_seq=walk.expected_seq))
    elif chain_hash(walk.previous_hash, row["event_digest"]) != row["chain_hash"]:
        walk.problems.append(
            Problem(
                "seal_changed",
                f"seal {seq} changed: it does not follow from the seal before it",
                event_id,
                seq,
            )
        )
    if (row["event_xact_id"], event_id) <= walk.position:
        walk.problems.append(Problem("seal_changed", f"seal {seq} changed: out of order", event_id, seq))
    if row["id"] is None:
        walk.problems.append(
            Problem("event_deleted", f"event {event_id} (seal {seq}) deleted", event_id, seq)
        )
    elif event_digest(row) != row["event_digest"]:
        walk.problems.append(
            Problem("event_changed", f"event {event_id} (seal {seq}) changed", event_id, seq)
        )
    elif row["xact_id"] != row["event_xact_id"]:
        walk.problems.append(
            Problem("seal_changed", f"seal {seq} changed: its position is not its event's", event_id, seq)
        )
    walk.expected_seq, walk.previous_hash = seq + 1, row["chain_hash"]
    walk.position = (row["event_xact_id"], event_id)
    walk.checked += 1


def _unsealed_problems(counts: Mapping[str, Any], bound: float) -> list[Problem]:
    problems = [
        Problem(
            "event_inserted",
            f"event {event_id} is below the sealed horizon but not sealed (inserted after sealing, "
            "or its seal was removed)",
            event_id,
        )
        for event_id in counts["below_ids"] or []
    ]
    problems += [
        Problem("unsealed_too_long", f"event {event_id} unsealed for more than {bound:g} s", event_id)
        for event_id in counts["stale_ids"] or []
    ]
    for kind, total, shown in (
        ("event_inserted", counts["below"], counts["below_ids"]),
        ("unsealed_too_long", counts["stale"], counts["stale_ids"]),
    ):
        if total > len(shown or []):
            problems.append(Problem(kind, f"... and {total - len(shown)} more such events"))
    return problems


async def verify_chain(
    session: AsyncSession, *, max_unsealed_seconds: float = 60.0, batch: int = 5000
) -> ChainReport:
    """Check every seal against its event and the seal before it, then the events not sealed.

    Reports every problem found: a changed or deleted event, a changed or removed seal, an event
    below the sealed horizon without a seal, and an event unsealed for longer than the bound.
    """
    walk = _Walk()
    conn = await session.connection()
    while True:
        rows: Sequence[Any] = (
            (await conn.execute(_SEALS_WITH_EVENTS, {"after": walk.expected_seq - 1, "batch": batch}))
            .mappings()
            .all()
        )
        for row in rows:
            _check_seal(walk, row)
        if len(rows) < batch:
            break
    xact_id, event_id = walk.position
    counts = (
        (await conn.execute(_UNSEALED, {"xact_id": xact_id, "id": event_id, "bound": max_unsealed_seconds}))
        .mappings()
        .one()
    )
    problems = walk.problems + _unsealed_problems(counts, max_unsealed_seconds)
    head = (walk.expected_seq - 1, walk.previous_hash) if walk.checked else None
    return ChainReport(checked=walk.checked, pending=counts["pending"], problems=tuple(problems), head=head)
