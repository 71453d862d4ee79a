"""Existing records for the update types' tests: accounts and promotions put straight into the database."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from app.db import Database
from app.models import Account, Promotion


async def make_account(
    db: Database, owner_id: Any, *, balance: str = "0.00", status: str = "active"
) -> Account:
    account = Account(
        user_id=uuid.UUID(str(owner_id)),
        account_number="AC" + uuid.uuid4().hex[:10].upper(),
        account_type="savings",
        balance=Decimal(balance),
        currency="EUR",
        status=status,
    )
    async with db.sessions() as session, session.begin():
        session.add(account)
    return account


async def make_promotion(db: Database, **overrides: Any) -> Promotion:
    values: dict[str, Any] = {
        "code": "PR-" + uuid.uuid4().hex[:8].upper(),
        "name": "Spring sale",
        "description": "Ten percent off",
        "discount_type": "percentage",
        "discount_value": Decimal("10.00"),
        "start_date": datetime(2027, 3, 1, tzinfo=UTC),
        "end_date": datetime(2027, 3, 31, tzinfo=UTC),
    } | overrides
    promotion = Promotion(**values)
    async with db.sessions() as session, session.begin():
        session.add(promotion)
    return promotion


async def row(db: Database, statement: str, **params: Any) -> Any:
    """The first row of a query (None when there is none)."""
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return result.first() if result.returns_rows else None
