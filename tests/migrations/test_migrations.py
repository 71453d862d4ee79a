"""The migrations build exactly the schema the models describe, and undo it cleanly."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app.db import ensure_database, run_blocking, sqlalchemy_url, with_database
from app.settings import PROJECT_ROOT

AUDIT_SEALS_REVISION = "037532d9167d"


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    return config


@pytest.fixture
def scratch_url(server_url: str) -> Iterator[str]:
    """An empty database of its own, dropped after the test."""
    name = f"mc_migr_{uuid.uuid4().hex[:10]}"
    url = ensure_database(server_url, name)
    yield url

    async def drop() -> None:
        conn = await asyncpg.connect(with_database(server_url, "postgres"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    run_blocking(drop)


def schema_differences(url: str) -> list:
    async def compare() -> list:
        engine = create_async_engine(sqlalchemy_url(url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync_conn: compare_metadata(
                        MigrationContext.configure(sync_conn, opts={"compare_type": True}), SQLModel.metadata
                    )
                )
        finally:
            await engine.dispose()

    return run_blocking(compare)


def fetch(url: str, query: str) -> list:
    async def run() -> list:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(query)]
        finally:
            await conn.close()

    return run_blocking(run)


def tables(url: str) -> set[str]:
    rows = fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name for (name,) in rows}


def audit_trigger(url: str) -> list:
    return fetch(url, "SELECT tgname FROM pg_trigger WHERE tgname = 'audit_events_append_only'")


def seals_trigger(url: str) -> list:
    return fetch(url, "SELECT tgname FROM pg_trigger WHERE tgname = 'audit_seals_append_only'")


def current_revision(url: str) -> list:
    return fetch(url, "SELECT version_num FROM alembic_version")


def test_there_is_one_head():
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/unused"))
    assert len(script.get_heads()) == 1


def test_upgrade_head_builds_exactly_the_models(scratch_url):
    command.upgrade(alembic_config(scratch_url), "head")

    assert schema_differences(scratch_url) == []
    assert tables(scratch_url) == {table.name for table in SQLModel.metadata.sorted_tables} | {
        "alembic_version"
    }
    assert audit_trigger(scratch_url) == [("audit_events_append_only",)]
    assert seals_trigger(scratch_url) == [("audit_seals_append_only",)]
    head = ScriptDirectory.from_config(alembic_config(scratch_url)).get_current_head()
    assert current_revision(scratch_url) == [(head,)]


def test_the_models_differ_from_an_empty_database(scratch_url):
    """The comparison itself can fail: on a database without the migrations it lists every table."""
    differences = schema_differences(scratch_url)
    added = {diff[1].name for diff in differences if diff[0] == "add_table"}
    assert added == {table.name for table in SQLModel.metadata.sorted_tables}


def test_downgrade_to_base_then_upgrade_again(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")

    command.downgrade(config, "base")
    assert tables(scratch_url) == {"alembic_version"}
    assert current_revision(scratch_url) == []
    assert (
        fetch(scratch_url, "SELECT proname FROM pg_proc WHERE proname = 'audit_events_refuse_change'") == []
    )

    command.upgrade(config, "head")
    assert schema_differences(scratch_url) == []
    assert audit_trigger(scratch_url) == [("audit_events_append_only",)]


def test_upgrade_is_idempotent_at_head(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    command.upgrade(config, "head")
    assert schema_differences(scratch_url) == []


def test_the_summary_migration_fills_in_existing_actions(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "671b90ef7cd5")
    maker, holder = uuid.uuid4(), uuid.uuid4()
    payloads = {
        "create_user": '{"username": "ana", "fullName": "Ana Lopez", "email": "ana@x.io",'
        ' "roles": ["maker"]}',
        "create_account": f'{{"userId": "{holder}", "accountNumber": "ACC123456", "accountType": "savings",'
        ' "balance": "10.00", "currency": "EUR"}',
        "create_promotion": '{"code": "P-1", "name": "Sale", "discountType": "fixed",'
        ' "discountValue": "5.00", "startDate": "2027-01-01", "endDate": "2027-02-01"}',
        "retired_type": "{}",
    }

    async def seed() -> None:
        conn = await asyncpg.connect(scratch_url)
        try:
            for user_id, name in ((maker, "mo"), (holder, "bo")):
                await conn.execute(
                    "INSERT INTO users (id, username, email, full_name, roles, is_active, failed_logins,"
                    " created_at, updated_at) VALUES ($1, $2, $3, $4, '{maker}', true, 0, now(), now())",
                    user_id,
                    name,
                    f"{name}@x.io",
                    name.title(),
                )
            for action_type, payload in payloads.items():
                await conn.execute(
                    "INSERT INTO workflow_actions (id, action_type, status, payload, maker_id,"
                    " required_approvals, approvals, created_at, updated_at)"
                    " VALUES ($1, $2, 'pending', $3::jsonb, $4, 1, 0, now(), now())",
                    uuid.uuid4(),
                    action_type,
                    payload,
                    maker,
                )
        finally:
            await conn.close()

    async def summaries() -> dict[str, str]:
        conn = await asyncpg.connect(scratch_url)
        try:
            rows = await conn.fetch("SELECT action_type, summary FROM workflow_actions")
        finally:
            await conn.close()
        return {row["action_type"]: row["summary"] for row in rows}

    run_blocking(seed)
    command.upgrade(config, "3ad553a3af25")

    assert run_blocking(summaries) == {
        "create_user": "Create user ana (Ana Lopez, ana@x.io) as maker",
        "create_account": "Open savings account ACC123456 for Bo (bo, bo@x.io) with 10.00 EUR",
        "create_promotion": "Promotion P-1 (Sale): 5.00 off, 2027-01-01 to 2027-02-01",
        "retired_type": "retired_type",
    }


PROMOTION_TIMESTAMPS = "3c7e1a9d5f20"


def test_promotion_dates_become_their_midnight_utc_and_back(scratch_url):
    config = alembic_config(scratch_url)
    before = ScriptDirectory.from_config(config).get_revision(PROMOTION_TIMESTAMPS).down_revision
    command.upgrade(config, before)
    fetch(
        scratch_url,
        "INSERT INTO promotions (id, code, name, discount_type, discount_value, start_date, end_date,"
        " is_active, created_at, updated_at) VALUES (gen_random_uuid(), 'OLD-1', 'Old', 'fixed', 5,"
        " '2027-03-01', '2027-03-31', true, now(), now())",
    )

    command.upgrade(config, PROMOTION_TIMESTAMPS)
    rows = fetch(scratch_url, "SELECT start_date, end_date FROM promotions")
    assert rows == [(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 31, tzinfo=UTC))]
    kinds = fetch(
        scratch_url,
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'promotions'"
        " AND column_name IN ('start_date', 'end_date')",
    )
    assert kinds == [("timestamp with time zone",)] * 2

    command.downgrade(config, before)
    assert fetch(scratch_url, "SELECT start_date, end_date FROM promotions") == [
        (date(2027, 3, 1), date(2027, 3, 31))
    ]


def test_existing_audit_events_are_sealed_after_the_upgrade_and_rechained_after_a_downgrade(scratch_url):
    from app.audit import seal_pending, verify_chain
    from app.db import Database

    config = alembic_config(scratch_url)
    before_seals = ScriptDirectory.from_config(config).get_revision(AUDIT_SEALS_REVISION).down_revision
    command.upgrade(config, before_seals)  # events chained at insert time
    fetch(
        scratch_url,
        "INSERT INTO audit_events (occurred_at, event_type, details, prev_hash, hash) VALUES "
        "(now(), 'old', '{\"n\": 1}', repeat('0', 64), repeat('a', 64)), "
        "(now(), 'old', '{\"n\": 2}', repeat('a', 64), repeat('b', 64))",
    )
    command.upgrade(config, "head")
    assert fetch(scratch_url, "SELECT id, xact_id FROM audit_events ORDER BY id") == [(1, 0), (2, 0)]

    async def seal_and_verify():
        conn = await asyncpg.connect(scratch_url)
        try:
            sealed = await seal_pending(conn)
        finally:
            await conn.close()
        db = Database.connect(scratch_url, pool_size=1)
        try:
            async with db.sessions() as session:
                return sealed, await verify_chain(session)
        finally:
            await db.dispose()

    sealed, report = run_blocking(seal_and_verify)
    assert (sealed, report.ok, report.checked) == (2, True, 2)
    assert fetch(scratch_url, "SELECT event_id FROM audit_seals ORDER BY seq") == [(1,), (2,)]

    command.downgrade(config, before_seals)
    rows = fetch(scratch_url, "SELECT prev_hash, hash FROM audit_events ORDER BY id")
    assert rows[0][0] == "0" * 64
    assert rows[1][0] == rows[0][1]
    assert len({row[1] for row in rows}) == 2
    assert audit_trigger(scratch_url) == [("audit_events_append_only",)]


NORMALISE_EMAILS = "9cd892eae3b1"


def test_emails_stored_before_the_bare_address_rule_are_normalised(scratch_url):
    config = alembic_config(scratch_url)
    before = ScriptDirectory.from_config(config).get_revision(NORMALISE_EMAILS).down_revision
    command.upgrade(config, before)
    stored = {
        "ana": "  Ana.Lopez@Example.COM ",
        "bo": '"Bo" <Bo@Demo.Example.>',
        "cy": "cy@demo.example.",
        "maker": "maker@demo.example",
        "mallory": "<MAKER@demo.example>",  # the four-eyes bypass of issue 8 item 2: another's mailbox
    }
    for number, (username, email) in enumerate(stored.items()):
        fetch(
            scratch_url,
            "INSERT INTO users (id, username, email, roles, is_active, failed_logins, created_at, updated_at)"
            f" VALUES (gen_random_uuid(), '{username}', $${email}$$, '{{maker}}', true, 0,"
            f" now() + interval '{number} seconds', now())",
        )

    command.upgrade(config, NORMALISE_EMAILS)

    assert dict(fetch(scratch_url, "SELECT username, email FROM users")) == {
        "ana": "ana.lopez@example.com",
        "bo": "bo@demo.example",
        "cy": "cy@demo.example",
        "maker": "maker@demo.example",
        "mallory": "<MAKER@demo.example>",  # kept, and named in a warning: an administrator decides
    }
    command.downgrade(config, before)
    assert fetch(scratch_url, "SELECT email FROM users WHERE username = 'bo'") == [("bo@demo.example",)]


PENDING_KEYS = "5e1d7c3a9b24"


def test_pending_actions_get_their_keys_and_the_oldest_keeps_a_shared_one(scratch_url):
    config = alembic_config(scratch_url)
    before = ScriptDirectory.from_config(config).get_revision(PENDING_KEYS).down_revision
    command.upgrade(config, before)
    maker = uuid.uuid4()
    fetch(
        scratch_url,
        "INSERT INTO users (id, username, email, roles, is_active, failed_logins, created_at, updated_at)"
        f" VALUES ('{maker}', 'mo', 'mo@x.io', '{{maker}}', true, 0, now(), now())",
    )
    actions = [  # name, type, status, payload; each a second younger than the one before
        ("ana", "create_user", "pending", '{"username": "ana", "email": "ana@x.io"}'),
        ("ana-mail", "create_user", "pending", '{"username": "bo", "email": "ana@x.io"}'),
        ("account", "create_account", "pending", '{"accountNumber": "ACC123456"}'),
        ("decided", "create_promotion", "rejected", '{"code": "P-1"}'),
        ("promotion", "create_promotion", "pending", '{"code": "P-1"}'),
        ("promotion-again", "create_promotion", "pending", '{"code": "P-1"}'),
        ("link", "resend_activation", "pending", f'{{"userId": "{maker}"}}'),
        ("change", "update_user", "pending", f'{{"userId": "{maker}", "fullName": "Mo"}}'),
    ]
    for number, (name, action_type, status, payload) in enumerate(actions):
        fetch(
            scratch_url,
            "INSERT INTO workflow_actions (id, action_type, status, payload, summary, maker_id,"
            " required_approvals, approvals, created_at, updated_at) VALUES (gen_random_uuid(),"
            f" '{action_type}', '{status}', '{payload}'::jsonb, '{name}', '{maker}', 1, 0,"
            f" now() + interval '{number} seconds', now())",
        )

    command.upgrade(config, PENDING_KEYS)

    keys = {
        row[0]: row[1:]
        for row in fetch(scratch_url, "SELECT summary, unique_key_1, unique_key_2 FROM workflow_actions")
    }
    assert keys == {
        "ana": ("username:ana", "email:ana@x.io"),
        "ana-mail": ("username:bo", None),  # the email is the older request's
        "account": ("account number:ACC123456", None),
        "decided": (None, None),
        "promotion": ("promotion code:P-1", None),
        "promotion-again": (None, None),
        "link": (f"activation link of user:{maker}", None),
        "change": (None, None),
    }
    with pytest.raises(asyncpg.UniqueViolationError):
        fetch(
            scratch_url, "UPDATE workflow_actions SET unique_key_1 = 'username:ana' WHERE summary = 'account'"
        )
    command.downgrade(config, before)
    assert (
        fetch(
            scratch_url,
            "SELECT column_name FROM information_schema.columns WHERE column_name LIKE 'unique_key%'",
        )
        == []
    )


RECORDS_SEARCH = "5ee4a08b6fb4"
"""Migration records_search (issue 10 item 5): user changes submitted before update_user and
resend_activation named their user get it in record_ids, so that user's page shows them too."""


