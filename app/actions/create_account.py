"""create_account: open an account for an existing, active user."""

import uuid
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Field
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions.base import ActionType, Amount, ExecutionContext, FieldErrors, Payload, UniqueKey
from app.db import exists
from app.models import Account, User
from app.text import Text


class AccountType(StrEnum):
    SAVINGS = "savings"
    CHECKING = "checking"
    INVESTMENT = "investment"


class CreateAccountPayload(Payload):
    user_id: uuid.UUID
    account_number: Annotated[Text, Field(pattern=r"^[A-Z0-9]{6,34}$")]
    account_type: AccountType
    balance: Amount
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$")]

    format_hints: ClassVar[dict[str, str]] = {
        "accountNumber": "Use 6 to 34 capital letters or digits",
        "currency": "Use a 3-letter ISO code in capitals, such as EUR",
    }


async def summarize(session: AsyncSession, payload: CreateAccountPayload) -> str:
    return (
        f"Open {payload.account_type.value} account {payload.account_number} "
        f"for {await _holder(session, payload.user_id)} with {payload.balance} {payload.currency}"
    )


async def _holder(session: AsyncSession, user_id: uuid.UUID) -> str:
    owner = await session.get(User, user_id)
    if owner is None:
        return f"user {user_id}"
    return f"{owner.full_name or owner.username} ({owner.username}, {owner.email})"


async def check_current_data(session: AsyncSession, payload: CreateAccountPayload) -> FieldErrors:
    errors: FieldErrors = {}
    owner = await session.get(User, payload.user_id)
    if owner is None:
        errors["userId"] = "No user has this id"
    elif not owner.is_active:
        errors["userId"] = f"The user {owner.username} is disabled"
    if await exists(session, Account.account_number == payload.account_number):
        errors["accountNumber"] = f"The account number {payload.account_number} is already in use"
    return errors


async def apply(ctx: ExecutionContext, payload: CreateAccountPayload) -> dict[str, Any]:
    account = Account(
        user_id=payload.user_id,
        account_number=payload.account_number,
        account_type=payload.account_type.value,
        balance=payload.balance,
        currency=payload.currency,
    )
    ctx.session.add(account)
    await ctx.session.flush()
    return {"accountId": str(account.id), "accountNumber": account.account_number}


async def form_options(session: AsyncSession) -> dict[str, Any]:
    users = await session.exec(select(User).where(User.is_active).order_by(User.username))
    return {"owners": [(str(user.id), f"{user.username} ({user.full_name or user.email})") for user in users]}


ACTION = ActionType(
    name="create_account",
    label="Open account",
    payload_model=CreateAccountPayload,
    summarize=summarize,
    sample={
        "userId": "7d0b9a58-3c1e-4a57-9f0c-2f5f0e1b2c3d",
        "accountNumber": "ACC123456",
        "accountType": "savings",
        "balance": "1000.00",
        "currency": "EUR",
    },
    check_current_data=check_current_data,
    apply=apply,
    form_options=form_options,
    unique_keys=(UniqueKey("account number", "accountNumber", lambda payload: payload.account_number),),
)
