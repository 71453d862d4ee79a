"""The queue's search and sorts stay index reads on a large pending queue: no table scan, no sort."""

import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from app.db import Database, driver_connection
from app.workflow import views
from tests.factories import Actor

pytestmark = pytest.mark.anyio

PENDING_ROWS = 30_000


async def bulk_pending(db: Database, maker: Actor) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO workflow_actions (id, action_type, status, payload, summary, maker_id, "
                "required_approvals, approvals, amount, created_at, updated_at) "
                "SELECT gen_random_uuid(), "
                "(ARRAY['create_user','create_promotion','transfer_funds'])[1 + i % 3], "
                "'pending', '{}'::jsonb, "
                "'Promotion CODE-' || i || ' for customer ' || (i * 7919 % 100000), :maker, "
                "1, 0, CASE WHEN i % 3 = 2 THEN (i % 5000) + 0.5 END, "
                "timestamptz '2026-01-01' + make_interval(secs => i), now() "
                "FROM generate_series(1, :count) AS i"
            ),
            {"maker": maker.user.id, "count": PENDING_ROWS},
        )
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE workflow_actions"))


def nodes_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes_of(child)
    return found


async def explained(db: Database, filters: views.ActionFilter, **page: Any) -> list[dict[str, Any]]:
    """The plan of the page's query as the queue runs it (prepared, on the driver)."""
    shape, values = views._page_values(filters, skip=0, **page)
    statement = views._page_driver_statement(*shape.parts())
    async with db.sessions() as session:
        connection = await driver_connection(session)
        raw = await connection.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement.sql}", *statement.args(values)
        )
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return nodes_of(plan[0]["Plan"])


def scans(nodes: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [
        (n["Node Type"], n.get("Index Name")) for n in nodes if n.get("Relation Name") == "workflow_actions"
    ]


async def test_search_and_sorts_read_indexes_only(db, maker):
    await bulk_pending(db, maker)
    async with db.sessions() as session:
        search = await views.find_search(session, "CODE-12345 ")
    pending = views.ActionFilter(status="pending")

    searched = await explained(
        db, views.ActionFilter(status="pending", search=search), limit=50, oldest_first=True, after=None
    )
    indexes = {n.get("Index Name") for n in searched if n["Node Type"] == "Bitmap Index Scan"}
    assert "ix_workflow_actions_pending_summary_trgm" in indexes, searched
    assert not [n for n in searched if n["Node Type"] == "Seq Scan"], scans(searched)

    for sort_key, index in (
        ("amount", "ix_workflow_actions_pending_largest"),
        ("type", "ix_workflow_actions_pending_type"),
    ):
        deep = views.Cursor(
            created_at=datetime.fromisoformat("2026-01-01T03:00:00+00:00"),
            id=uuid.UUID(int=0),
            key=str(Decimal("-2500")) if sort_key == "amount" else "create_promotion",
        )
        nodes = await explained(db, pending, limit=50, oldest_first=True, after=deep, sort_key=sort_key)
        assert scans(nodes) == [("Index Scan", index)], scans(nodes)
        assert not [n for n in nodes if n["Node Type"] == "Sort"]
        assert all(n["Actual Rows"] <= 50 for n in nodes if n.get("Relation Name") == "workflow_actions")

    async with db.sessions() as session:
        found = await views.list_actions(
            session=session, filters=views.ActionFilter(status="pending", search=search), page=1, limit=50
        )
    assert [row.summary for row in found.rows] == [
        "Promotion CODE-12345 for customer " + str(12345 * 7919 % 100000)
    ]
