"""transfer_funds: move money from one account to another in their common currency.

At execution both account rows are locked in one fixed order (by id), so two transfers between
the same accounts in opposite directions wait for each other instead of deadlocking; currency,
status and funds are checked again on the locked rows, both balances change, and each leg gets
a ledger entry, all in the approval's transaction.
"""

import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, field_validator
from sqlalchemy import bindparam, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions.base import ActionRefused, ActionType, Amount, ExecutionContext, FieldErrors, Payload
from app.models import Account, LedgerEntry, User
from app.text import Text

ACCOUNTS = Account.__table__
USERS = User.__table__
MAX_BALANCE = Decimal("9999999999999999.99")
"""The largest balance accounts.balance (NUMERIC(18, 2)) can hold."""
ACTIVE = "active"
UNKNOWN_ACCOUNT = "No account has this number or id"


def _account_id(value: Any) -> uuid.UUID:
    """An account's id; the browser form's account numbers are resolved to ids before this (see
    form_payload), so anything else names no account."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value.strip())
        except ValueError:
            pass
    raise ValueError(UNKNOWN_ACCOUNT)


AccountId = Annotated[uuid.UUID, BeforeValidator(_account_id)]


class TransferFundsPayload(Payload):
    from_account_id: AccountId
    to_account_id: AccountId
    amount: Amount
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$")]
    reference: Annotated[Text, Field(min_length=1, max_length=140)]

    format_hints: ClassVar[dict[str, str]] = {
        "currency": "Use a 3-letter ISO code in capitals, such as EUR",
    }

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("Must be more than 0")
        return value


_ACCOUNT_COLUMNS = (
    ACCOUNTS.c.id,
    ACCOUNTS.c.account_number,
    ACCOUNTS.c.balance,
    ACCOUNTS.c.currency,
    ACCOUNTS.c.status,
)
_BOTH = bindparam("ids", expanding=True)
_READ = select(*_ACCOUNT_COLUMNS).where(ACCOUNTS.c.id.in_(_BOTH))
# ORDER BY runs below the row locks: the rows are locked in id order, whichever way the money goes
_LOCK_IN_ID_ORDER = _READ.order_by(ACCOUNTS.c.id).with_for_update()


async def _accounts(
    session: AsyncSession, payload: TransferFundsPayload, *, lock: bool
) -> dict[uuid.UUID, Any]:
    connection = await session.connection()
    ids = [payload.from_account_id, payload.to_account_id]
    rows = await connection.execute(_LOCK_IN_ID_ORDER if lock else _READ, {"ids": ids})
    return {row.id: row for row in rows}


def _conflicts(payload: TransferFundsPayload, accounts: dict[uuid.UUID, Any]) -> FieldErrors:
    """What refuses the transfer, by field, given the two accounts as they are."""
    if payload.from_account_id == payload.to_account_id:
        return {"toAccountId": "Choose an account other than the one paying"}
    errors: FieldErrors = {}
    source = accounts.get(payload.from_account_id)
    target = accounts.get(payload.to_account_id)
    for field, account in (("fromAccountId", source), ("toAccountId", target)):
        if account is None:
            errors[field] = "No account has this id"
        elif account.status != ACTIVE:
            errors[field] = (
                f"Account {account.account_number} is {account.status}: it neither sends nor receives"
            )
        elif account.currency != payload.currency:
            errors[field] = (
                f"Account {account.account_number} holds {account.currency}, not {payload.currency}"
            )
    if errors:
        return errors
    if source.balance < payload.amount:
        held = f"{source.balance} {source.currency}"
        return {"amount": f"Insufficient funds: account {source.account_number} holds {held}"}
    if target.balance > MAX_BALANCE - payload.amount:
        full = f"Account {target.account_number} cannot hold more: its balance would pass {MAX_BALANCE}"
        return {"amount": full}
    return {}


async def check_current_data(session: AsyncSession, payload: TransferFundsPayload) -> FieldErrors:
    """Read without locks: at execution apply checks again on the locked rows."""
    return _conflicts(payload, await _accounts(session, payload, lock=False))


async def summarize(session: AsyncSession, payload: TransferFundsPayload) -> str:
    connection = await session.connection()
    rows = await connection.execute(
        select(ACCOUNTS.c.id, ACCOUNTS.c.account_number, USERS.c.username, USERS.c.full_name)
        .join(USERS, USERS.c.id == ACCOUNTS.c.user_id)
        .where(ACCOUNTS.c.id.in_(_BOTH)),
        {"ids": [payload.from_account_id, payload.to_account_id]},
    )
    named = {row.id: f"{row.account_number} ({row.full_name or row.username})" for row in rows}

    def name(account_id: uuid.UUID) -> str:
        return named.get(account_id, f"account {account_id}")

    return (
        f"Transfer {payload.amount} {payload.currency} from {name(payload.from_account_id)} "
        f"to {name(payload.to_account_id)}: {payload.reference}"
    )


def _refuse(errors: FieldErrors) -> None:
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ActionRefused(message, field=field_name)


def _move(account_id: uuid.UUID, change: Decimal) -> Any:
    """The balance change, guarded as well: it touches no row that would go below zero or past the
    largest balance (the row is locked and was checked, so this is belt and braces)."""
    guard = ACCOUNTS.c.balance >= -change if change < 0 else ACCOUNTS.c.balance <= MAX_BALANCE - change
    return (
        update(ACCOUNTS)
        .where(ACCOUNTS.c.id == account_id, ACCOUNTS.c.status == ACTIVE, guard)
        .values(balance=ACCOUNTS.c.balance + change)
        .returning(ACCOUNTS.c.balance)
    )


async def apply(ctx: ExecutionContext, payload: TransferFundsPayload) -> dict[str, Any]:
    accounts = await _accounts(ctx.session, payload, lock=True)
    _refuse(_conflicts(payload, accounts))
    connection = await ctx.session.connection()
    source = accounts[payload.from_account_id]
    target = accounts[payload.to_account_id]
    after: dict[uuid.UUID, Decimal] = {}
    for account, change in ((source, -payload.amount), (target, payload.amount)):
        moved = (await connection.execute(_move(account.id, change))).scalar_one_or_none()
        if moved is None:
            raise ActionRefused(f"The balance of account {account.account_number} changed: try again")
        after[account.id] = moved
    legs = [
        LedgerEntry(
            account_id=account.id,
            action_id=ctx.action_id,
            counterparty_account_id=other.id,
            amount=change,
            balance_after=after[account.id],
            currency=payload.currency,
            reference=payload.reference,
        )
        for account, other, change in ((source, target, -payload.amount), (target, source, payload.amount))
    ]
    ctx.session.add_all(legs)
    await ctx.session.flush()
    return {
        "fromAccountId": str(source.id),
        "fromAccountNumber": source.account_number,
        "fromBalance": str(after[source.id]),
        "toAccountId": str(target.id),
        "toAccountNumber": target.account_number,
        "toBalance": str(after[target.id]),
        "amount": str(payload.amount),
        "currency": payload.currency,
        "ledgerEntryIds": [leg.id for leg in legs],
    }


_ACCOUNT_FIELDS = ("fromAccountId", "toAccountId")


async def form_payload(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    """The form takes account numbers (or ids): numbers become ids; unknown ones stay as typed."""
    numbers = {
        field: values[field].strip().upper()
        for field in _ACCOUNT_FIELDS
        if isinstance(values.get(field), str) and not _is_uuid(values[field])
    }
    if not numbers:
        return values
    connection = await session.connection()
    rows = await connection.execute(
        select(ACCOUNTS.c.account_number, ACCOUNTS.c.id).where(
            ACCOUNTS.c.account_number.in_(bindparam("numbers", expanding=True))
        ),
        {"numbers": list(set(numbers.values()))},
    )
    ids = {row.account_number: str(row.id) for row in rows}
    return values | {field: ids[number] for field, number in numbers.items() if number in ids}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text.strip())
    except ValueError:
        return False
    return True


async def prefill(session: AsyncSession, account_id: uuid.UUID) -> dict[str, Any] | None:
    """A transfer from this account, in its currency; None when there is no such account."""
    connection = await session.connection()
    row = (
        await connection.execute(
            select(ACCOUNTS.c.account_number, ACCOUNTS.c.currency).where(ACCOUNTS.c.id == account_id)
        )
    ).first()
    return {"fromAccountId": row.account_number, "currency": row.currency} if row else None


ACTION = ActionType(
    name="transfer_funds",
    label="Transfer funds",
    payload_model=TransferFundsPayload,
    summarize=summarize,
    sample={
        "fromAccountId": "0b4f3f7e-9a7c-4c59-8d3a-1f0e2d3c4b5a",
        "toAccountId": "5c6d7e8f-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
        "amount": "250.00",
        "currency": "EUR",
        "reference": "Invoice 2026-118",
    },
    check_current_data=check_current_data,
    apply=apply,
    records=lambda payload: [payload.from_account_id, payload.to_account_id],
    amount=lambda payload: payload.amount,
    default_step_up=True,
    form_payload=form_payload,
    prefill=prefill,
)
