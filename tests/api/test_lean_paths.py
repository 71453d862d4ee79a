"""The hot paths stay lean: few statements per request, no session work for bearer tokens."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text

from app.accounts.sessions import SESSION_COOKIE
from tests.factories import promotion_payload, review, submit

pytestmark = pytest.mark.anyio

WORKFLOW_TABLES = ("workflow_actions", "action_reviews", "api_tokens", "pg_notify")


@contextmanager
def statements(client) -> Iterator[list[str]]:
    """The SQL the app sends while the block runs, audit statements left out (another concern).

    Both ways: SQLAlchemy's executions, and the prepared statements the hot paths send to the
    driver directly (app.db.DriverStatement), seen by a query logger on each connection checked out.
    """
    seen: list[str] = []
    engine = client.app.state.db.engine.sync_engine
    watched = []

    def record(sql: str) -> None:
        audit_only = ("audit_events" in sql or "audit_seals" in sql) and "workflow_actions" not in sql
        if not audit_only and "pg_advisory" not in sql:
            seen.append(" ".join(sql.split()))

    def from_sqlalchemy(conn, cursor, sql, *args) -> None:  # type: ignore[no-untyped-def]
        record(sql)

    def from_driver(logged) -> None:  # type: ignore[no-untyped-def]
        record(logged.query)

    def watch(dbapi_connection, connection_record, proxy) -> None:  # type: ignore[no-untyped-def]
        driver = connection_record.driver_connection
        if driver not in watched:
            driver.add_query_logger(from_driver)
            watched.append(driver)

    event.listen(engine, "before_cursor_execute", from_sqlalchemy)
    event.listen(engine, "checkout", watch)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", from_sqlalchemy)
        event.remove(engine, "checkout", watch)
        for driver in watched:
            driver.remove_query_logger(from_driver)


def touching_the_workflow(seen: list[str]) -> list[str]:
    return [sql for sql in seen if any(name in sql for name in WORKFLOW_TABLES)]


async def test_a_submission_is_a_token_lookup_and_one_statement_with_its_event_and_signal(client, maker):
    with statements(client) as seen:
        await submit(client, maker, "create_promotion", promotion_payload())
    workflow = touching_the_workflow(seen)
    assert len(workflow) == 2, workflow
    assert "api_tokens" in workflow[0]
    assert "INSERT INTO workflow_actions" in workflow[1]
    assert "INSERT INTO audit_events" in workflow[1] and "pg_notify" in workflow[1]


async def test_a_review_locks_once_and_writes_once_with_its_audit_event(client, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())
    with statements(client) as seen:
        response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    workflow = touching_the_workflow(seen)
    assert len(workflow) == 3, workflow  # token lookup; lock with "already reviewed?"; review + update
    assert "FOR UPDATE" in workflow[1] and "action_reviews" in workflow[1]
    assert "INSERT INTO action_reviews" in workflow[2] and "UPDATE workflow_actions" in workflow[2]
    assert "pg_notify" in workflow[2] and "INSERT INTO audit_events" in workflow[2]


async def test_bearer_requests_skip_the_browser_session(client, maker):
    client.cookies.set(SESSION_COOKIE, "a-session-that-does-not-exist", domain="testserver.local")
    with statements(client) as seen:
        response = await client.get("/api/workflow/actions", headers=maker.headers)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert not [sql for sql in seen if "sessions" in sql], seen


async def test_a_list_and_an_api_submission_run_without_begin_and_commit(client, maker):
    with statements(client) as seen:
        listed = await client.get("/api/workflow/actions", headers=maker.headers)
    assert listed.status_code == 200
    assert not [sql for sql in seen if sql.startswith(("BEGIN", "COMMIT"))], seen
    with statements(client) as seen:
        await submit(client, maker, "create_promotion", promotion_payload())
    assert not [sql for sql in seen if sql.startswith(("BEGIN", "COMMIT"))], seen


async def test_a_submission_and_its_audit_event_commit_together(client, db, maker):
    """Outside a transaction, the action and its event are still one statement: one transaction."""
    action = await submit(client, maker, "create_promotion", promotion_payload())
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT a.xmin::text AS action_xact, e.xact_id::text AS event_xact, e.details "
                    "FROM workflow_actions a JOIN audit_events e ON e.action_id = a.id "
                    "WHERE a.id = :id AND e.event_type = 'action_submitted'"
                ),
                {"id": action["id"]},
            )
        ).one()
    assert row.action_xact == row.event_xact
    assert row.details["actionType"] == "create_promotion" and row.details["summary"]
