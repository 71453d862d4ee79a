"""The records lists stay index ranges as the tables grow (issue 10 item 8): every list, deep page,
backwards page, search, ledger page and pending-changes look-up is planned without a sequential scan
of a records table, both as run (the values known) and as a generic prepared plan (asyncpg prepares
statements, and after a few runs PostgreSQL may plan them once for any values); and a page or a prefix
search reads about a page of rows, not the table. bench/records.py measures the same at a million."""

import json
import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from app.db import Database
from app.records import queries
from app.records.queries import Search, Window

pytestmark = pytest.mark.anyio

BIG = {"users", "accounts", "promotions", "ledger_entries", "workflow_actions"}
USERS, ACCOUNTS, PROMOTIONS, LEDGER = 10_000, 40_000, 10_000, 20_000


async def _fill(db: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """Tens of thousands of records by plain SQL; returns an account with a long ledger and a user."""
    statements = [
        "INSERT INTO users (id, username, email, full_name, roles, is_active, failed_logins, created_at, "
        "updated_at) SELECT gen_random_uuid(), 'holder-' || lpad(i::text, 6, '0'), "
        "'holder' || i || '@example.com', "
        "(ARRAY['Ana','Bruno','Chen','Dana'])[1 + i % 4] || ' ' || "
        "(ARRAY['Lopez','Stone','Okafor','Meyer','Silva'])[1 + i % 5] || ' ' || i, "
        "ARRAY['maker'], true, 0, now(), now() FROM generate_series(1, :users) AS i",
        "INSERT INTO accounts (id, user_id, account_number, account_type, balance, currency, status, "
        "created_at, updated_at) SELECT gen_random_uuid(), u.id, 'AC' || lpad(i::text, 10, '0'), 'checking', "
        "i % 1000, 'EUR', 'active', now(), now() FROM generate_series(1, :accounts) AS i "
        "JOIN users u ON u.username = 'holder-' || lpad((1 + i % :users)::text, 6, '0')",
        "INSERT INTO promotions (id, code, name, description, discount_type, discount_value, start_date, "
        "end_date, is_active, created_at, updated_at) SELECT gen_random_uuid(), 'PROMO-' || lpad(i::text, 6, "
        "'0'), (ARRAY['Spring','Summer','Autumn','Winter'])[1 + i % 4] || ' sale ' || i, '', 'percentage', "
        "10, now(), now() + interval '1 day', true, now(), now() FROM generate_series(1, :promotions) AS i",
        "INSERT INTO ledger_entries (account_id, amount, balance_after, currency, reference, created_at) "
        "SELECT a.id, 1, i, 'EUR', 'entry', now() FROM generate_series(1, :ledger) AS i "
        "JOIN accounts a ON a.account_number = 'AC' || lpad((1 + i % 50)::text, 10, '0')",
        # pending and decided actions, each changing a record of its own
        "INSERT INTO workflow_actions (id, action_type, status, payload, maker_id, required_approvals, "
        "approvals, created_at, updated_at, record_ids) SELECT gen_random_uuid(), 'update_user', "
        "(ARRAY['pending','approved'])[1 + i % 2], '{}'::jsonb, u.id, 1, 0, now(), now(), "
        "ARRAY[gen_random_uuid()] FROM generate_series(1, :actions) AS i "
        "JOIN users u ON u.username = 'holder-000001'",
    ]
    sizes = {
        "users": USERS,
        "accounts": ACCOUNTS,
        "promotions": PROMOTIONS,
        "ledger": LEDGER,
        "actions": 20_000,
    }
    async with db.engine.begin() as conn:
        for statement in statements:
            names = {name for name in sizes if f":{name}" in statement}
            await conn.execute(text(statement), {name: sizes[name] for name in names})
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in BIG:
            await conn.execute(text(f"VACUUM ANALYZE {table}"))
        busy = (
            await conn.execute(text("SELECT id FROM accounts WHERE account_number = 'AC0000000001'"))
        ).scalar_one()
        user = (
            await conn.execute(text("SELECT id FROM users WHERE username = 'holder-000007'"))
        ).scalar_one()
    return busy, user


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


async def _plan(db: Database, sql: str) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text(sql))).scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return _nodes(plan[0]["Plan"])


