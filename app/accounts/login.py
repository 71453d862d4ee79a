"""Password login with throttling, and account activation through a one-time link."""

import uuid
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.passwords import hash_password_async, password_problem, verify_password_async
from app.accounts.service import find_user
from app.accounts.tokens import digest
from app.audit import record_event
from app.errors import InvalidInput, NotFound
from app.models import ActivationToken, SessionRecord, User, utcnow

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
LOGIN_FAILED_MESSAGE = (
    "Wrong username or password, or the account is locked for 15 minutes after 5 failed attempts."
)


async def authenticate(*, session: AsyncSession, username: str, password: str) -> User | None:
    """The user when the credentials are right and the account is usable; None otherwise.

    Failed attempts are counted and audited; the fifth locks the account for LOCKOUT.
    The caller must commit even when this returns None, so the count is kept.
    """
    user = await find_user(session=session, username=username)
    # always verify a hash, so response time does not tell whether the username exists
    password_ok = await verify_password_async(user.password_hash if user else None, password)
    if user is not None:
        # attempts on one account take turns, so parallel guesses are all counted
        await session.refresh(user, with_for_update=True)
    locked = user is not None and is_locked(user.locked_until)
    if user is not None and password_ok and user.is_active and not locked:
        user.failed_logins, user.locked_until = 0, None
        user.last_login_at = utcnow()
        session.add(user)
        # logins are rare next to requests: a fitting moment to forget sessions that have expired
        await session.exec(delete(SessionRecord).where(col(SessionRecord.expires_at) < utcnow()))
        await record_event(session=session, event_type="login_succeeded", actor_id=user.id)
        return user
    if user is not None and not locked:
        await _count_failure(session, user)
    # never the typed text: a username that matches no one may be a password typed in the wrong box;
    # a known user is named by actor_id
    details = {"knownUser": user is not None, "locked": locked}
    await record_event(
        session=session, event_type="login_failed", actor_id=user.id if user else None, details=details
    )
    return None


def is_locked(locked_until: datetime | None) -> bool:
    """Whether an account's locked_until still locks it (MAX_FAILED_LOGINS failures lock it for LOCKOUT)."""
    return locked_until is not None and locked_until > utcnow()


async def count_failed_reauthentication(*, session: AsyncSession, user_id: uuid.UUID) -> None:
    """A signed-in user's wrong password, entered again to confirm an approval (step-up), counts as
    a failed login: the same count and lockout as the login form's, and the same audit event.
    The caller commits, as for authenticate."""
    user = await session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        return
    locked = is_locked(user.locked_until)
    if not locked:
        await _count_failure(session, user)
    details = {"knownUser": True, "locked": locked, "stepUp": True}
    await record_event(session=session, event_type="login_failed", actor_id=user.id, details=details)


async def _count_failure(session: AsyncSession, user: User) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.failed_logins, user.locked_until = 0, utcnow() + LOCKOUT
        await record_event(session=session, event_type="account_locked", actor_id=user.id)
    session.add(user)
    await session.flush()


async def find_activation(*, session: AsyncSession, token: str, lock: bool = False) -> ActivationToken:
    """The unused, unexpired activation token; raises NotFound otherwise.

    With lock, concurrent uses wait for each other, and only the first finds the link unused.
    """
    statement = select(ActivationToken).where(
        ActivationToken.token_hash == digest(token),
        col(ActivationToken.used_at).is_(None),
        ActivationToken.expires_at > utcnow(),
    )
    found = (await session.exec(statement.with_for_update() if lock else statement)).first()
    if found is None:
        raise NotFound("This activation link is not valid: it was used already, has expired, or is wrong.")
    return found


async def activate_account(*, session: AsyncSession, token: str, password: str, confirm: str) -> User:
    """Set the user's first password and spend the link.

    Raises:
        NotFound: the link is not valid.
        InvalidInput: the password is not acceptable or the two entries differ.
    """
    activation = await find_activation(session=session, token=token, lock=True)
    problem = password_problem(password)
    if problem:
        raise InvalidInput("Choose another password", details={"password": problem})
    if password != confirm:
        raise InvalidInput("The passwords differ", details={"confirm": "Type the same password twice"})
    user = await session.get(User, activation.user_id, with_for_update=True)
    if user is None or not user.is_active:
        raise NotFound("This account is not active.")
    user.password_hash = await hash_password_async(password)
    user.updated_at = activation.used_at = utcnow()
    session.add_all([user, activation])
    await session.flush()
    await record_event(session=session, event_type="account_activated", actor_id=user.id)
    return user
