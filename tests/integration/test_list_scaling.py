"""Lists stay flat in table size: counters give totals, keyset pages give rows, both exact."""

import asyncio
import itertools
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from app.db import Database
from app.models import COUNT_SLOTS, MAKER_COUNT_SLOTS, ActionStatus
from app.workflow.views import ActionFilter, Cursor, count_actions, page_statement
from tests.factories import Actor, make_actor, promotion_payload, review, submit, user_payload

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"


async def bulk_insert(
    db: Database, maker: Actor, count: int, *, status: str = "pending", ties: int = 1
) -> None:
    """Rows by plain SQL, as a benchmark pre-fills them; `ties` rows share each created_at."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO workflow_actions (id, action_type, status, payload, maker_id, "
                "required_approvals, approvals, created_at, updated_at) "
                "SELECT gen_random_uuid(), (ARRAY['create_user','create_promotion'])[1 + i % 2], :status, "
                "'{}'::jsonb, :maker, 1, 0, "
                "timestamptz '2026-01-01' + make_interval(secs => i / :ties), now() "
                "FROM generate_series(1, :count) AS i"
            ),
            {"status": status, "maker": maker.user.id, "count": count, "ties": ties},
        )


def all_filters(makers: list[uuid.UUID]) -> list[ActionFilter]:
    statuses = [None, *(s.value for s in ActionStatus)]
    types = [None, "create_user", "create_promotion", "create_account"]
    return [
        ActionFilter(status=s, action_type=t, maker_id=m)
        for s, t, m in itertools.product(statuses, types, [None, *makers])
    ]


async def assert_counters_exact(db: Database, makers: list[uuid.UUID]) -> None:
    async with db.sessions() as session:
        for filters in all_filters(makers):
            conditions = [text("true")]
            params: dict[str, Any] = {}
            for name in ("status", "action_type", "maker_id"):
                if getattr(filters, name):
                    conditions.append(text(f"{name} = :{name}"))
                    params[name] = getattr(filters, name)
            where = " AND ".join(str(c) for c in conditions)
            connection = await session.connection()
            counted = (
                await connection.execute(text(f"SELECT count(*) FROM workflow_actions WHERE {where}"), params)
            ).scalar_one()
            assert await count_actions(session, filters) == counted, filters


async def test_counters_stay_exact_under_concurrent_submits_reviews_and_bulk_sql(client, db, maker, checker):
    other = await make_actor(db, "maker")
    makers = [maker, other]
    bodies = [
        (
            makers[i % 2],
            "create_promotion" if i % 3 else "create_user",
            promotion_payload() if i % 3 else user_payload(),
        )
        for i in range(32)
    ]
    created = await asyncio.gather(*(submit(client, actor, kind, payload) for actor, kind, payload in bodies))
    decisions = await asyncio.gather(
        *(
            review(client, checker, action["id"], *(("approved",) if i % 2 else ("rejected", "no")))
            for i, action in enumerate(created[:20])
        )
    )
    assert {response.status_code for response in decisions} == {200}
    await bulk_insert(db, maker, 300)
    await bulk_insert(db, other, 40, status="approved")
    async with db.engine.begin() as conn:  # a bulk UPDATE and a DELETE are counted too
        await conn.execute(
            text(
                "UPDATE workflow_actions SET status = 'expired' "
                "WHERE payload = '{}'::jsonb AND created_at < timestamptz '2026-01-01 00:01'"
            )
        )
        await conn.execute(
            text(
                "DELETE FROM workflow_actions "
                "WHERE status = 'expired' AND created_at < timestamptz '2026-01-01 00:00:30'"
            )
        )
    await assert_counters_exact(db, [maker.user.id, other.user.id])
    response = await client.get(f"{ACTIONS}?status=pending&makerId={maker.id}", headers=checker.headers)
    async with db.engine.connect() as conn:
        pending_of_maker = (
            await conn.execute(
                text("SELECT count(*) FROM workflow_actions WHERE status = 'pending' AND maker_id = :m"),
                {"m": maker.user.id},
            )
        ).scalar_one()
    assert response.json()["pagination"]["total"] == pending_of_maker


async def offset_order(db: Database, filters: ActionFilter, oldest_first: bool) -> list[str]:
    direction = "ASC" if oldest_first else "DESC"
    where, params = ["true"], {}
    if filters.status:
        where.append("status = :status")
        params["status"] = filters.status
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                f"SELECT id FROM workflow_actions WHERE {' AND '.join(where)} "
                f"ORDER BY created_at {direction}, id {direction}"
            ),
            params,
        )
        return [str(row.id) for row in rows]


async def test_pages_by_cursor_and_by_number_return_the_offset_order(client, db, maker, checker):
    await bulk_insert(db, maker, 53, ties=4)  # many rows share a created_at: the id breaks ties
    await bulk_insert(db, maker, 7, status="rejected")
    expected = await offset_order(db, ActionFilter(status="pending"), oldest_first=False)
    by_number, by_cursor, cursor, page = [], [], None, 1
    for page in range(1, 7):
        body = (
            await client.get(f"{ACTIONS}?status=pending&limit=10&page={page}", headers=checker.headers)
        ).json()
        by_number += [action["id"] for action in body["data"]]
        query = f"{ACTIONS}?status=pending&limit=10&page={page}" + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(query, headers=checker.headers)).json()
        by_cursor += [action["id"] for action in body["data"]]
        assert body["pagination"]["total"] == 53
        cursor = body["pagination"]["nextCursor"]
    assert cursor is None
    assert by_number == expected
    assert by_cursor == expected


async def test_queue_pages_follow_the_oldest_first_order(client, db, maker, checker):
    from app.workflow.views import pending_queue

    await bulk_insert(db, maker, 120, ties=3)
    expected = await offset_order(db, ActionFilter(status="pending"), oldest_first=True)
    seen = []
    async with db.sessions() as session:
        for page in (1, 2, 3):
            rows, found = await pending_queue(
                session=session, viewer=checker.user, action_type=None, page=page
            )
            seen += [str(view.action.id) for view in rows]
            assert found.total == 120
    assert seen == expected


async def test_a_bad_cursor_is_a_400_with_field_details(client, checker):
    response = await client.get(f"{ACTIONS}?cursor=not-a-cursor", headers=checker.headers)
    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "cursor", "message": "Use the nextCursor of a page"}]


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


async def explain(db: Database, statement: Any) -> list[dict[str, Any]]:
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))).scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return plan_nodes(plan[0]["Plan"])


async def test_deep_pages_and_totals_do_not_scan_the_table(db, maker):
    await bulk_insert(db, maker, 20_000)
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE workflow_actions"))
        deep = (
            await conn.execute(
                text(
                    "SELECT created_at, id FROM workflow_actions "
                    "ORDER BY created_at DESC, id DESC OFFSET 15000 LIMIT 1"
                )
            )
        ).one()
    pending = ActionFilter(status="pending")
    by_cursor = await explain(db, page_statement(pending, limit=20, oldest_first=False, after=Cursor(*deep)))
    assert not [n for n in by_cursor if n["Node Type"] in ("Seq Scan", "Sort")], by_cursor
    table_reads = [n for n in by_cursor if n.get("Relation Name") == "workflow_actions"]
    assert table_reads and all(n["Actual Rows"] <= 20 for n in table_reads), table_reads

    by_number = await explain(db, page_statement(pending, limit=20, oldest_first=False, skip=9_000))
    assert not [n for n in by_number if n["Node Type"] in ("Seq Scan", "Sort")], by_number
    fetched = [
        n
        for n in by_number
        if n["Node Type"] == "Index Scan" and n.get("Relation Name") == "workflow_actions"
    ]
    # the skipped rows stay in the index: only the page's rows are fetched from the table
    assert fetched and all(n["Actual Rows"] <= 20 for n in fetched), [
        (n["Node Type"], n.get("Index Name"), n["Actual Rows"], n.get("Index Cond")) for n in by_number
    ]

    from sqlalchemy import func, select

    from app.workflow.views import COUNTS, MAKER_COUNTS

    for table, filters in ((COUNTS, pending), (MAKER_COUNTS, ActionFilter(maker_id=maker.user.id))):
        total = select(func.coalesce(func.sum(table.c.n), 0)).where(*filters.conditions(table))
        nodes = await explain(db, total)
        assert {n.get("Relation Name") for n in nodes} - {None} == {table.name}
        assert all(n["Actual Rows"] <= 100 for n in nodes)


async def test_a_connection_adds_to_its_own_counter_slot_so_concurrent_writers_do_not_queue(db, maker):
    """Counter rows stay locked until COMMIT: a random slot made concurrent submissions wait on
    each other's rows. Each connection now uses slot pg_backend_pid() mod COUNT_SLOTS."""
    async with db.engine.begin() as conn:
        backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        for _ in range(5):
            await conn.execute(
                text(
                    "INSERT INTO workflow_actions (id, action_type, status, payload, maker_id, "
                    "required_approvals, approvals, created_at, updated_at) VALUES (gen_random_uuid(), "
                    "'create_account', 'cancelled', '{}'::jsonb, :maker, 1, 0, now(), now())"
                ),
                {"maker": maker.user.id},
            )
        slots = (
            (
                await conn.execute(
                    text(
                        "SELECT DISTINCT slot FROM workflow_action_counts "
                        "WHERE action_type = 'create_account' "
                        "AND status = 'cancelled' AND xmin::text = pg_current_xact_id()::text"
                    )
                )
            )
            .scalars()
            .all()
        )
        maker_slots = (
            (
                await conn.execute(
                    text(
                        "SELECT DISTINCT slot FROM workflow_maker_counts WHERE maker_id = :maker "
                        "AND action_type = 'create_account' AND status = 'cancelled' "
                        "AND xmin::text = pg_current_xact_id()::text"
                    ),
                    {"maker": maker.user.id},
                )
            )
            .scalars()
            .all()
        )
        await conn.rollback()
    assert slots == [backend % COUNT_SLOTS]
    assert maker_slots == [backend % MAKER_COUNT_SLOTS]