async def as_run(db: Database, statement: Any) -> list[dict[str, Any]]:
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return await _plan(db, f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")


async def generic(db: Database, statement: Any) -> list[dict[str, Any]]:
    """The plan PostgreSQL makes once for any values of the statement's parameters."""
    compiled = statement.compile(dialect=asyncpg_dialect(), compile_kwargs={"render_postcompile": True})
    connection = await asyncpg.connect(db.url)
    try:
        # the values are not planned with: a generic plan is made before any are known
        explain = await connection.prepare(f"EXPLAIN (GENERIC_PLAN, FORMAT JSON) {compiled}")
        raw = await explain.fetchval(*[None] * len(compiled.positiontup or []))
    finally:
        await connection.close()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return _nodes(plan[0]["Plan"])


def sequential_scans(nodes: list[dict[str, Any]]) -> list[str]:
    return [node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"]


def rows_read(nodes: list[dict[str, Any]]) -> int:
    """The most rows any scan of the plan returned (times its loops)."""
    scans = [node for node in nodes if "Scan" in node["Node Type"]]
    return max(node["Actual Rows"] * node.get("Actual Loops", 1) for node in scans)


def _cursor(kind: str, key: str) -> str:
    return queries.decode_cursor(kind, queries.encode_cursor(kind, key), "after") or ""


async def test_lists_searches_ledger_and_pending_markers_are_index_ranges(db):
    busy, user = await _fill(db)
    page = Window(limit=25)
    deep = Window(limit=25, after=_cursor("account", "AC0000030000"))
    back = Window(limit=25, before=_cursor("account", "AC0000030000"))
    # (what, statement, at most this many rows read: a page's worth when the search is a prefix)
    cases: list[tuple[str, Any, int | None]] = [
        ("accounts: first page", queries.account_statements(None, page)[0], 26),
        ("accounts: deep page", queries.account_statements(None, deep)[0], 26),
        ("accounts: page before", queries.account_statements(None, back)[0], 26),
        ("accounts: number prefix", queries.account_statements(Search("ac000002"), page)[0], 26),
        ("accounts: deep in a prefix", queries.account_statements(Search("AC00003"), deep)[0], 26),
        ("accounts: holder username", queries.account_statements(Search("holder-00001"), page)[1], 500),
        ("accounts: holder name", queries.account_statements(Search("Okafor 12"), page)[1], 500),
        ("users: first page", queries.user_statements(None, page)[0], 26),
        ("users: username prefix", queries.user_statements(Search("holder-0099"), page)[0], 26),
        ("users: name contains", queries.user_statements(Search("Meyer 99"), page)[1], 500),
        ("promotions: first page", queries.promotion_statements(None, page)[0], 26),
        ("promotions: code prefix", queries.promotion_statements(Search("promo-0050"), page)[0], 26),
        ("promotions: name contains", queries.promotion_statements(Search("sale 777"), page)[1], 500),
        ("ledger: newest", queries.ledger_statement(busy, page), 26),
        ("ledger: deep", queries.ledger_statement(busy, Window(limit=25, after="100")), 26),
        ("pending changes", queries.pending_statement([busy, user]), None),
    ]
    wrong = []
    for what, statement, most in cases:
        run = await as_run(db, statement)
        planned = await generic(db, statement)
        for how, nodes in (("as run", run), ("generic", planned)):
            if sequential_scans(nodes):
                wrong.append(f"{what} ({how}): sequential scan of {sequential_scans(nodes)}")
        if most is not None and rows_read(run) > most:
            wrong.append(f"{what}: read {rows_read(run)} rows, expected at most {most}")
    assert not wrong, "\n".join(wrong)


async def test_the_first_page_walks_the_byte_order_index(db):
    await _fill(db)
    nodes = await as_run(db, queries.account_statements(None, Window(limit=25))[0])
    assert "ix_accounts_number_pattern" in {node.get("Index Name") for node in nodes}
    assert "Sort" not in {node["Node Type"] for node in nodes}
