"""Records for the records tests, put in by plain SQL (as a back office's existing data would be)."""

import uuid
from typing import Any

from sqlalchemy import text

from app.db import Database


async def run(db: Database, statement: str, **params: Any) -> list[Any]:
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


async def add_accounts(
    db: Database, holder: uuid.UUID, numbers: list[str], *, balance: str = "100.00", status: str = "active"
) -> dict[str, str]:
    """Accounts of `holder`, by number: their ids."""
    rows = await run(
        db,
        "INSERT INTO accounts (id, user_id, account_number, account_type, balance, currency, status, "
        "created_at, updated_at) SELECT gen_random_uuid(), :holder, n, 'checking', "
        "CAST(:balance AS numeric), 'EUR', :status, now(), now() "
        "FROM unnest(CAST(:numbers AS text[])) AS n RETURNING account_number, id",
        holder=holder,
        numbers=numbers,
        balance=balance,
        status=status,
    )
    return {number: str(account_id) for number, account_id in rows}


async def add_promotions(db: Database, codes_and_names: list[tuple[str, str]]) -> dict[str, str]:
    rows = await run(
        db,
        "INSERT INTO promotions (id, code, name, description, discount_type, discount_value, start_date, "
        "end_date, is_active, created_at, updated_at) "
        "SELECT gen_random_uuid(), c.code, c.name, 'Test promotion', 'percentage', 10, "
        "timestamptz '2027-03-01', timestamptz '2027-03-31', true, now(), now() "
        "FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[])) AS c(code, name) RETURNING code, id",
        codes=[code for code, _ in codes_and_names],
        names=[name for _, name in codes_and_names],
    )
    return {code: str(promotion_id) for code, promotion_id in rows}


async def add_ledger(
    db: Database, account_id: str, amounts: list[str], counterparty: str | None = None
) -> None:
    """Ledger entries in this order (ids ascending), each with its running balance."""
    await run(
        db,
        "INSERT INTO ledger_entries (account_id, counterparty_account_id, amount, balance_after, currency, "
        "reference, created_at) SELECT :account, :counterparty, CAST(a AS numeric), "
        "100 + sum(CAST(a AS numeric)) OVER (ORDER BY i), 'EUR', 'entry ' || i, now() "
        "FROM unnest(CAST(:amounts AS text[])) WITH ORDINALITY AS t(a, i) ORDER BY i",
        account=account_id,
        counterparty=counterparty,
        amounts=amounts,
    )


async def mark_pending_on(db: Database, action_id: str, record_id: str) -> None:
    """Make a pending action one that changes this record, as a type's records() would say."""
    await run(
        db,
        "UPDATE workflow_actions SET record_ids = ARRAY[CAST(:record AS uuid)] WHERE id = :id",
        record=record_id,
        id=action_id,
    )
