"""update_account_status: freeze an account (it neither sends nor receives money) or make it active
again. A closed account stays closed."""

import uuid
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import accounts_common
from app.actions.base import ActionRefused, ActionType, ExecutionContext, FieldErrors, Payload
from app.models import Account, utcnow


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class UpdateAccountStatusPayload(Payload):
    account_id: uuid.UUID
    status: AccountStatus


UPDATES = accounts_common.account_update()


def _problem(account: Account | None, payload: UpdateAccountStatusPayload) -> FieldErrors:
    if account is None:
        return {"accountId": accounts_common.NO_ACCOUNT}
    if account.status == accounts_common.CLOSED:
        return {"accountId": f"The account {account.account_number} is closed: it stays closed"}
    if account.status == payload.status.value:
        return {"status": f"The account {account.account_number} is already {account.status}"}
    return {}


async def summarize(session: AsyncSession, payload: UpdateAccountStatusPayload) -> str:
    verb = "Freeze" if payload.status is AccountStatus.FROZEN else "Reactivate"
    return f"{verb} {await accounts_common.describe(session, payload.account_id)}"


async def check_current_data(session: AsyncSession, payload: UpdateAccountStatusPayload) -> FieldErrors:
    return _problem(await session.get(Account, payload.account_id), payload)


async def apply(ctx: ExecutionContext, payload: UpdateAccountStatusPayload) -> dict[str, Any]:
    account = await accounts_common.locked(ctx.session, payload.account_id)
    problem = _problem(account, payload)
    if problem:
        field, message = next(iter(problem.items()))
        raise ActionRefused(message, field=field)
    before = account.status
    account.status, account.updated_at = payload.status.value, utcnow()
    ctx.session.add(account)
    await ctx.session.flush()
    return {
        "accountId": str(account.id),
        "accountNumber": account.account_number,
        "status": account.status,
        "statusBefore": before,
    }


ACTION = ActionType(
    name="update_account_status",
    label="Freeze or reactivate account",
    payload_model=UpdateAccountStatusPayload,
    summarize=summarize,
    sample={"accountId": "7d0b9a58-3c1e-4a57-9f0c-2f5f0e1b2c3d", "status": "frozen"},
    check_current_data=check_current_data,
    apply=apply,
    records=UPDATES.records,
    prefill=UPDATES.prefill,
    updates=UPDATES,
)
