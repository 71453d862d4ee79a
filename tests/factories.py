"""Plain async helpers that put users and actions in the test database."""

import email
import email.policy
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text

from app.accounts.service import create_user_directly
from app.accounts.tokens import digest, issue_api_token
from app.actions import get_action_type
from app.actions.base import ActionType, ExecutionContext, InvalidPayload
from app.db import Database
from app.models import ActivationToken, User, utcnow
from app.settings import get_settings


@dataclass(frozen=True)
class Actor:
    user: User
    token: str

    @property
    def id(self) -> str:
        return str(self.user.id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_actor(
    db: Database, *roles: str, username: str | None = None, password: str | None = None
) -> Actor:
    """A user with the given roles and an API token."""
    name = username or f"{'-'.join(roles) or 'nobody'}-{uuid.uuid4().hex[:8]}"
    async with db.sessions() as session, session.begin():
        user = await create_user_directly(
            session=session,
            username=name,
            email=f"{name}@test.example",
            roles=list(roles),
            full_name=name.title(),
            password=password,
            via="test",
        )
        token = await issue_api_token(session=session, user=user, name="test")
    return Actor(user=user, token=token)


def _sample(name: str) -> dict[str, Any]:
    kind = get_action_type(name)
    assert kind is not None
    return dict(kind.sample)


def user_payload(**overrides: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    unique = {"email": f"u{suffix}@example.com", "username": f"user{suffix}", "fullName": "New User"}
    return (
        {key: value for key, value in _sample("create_user").items() if key != "roles"} | unique | overrides
    )


def account_payload(user_id: str, **overrides: Any) -> dict[str, Any]:
    number = "AC" + uuid.uuid4().hex[:10].upper()
    return _sample("create_account") | {"userId": user_id, "accountNumber": number} | overrides


def promotion_payload(**overrides: Any) -> dict[str, Any]:
    return _sample("create_promotion") | {"code": "PROMO-" + uuid.uuid4().hex[:6].upper()} | overrides


async def submit(client: Any, actor: Actor, action_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit through the API and return the created action's JSON; fails the test on any other answer."""
    response = await client.post(
        "/api/workflow/actions", json={"actionType": action_type, "payload": payload}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def review(
    client: Any, actor: Actor, action_id: str, status: str = "approved", comment: str | None = None
) -> Any:
    """Approve or reject through the API and return the raw response."""
    body: dict[str, Any] = {"status": status}
    if comment is not None:
        body["reviewComment"] = comment
    return await client.post(f"/api/workflow/actions/{action_id}/review", json=body, headers=actor.headers)


async def same_key_as_before_the_rule(db: Database, action: dict[str, Any], **payload: Any) -> None:
    """Give a pending action a key another pending action has, as requests submitted before the rule
    against duplicates can share one (the migration leaves the younger without keys): a submission
    can no longer make two such requests, and execution must still refuse the second."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE workflow_actions SET payload = payload || CAST(:changes AS jsonb),"
                " unique_key_1 = NULL, unique_key_2 = NULL WHERE id = :id"
            ),
            {"changes": json.dumps(payload), "id": action["id"]},
        )


@dataclass
class InFlight:
    """How many calls of a function ran at once: proof that a race test's requests overlapped."""

    now: int = 0
    max: int = 0


def count_in_flight(monkeypatch: Any, module: Any, *names: str) -> InFlight:
    """Wrap each module.name (async functions taking keyword arguments) to count overlapping calls."""
    state = InFlight()

    def counted(original: Any) -> Any:
        async def counting(**kwargs: Any) -> Any:
            state.now += 1
            state.max = max(state.max, state.now)
            try:
                return await original(**kwargs)
            finally:
                state.now -= 1

        return counting

    for name in names:
        monkeypatch.setattr(module, name, counted(getattr(module, name)))
    return state


async def scalar(db: Database, statement: Any) -> Any:
    """One value read in a session of its own."""
    async with db.sessions() as session:
        return (await session.exec(statement)).one()


def activation_link(to: str) -> str:
    """The activation link of the newest mail to this address, as the development mail drop holds it."""
    mail_dir = get_settings().data_dir / "mail"
    for path in sorted(mail_dir.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] == to:
            found = re.search(r"https?://\S+/activate/\S+", message.get_body().get_content())
            assert found, "the mail has no activation link"
            return found.group(0)
    raise AssertionError(f"no mail was sent to {to}")


def field_errors(kind: ActionType, raw: dict[str, Any]) -> dict[str, str]:
    """The per-field errors the type's payload model gives for raw; fails if it accepts raw."""
    try:
        kind.parse(raw)
    except (ValidationError, InvalidPayload) as exc:
        return kind.errors_of(exc)
    raise AssertionError(f"{kind.name} accepted {raw}")


def execution_context(session: Any, maker: Actor, checker: Actor) -> ExecutionContext:
    return ExecutionContext(
        session=session,
        action_id=uuid.uuid4(),
        maker_id=maker.user.id,
        checker_id=checker.user.id,
    )


async def issue_activation(db: Database, user: User) -> str:
    """A valid activation token for the user, as create_user would issue it; returns the raw token."""
    raw = secrets.token_urlsafe(32)
    async with db.sessions() as session, session.begin():
        session.add(
            ActivationToken(user_id=user.id, token_hash=digest(raw), expires_at=utcnow() + timedelta(hours=1))
        )
    return raw


async def set_policy(db: Database, action_type: str, **settings: Any) -> None:
    """Put the type's next policy version in force directly (the tests' shortcut past update_policy)."""
    from sqlmodel import func, select

    from app.models import ActionPolicy

    async with db.sessions() as session, session.begin():
        latest = (
            await session.exec(
                select(func.coalesce(func.max(ActionPolicy.version), 0)).where(
                    ActionPolicy.action_type == action_type
                )
            )
        ).one()
        session.add(ActionPolicy(action_type=action_type, version=latest + 1, **settings))


def policy_change(target_type: str, base_version: int = 0, **settings: Any) -> dict[str, Any]:
    """An update_policy payload: the defaults, with `settings` (camelCase) changed."""
    defaults = {"enabled": True, "requiredApprovals": 1, "ttlHours": 72, "reviewerRole": "checker"}
    return {"targetType": target_type, "baseVersion": base_version} | defaults | settings


async def make_account(
    db: Database,
    owner: Actor | User,
    *,
    balance: str = "100.00",
    currency: str = "EUR",
    status: str = "active",
    number: str | None = None,
) -> Any:
    """An account put straight into the database (no create_account action), with its balance and
    status as given: for transfers, records pages and status changes. Returns the Account."""
    from decimal import Decimal

    from app.models import Account

    holder = owner.user if isinstance(owner, Actor) else owner
    account = Account(
        user_id=holder.id,
        account_number=number or "AC" + uuid.uuid4().hex[:10].upper(),
        account_type="checking",
        balance=Decimal(balance),
        currency=currency,
        status=status,
    )
    async with db.sessions() as session, session.begin():
        session.add(account)
    return account


def transfer_payload(source: Any, target: Any, **overrides: Any) -> dict[str, Any]:
    """A transfer_funds payload between two Accounts (of make_account), 10.00 in the source's currency."""
    return {
        "fromAccountId": str(source.id),
        "toAccountId": str(target.id),
        "amount": "10.00",
        "currency": source.currency,
        "reference": "Test transfer",
    } | overrides
