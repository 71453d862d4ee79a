"""`python -m bench.records`: the records pages' lists at a million accounts, in ms per page.

Fills a fresh database (an embedded server in a temporary DATA_DIR, or a scratch database on
DATABASE_URL's server) with RECORDS_ACCOUNTS accounts (default 1,000,000) by generate_series, with
their holders, promotions, a long ledger and pending actions marking records, then times each kind
of page through the JSON API (the app in-process, a bearer token, the same queries the pages run):
the first page, a deep page, the page before it, searches by prefix and by name, a ledger page and a
record with its pending changes. Prints one table: median and 95th percentile of RECORDS_RUNS runs.
"""

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from app.records.queries import encode_cursor
from bench.database import fresh_database

ACCOUNTS = int(os.environ.get("RECORDS_ACCOUNTS") or 1_000_000)
USERS = max(ACCOUNTS // 4, 10)
PROMOTIONS = max(ACCOUNTS // 4, 10)
LEDGER = max(ACCOUNTS // 2, 10)
RUNS = int(os.environ.get("RECORDS_RUNS") or 30)

FILL = [
    (
        "users",
        "INSERT INTO users (id, username, email, full_name, roles, is_active, failed_logins, created_at, "
        "updated_at) SELECT gen_random_uuid(), 'holder-' || lpad(i::text, 7, '0'), "
        "'holder' || i || '@example.com', "
        "(ARRAY['Ana','Bruno','Chen','Dana','Emeka','Farah'])[1 + i % 6] || ' ' || "
        "(ARRAY['Lopez','Stone','Okafor','Meyer','Silva','Nakamura','Haddad'])[1 + i % 7] || ' ' || i, "
        "ARRAY['maker'], true, 0, now(), now() FROM generate_series(1, $1::int) AS i",
        USERS,
    ),
    (
        "accounts",
        "INSERT INTO accounts (id, user_id, account_number, account_type, balance, currency, status, "
        "created_at, updated_at) SELECT gen_random_uuid(), u.id, 'AC' || lpad(i::text, 10, '0'), "
        "(ARRAY['checking','savings','investment'])[1 + i % 3], i % 100000, 'EUR', 'active', now(), now() "
        "FROM generate_series(1, $1::int) AS i "
        "JOIN users u ON u.username = 'holder-' || lpad((1 + i % $2::int)::text, 7, '0')",
        (ACCOUNTS, USERS),
    ),
    (
        "promotions",
        "INSERT INTO promotions (id, code, name, description, discount_type, discount_value, start_date, "
        "end_date, is_active, created_at, updated_at) SELECT gen_random_uuid(), "
        "'PROMO-' || lpad(i::text, 7, '0'), "
        "(ARRAY['Spring','Summer','Autumn','Winter'])[1 + i % 4] || ' sale ' || i, '', 'percentage', 10, "
        "now(), now() + interval '30 days', true, now(), now() FROM generate_series(1, $1::int) AS i",
        PROMOTIONS,
    ),
    (
        "ledger_entries",
        # most of it on one busy account, so that its ledger is long
        "INSERT INTO ledger_entries (account_id, amount, balance_after, currency, reference, created_at) "
        "SELECT (SELECT id FROM accounts WHERE account_number = 'AC0000000001'), 1, i, 'EUR', 'entry ' || i, "
        "now() FROM generate_series(1, $1::int) AS i",
        LEDGER,
    ),
    (
        "workflow_actions",
        # pending and decided actions, each marking an account
        "INSERT INTO workflow_actions (id, action_type, status, payload, maker_id, required_approvals, "
        "approvals, created_at, updated_at, record_ids) SELECT gen_random_uuid(), 'update_account_status', "
        "(ARRAY['pending','approved','rejected'])[1 + i % 3], '{}'::jsonb, "
        "(SELECT id FROM users WHERE username = 'holder-0000001'), 1, 0, now(), now(), ARRAY[a.id] "
        "FROM generate_series(1, $1::int) AS i JOIN accounts a ON a.account_number = "
        "'AC' || lpad((i * 7)::text, 10, '0')",
        max(ACCOUNTS // 20, 10),
    ),
]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def fill(url: str) -> dict[str, str]:
    """The records, then fresh statistics; returns ids the timed requests use."""
    conn = await asyncpg.connect(url)
    try:
        for table, statement, size in FILL:
            started = time.perf_counter()
            await conn.execute(statement, *(size if isinstance(size, tuple) else (size,)))
            rows = size if isinstance(size, int) else size[0]
            say(f"{table}: {rows:,} rows in {time.perf_counter() - started:.0f} s")
        await conn.execute("VACUUM ANALYZE")
        busy = await conn.fetchval("SELECT id FROM accounts WHERE account_number = 'AC0000000001'")
        marked = await conn.fetchval("SELECT id FROM accounts WHERE account_number = 'AC0000000021'")
        deep_entry = await conn.fetchval("SELECT min(id) + 1000 FROM ledger_entries")
        return {"busy": str(busy), "marked": str(marked), "deep_entry": str(deep_entry)}
    finally:
        await conn.close()


def requests(ids: dict[str, str]) -> list[tuple[str, str]]:
    deep = encode_cursor("account", f"AC{int(ACCOUNTS * 0.9):010d}")
    ledger_deep = encode_cursor("ledger", ids["deep_entry"])
    return [
        ("accounts: first page", "/api/records/accounts"),
        ("accounts: deep page (90% in)", f"/api/records/accounts?after={deep}"),
        ("accounts: page before it", f"/api/records/accounts?before={deep}"),
        ("accounts: number prefix", "/api/records/accounts?q=AC00004"),
        ("accounts: holder username", "/api/records/accounts?q=holder-00123"),
        ("accounts: holder name (contains)", "/api/records/accounts?q=Nakamura%20123"),
        ("accounts: broad name (contains)", "/api/records/accounts?q=Okafor"),
        ("account with pending changes", f"/api/records/accounts/{ids['marked']}"),
        ("ledger: newest", f"/api/records/accounts/{ids['busy']}/ledger"),
        ("ledger: deep page", f"/api/records/accounts/{ids['busy']}/ledger?after={ledger_deep}"),
        ("users: first page", "/api/records/users"),
        ("users: name contains", "/api/records/users?q=Haddad%20777"),
        ("promotions: code prefix", "/api/records/promotions?q=PROMO-00099"),
        ("promotions: name contains", "/api/records/promotions?q=sale%2012345"),
    ]


async def measure(url: str, ids: dict[str, str]) -> list[tuple[str, float, float, int]]:
    from litestar.testing import AsyncTestClient

    from app.main import create_app
    from bench.database import create_people

    people = await create_people(url, 1)
    headers = {"Authorization": f"Bearer {people.maker_tokens[0]}"}
    results = []
    async with AsyncTestClient(app=create_app()) as client:
        for label, path in requests(ids):
            timings, rows = [], 0
            for _ in range(RUNS + 3):  # the first runs warm the caches and the prepared statements
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.text)
                data = response.json()["data"]
                rows = len(data) if isinstance(data, list) else 1
            kept = sorted(timings[3:])
            results.append((label, statistics.median(kept), kept[int(len(kept) * 0.95) - 1], rows))
    return results


def statements(ids: dict[str, str]) -> list[tuple[str, list[Any]]]:
    """The SQL behind each kind of page (app.records.queries), for its time in the database alone."""
    import uuid

    from app.records import queries
    from app.records.queries import Search, Window

    page = Window()
    deep = Window(after=f"AC{int(ACCOUNTS * 0.9):010d}")
    busy = uuid.UUID(ids["busy"])
    return [
        ("accounts: first page", queries.account_statements(None, page)),
        ("accounts: deep page (90% in)", queries.account_statements(None, deep)),
        ("accounts: page before it", queries.account_statements(None, Window(before=deep.after))),
        ("accounts: number prefix", queries.account_statements(Search("AC00004"), page)),
        ("accounts: holder username", queries.account_statements(Search("holder-00123"), page)),
        ("accounts: holder name (contains)", queries.account_statements(Search("Nakamura 123"), page)),
        ("accounts: broad name (contains)", queries.account_statements(Search("Okafor"), page)),
        ("pending changes of a record", [queries.pending_statement([uuid.UUID(ids["marked"])])]),
        ("ledger: newest", [queries.ledger_statement(busy, page)]),
        ("ledger: deep page", [queries.ledger_statement(busy, Window(after=ids["deep_entry"]))]),
        ("users: first page", queries.user_statements(None, page)),
        ("users: name contains", queries.user_statements(Search("Haddad 777"), page)),
        ("promotions: code prefix", queries.promotion_statements(Search("PROMO-00099"), page)),
        ("promotions: name contains", queries.promotion_statements(Search("sale 12345"), page)),
    ]


async def database_times(url: str, ids: dict[str, str]) -> list[tuple[str, float, float, int]]:
    """Planning and execution time of each page's statements, as EXPLAIN ANALYZE reports them."""
    import json

    from sqlalchemy.dialects import postgresql

    conn = await asyncpg.connect(url)
    results = []
    try:
        for label, parts in statements(ids):
            sqls = [
                str(part.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
                for part in parts
            ]
            timings = []
            for _ in range(RUNS + 3):
                total = 0.0
                for sql in sqls:
                    raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                    plan = (raw if isinstance(raw, list) else json.loads(raw))[0]
                    total += plan["Planning Time"] + plan["Execution Time"]
                timings.append(total)
            kept = sorted(timings[3:])
            results.append((label, statistics.median(kept), kept[int(len(kept) * 0.95) - 1], len(sqls)))
    finally:
        await conn.close()
    return results


def report_database(results: list[tuple[str, float, float, int]]) -> None:
    print("\nThe same pages in the database alone (planning + execution, EXPLAIN ANALYZE; ms):\n")
    print(f"{'page':36} {'median':>8} {'p95':>8} {'stmts':>5}")
    for label, median, p95, count in results:
        print(f"{label:36} {median:8.2f} {p95:8.2f} {count:5d}")


def report(results: list[tuple[str, float, float, int]]) -> None:
    print(
        f"\nRecords at {ACCOUNTS:,} accounts, {USERS:,} users, {PROMOTIONS:,} promotions, {LEDGER:,} ledger"
    )
    print(f"entries; {RUNS} runs each, through the JSON API in-process (ms per page):\n")
    print(f"{'page':36} {'median':>8} {'p95':>8} {'rows':>5}")
    for label, median, p95, rows in results:
        print(f"{label:36} {median:8.1f} {p95:8.1f} {rows:5d}")


def main(run: Callable[[Any], Any] = asyncio.run) -> None:
    with fresh_database() as target:
        os.environ.update(target.env)
        os.environ["DATABASE_URL"] = target.url
        from app.cli import run_migrations
        from app.settings import get_settings

        get_settings.cache_clear()
        run_migrations()
        say("migrated")
        ids = run(fill(target.url))
        report(run(measure(target.url, ids)))
        report_database(run(database_times(target.url, ids)))


if __name__ == "__main__":
    main()
