"""What the account update types share: finding the account, naming it, locking it to change it."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions.base import ActionRefused
from app.actions.record_updates import RecordUpdate
from app.models import Account, User

NO_ACCOUNT = "Choose an existing account"
CLOSED = "closed"


def account_update(proposed: Any = None) -> RecordUpdate:
    return RecordUpdate(
        model=Account,
        id_field="accountId",
        noun="account",
        current=lambda account: {"status": account.status},
        key=lambda account: account.account_number,
        find_by_key=lambda text: Account.account_number == text.upper(),
        key_label="Account number",
        proposed=proposed,
    )


async def describe(session: AsyncSession, account_id: uuid.UUID) -> str:
    account = await session.get(Account, account_id)
    if account is None:
        return f"account {account_id}"
    holder = await session.get(User, account.user_id)
    name = holder.username if holder else str(account.user_id)
    return (
        f"account {account.account_number} ({account.account_type}, "
        f"{account.balance:,.2f} {account.currency}, held by {name})"
    )


async def locked(session: AsyncSession, account_id: uuid.UUID) -> Account:
    """The account, locked until the transaction ends (a transfer cannot move its balance meanwhile)."""
    account = await session.get(Account, account_id, with_for_update=True, populate_existing=True)
    if account is None:
        raise ActionRefused(NO_ACCOUNT, field="accountId")
    return account
