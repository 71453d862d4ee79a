"""Rows of workflow_actions put in by plain SQL, for the queue's search, sorts and export tests:
each with the summary, type, maker, amount, age and records a test needs."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from app.db import Database

START = datetime(2026, 1, 1, tzinfo=UTC)


def row(
    maker_id: uuid.UUID,
    *,
    minute: int,
    summary: str = "",
    action_type: str = "create_promotion",
    amount: str | None = None,
    status: str = "pending",
    record_ids: list[uuid.UUID] | None = None,
    action_id: uuid.UUID | None = None,
    required_approvals: int = 1,
) -> dict[str, Any]:
    return {
        "id": action_id or uuid.uuid4(),
        "action_type": action_type,
        "status": status,
        "summary": summary or f"{action_type} at minute {minute}",
        "maker_id": maker_id,
        "amount": Decimal(amount) if amount is not None else None,
        "record_ids": record_ids,
        "created_at": START + timedelta(minutes=minute),
        "required_approvals": required_approvals,
    }


async def insert(db: Database, rows: list[dict[str, Any]]) -> list[str]:
    """The rows' ids, as text, in the order given."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO workflow_actions (id, action_type, status, payload, summary, maker_id, "
                "required_approvals, approvals, amount, record_ids, created_at, updated_at) VALUES "
                "(:id, :action_type, :status, '{}'::jsonb, :summary, :maker_id, :required_approvals, 0, "
                ":amount, CAST(:record_ids AS uuid[]), :created_at, :created_at)"
            ),
            rows,
        )
    return [str(r["id"]) for r in rows]
