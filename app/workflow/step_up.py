"""Step-up re-authentication: approving an action whose pinned policy says step_up needs the
reviewer's password again, in the same request.

The password is checked before the review's transaction begins and before its row lock is taken:
an Argon2 verification costs tens of milliseconds on the few Argon2 threads, and a request waiting
for one must hold neither a lock other reviewers wait for nor a connection idle in a transaction.
So what it needs (which actions ask for a step-up, the reviewer's hash) is read on a pooled
autocommit connection, given back before the verification. A wrong password counts as a failed
login: the login throttle's admission and failure budget for the caller's address, and the
account's own count and lockout (app.accounts.login), recorded in a short transaction of its own.

The password is never logged, stored or echoed: it goes from the request to the verifier only.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from sqlalchemy import UUID, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.accounts import login as logins
from app.accounts import passwords
from app.accounts.throttle import LoginRefused, LoginThrottle
from app.actions import get_action_type
from app.db import Database, DriverStatement, autocommit_driver
from app.errors import PASSWORD_NEEDED, DomainError, StepUpRefused
from app.models import ActionPolicy, ActionStatus, User, WorkflowAction

ACTIONS = WorkflowAction.__table__
POLICIES = ActionPolicy.__table__
USERS = User.__table__

WRONG_PASSWORD = "The password is not right"
LOCKED = "Your account is locked for 15 minutes after 5 failed attempts"

_PINNED = DriverStatement.of(
    select(ACTIONS.c.id, ACTIONS.c.action_type, ACTIONS.c.policy_version, POLICIES.c.step_up)
    .select_from(
        ACTIONS.outerjoin(
            POLICIES,
            and_(
                POLICIES.c.action_type == ACTIONS.c.action_type,
                POLICIES.c.version == ACTIONS.c.policy_version,
            ),
        )
    )
    .where(
        ACTIONS.c.id == func.any(bindparam("ids", type_=ARRAY(UUID))),
        ACTIONS.c.status == ActionStatus.PENDING.value,
    )
)
_CREDENTIALS = DriverStatement.of(
    select(USERS.c.password_hash, USERS.c.locked_until).where(USERS.c.id == bindparam("user_id"))
)


class TooManyAttempts(DomainError):
    """The login throttle did not admit the verification (429 for the address, 503 when busy)."""

    def __init__(self, refused: LoginRefused) -> None:
        super().__init__(refused.message, details={"password": refused.message})
        self.status_code = refused.status_code


def _needs_step_up(row: Any) -> bool:
    if row["policy_version"] == 0:
        kind = get_action_type(row["action_type"])
        return bool(kind and kind.default_step_up)
    return bool(row["step_up"])


async def needing_step_up(db: Database, action_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The pending actions among these whose pinned policy asks for the password to approve."""
    ids = list(action_ids)
    if not ids:
        return set()
    async with db.autocommit() as connection:
        rows = await _PINNED.fetch(await autocommit_driver(connection), ids=ids)
    return {row["id"] for row in rows if _needs_step_up(row)}


@dataclass(frozen=True)
class Caller:
    """Who enters the password, and from where (the throttle counts by address)."""

    user: User
    address: str

    @classmethod
    def of(cls, request: Request[User, Any, Any]) -> "Caller":
        return cls(request.user, request.client.host if request.client else "unknown")


async def verify_password_again(
    db: Database, throttle: LoginThrottle, caller: Caller, password: str | None
) -> None:
    """Raises StepUpRefused (no password, a wrong one, a locked account) or TooManyAttempts.

    Holds no database connection while the hash is verified."""
    if not password:
        raise StepUpRefused(PASSWORD_NEEDED)
    try:
        ticket = throttle.admit(caller.address)
    except LoginRefused as refused:
        raise TooManyAttempts(refused) from None
    failed = False  # an attempt that ends in an error is not counted against the address
    try:
        async with db.autocommit() as connection:
            found = await _CREDENTIALS.fetchrow(await autocommit_driver(connection), user_id=caller.user.id)
        if found is None:
            raise StepUpRefused(WRONG_PASSWORD)
        if logins.is_locked(found["locked_until"]):
            raise StepUpRefused(LOCKED)
        # the connection is back in the pool: only the Argon2 thread works on this request now
        right = await passwords.verify_password_async(found["password_hash"], password)
        failed = not right
    finally:
        throttle.settle(ticket, failed=failed)
    if failed:
        async with db.sessions() as session, session.begin():
            await logins.count_failed_reauthentication(session=session, user_id=caller.user.id)
        raise StepUpRefused(WRONG_PASSWORD)


async def step_up_for_approval(
    request: Request[User, Any, Any], action_id: uuid.UUID, password: str | None
) -> bool:
    """Whether the approval of this action was stepped up: True once the password is verified, False
    without a password or when its policy does not ask for one (without one, the review refuses the
    approval under its lock if the policy asks: no query here on the usual path). Raises
    StepUpRefused or TooManyAttempts. Call it before the request's transaction begins."""
    db: Database = request.app.state.db
    if not password or action_id not in await needing_step_up(db, [action_id]):
        return False
    await verify_password_again(db, request.app.state.login_throttle, Caller.of(request), password)
    return True