def test_user_changes_stored_before_get_their_user_as_the_record_they_change(scratch_url):
    config = alembic_config(scratch_url)
    before = ScriptDirectory.from_config(config).get_revision(RECORDS_SEARCH).down_revision
    command.upgrade(config, before)
    maker, target = uuid.uuid4(), uuid.uuid4()
    fetch(
        scratch_url,
        "INSERT INTO users (id, username, email, roles, is_active, failed_logins, created_at, updated_at)"
        f" VALUES ('{maker}', 'admin', 'admin@demo.example', '{{admin}}', true, 0, now(), now())",
    )
    payloads = {
        "update_user": f'{{"userId": "{target}", "fullName": "Renamed"}}',
        "resend_activation": f'{{"userId": "{target}"}}',
        "create_promotion": '{"code": "SPRING10"}',
    }
    for action_type, payload in payloads.items():
        fetch(
            scratch_url,
            "INSERT INTO workflow_actions (id, action_type, status, payload, maker_id, required_approvals,"
            f" approvals, created_at, updated_at) VALUES (gen_random_uuid(), '{action_type}', 'pending',"
            f" '{payload}', '{maker}', 1, 0, now(), now())",
        )

    command.upgrade(config, RECORDS_SEARCH)

    marked = dict(fetch(scratch_url, "SELECT action_type, record_ids FROM workflow_actions"))
    assert marked == {"update_user": [target], "resend_activation": [target], "create_promotion": None}
    extensions = fetch(scratch_url, "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
    assert extensions == [("pg_trgm",)]
    command.downgrade(config, before)
    indexes = fetch(scratch_url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%pattern%'")
    assert indexes == []
