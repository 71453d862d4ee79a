"""The append-only, hash-chained audit log.

Appends are serialised with a transaction-scoped advisory lock so that the chain has
one order; the lock is held until the appending transaction ends, so callers append
last, just before their transaction commits.
"""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import AuditEvent, utcnow

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 0x4D43_4155  # arbitrary constant naming "the audit chain" among advisory locks


def event_hash(event: AuditEvent) -> str:
    body = {
        "occurredAt": event.occurred_at.isoformat(),
        "eventType": event.event_type,
        "actorId": str(event.actor_id) if event.actor_id else None,
        "actionId": str(event.action_id) if event.action_id else None,
        "details": event.details,
        "prevHash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def record_event(
    *,
    session: AsyncSession,
    event_type: str,
    actor_id: uuid.UUID | None,
    action_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    await session.exec(select(func.pg_advisory_xact_lock(_CHAIN_LOCK_KEY)))
    last_hash = (
        await session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1))
    ).first()
    event = AuditEvent(
        occurred_at=utcnow(),
        event_type=event_type,
        actor_id=actor_id,
        action_id=action_id,
        details=json.loads(json.dumps(details or {}, default=str)),
        prev_hash=last_hash or GENESIS_HASH,
        hash="",
    )
    event.hash = event_hash(event)
    session.add(event)
    await session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    bad_event_id: int | None = None
    reason: str | None = None


async def _events_in_order(session: AsyncSession, batch: int = 1000) -> AsyncIterator[AuditEvent]:
    last_id = 0
    while True:
        rows = (
            await session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.id) > last_id)
                .order_by(col(AuditEvent.id))
                .limit(batch)
            )
        ).all()
        for event in rows:
            yield event
        if len(rows) < batch:
            return
        last_id = rows[-1].id or 0


async def verify_chain(session: AsyncSession) -> ChainReport:
    """Recompute every hash in order; report the first event that does not match."""
    expected_prev = GENESIS_HASH
    checked = 0
    async for event in _events_in_order(session):
        if event.prev_hash != expected_prev:
            return ChainReport(False, checked, event.id, "prev_hash does not match the previous event")
        if event_hash(event) != event.hash:
            return ChainReport(False, checked, event.id, "content does not match its hash")
        expected_prev = event.hash
        checked += 1
    return ChainReport(True, checked)
