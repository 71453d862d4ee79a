"""close_account: close an account whose balance is exactly zero (checked at submission and again,
with the account locked, at execution). Its status becomes closed: it neither sends nor receives."""

import uuid
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import accounts_common
from app.actions.base import ActionRefused, ActionType, ExecutionContext, FieldErrors, Payload
from app.models import Account, utcnow


class CloseAccountPayload(Payload):
    account_id: uuid.UUID


# the payload names only the account: what it changes is its status, to closed
UPDATES = accounts_common.account_update(proposed=lambda payload: {"status": accounts_common.CLOSED})


def _problem(account: Account | None) -> FieldErrors:
    if account is None:
        return {"accountId": accounts_common.NO_ACCOUNT}
    if account.status == accounts_common.CLOSED:
        return {"accountId": f"The account {account.account_number} is already closed"}
    if account.balance != Decimal("0"):
        return {
            "accountId": f"The account {account.account_number} holds {account.balance:,.2f} "
            f"{account.currency}: only an account with a zero balance can be closed"
        }
    return {}


async def summarize(session: AsyncSession, payload: CloseAccountPayload) -> str:
    return f"Close {await accounts_common.describe(session, payload.account_id)}"


async def check_current_data(session: AsyncSession, payload: CloseAccountPayload) -> FieldErrors:
    return _problem(await session.get(Account, payload.account_id))


async def apply(ctx: ExecutionContext, payload: CloseAccountPayload) -> dict[str, Any]:
    # locked first: a transfer approved meanwhile either lands before (and the balance is not zero)
    # or waits and then finds the account closed
    account = await accounts_common.locked(ctx.session, payload.account_id)
    problem = _problem(account)
    if problem:
        raise ActionRefused(next(iter(problem.values())), field="accountId")
    account.status, account.updated_at = accounts_common.CLOSED, utcnow()
    ctx.session.add(account)
    await ctx.session.flush()
    return {"accountId": str(account.id), "accountNumber": account.account_number, "status": account.status}


ACTION = ActionType(
    name="close_account",
    label="Close account",
    payload_model=CloseAccountPayload,
    summarize=summarize,
    sample={"accountId": "7d0b9a58-3c1e-4a57-9f0c-2f5f0e1b2c3d"},
    check_current_data=check_current_data,
    apply=apply,
    records=UPDATES.records,
    prefill=UPDATES.prefill,
    updates=UPDATES,
)
