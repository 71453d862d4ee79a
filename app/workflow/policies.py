"""Approval policies per action type (action_policies): versions, defaults, and who may approve.

A policy is never edited: an approved update_policy action adds the type's next version, and a
pending action stays pinned to the version in force when it was submitted (its policy_version).
A type without any row has its defaults, version 0, which cost no query to read.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, any_, literal, or_, select, true
from sqlmodel.ext.asyncio.session import AsyncSession

import app.actions
from app.models import ActionPolicy, ActionReview, ActionStatus, User, WorkflowAction

POLICIES = ActionPolicy.__table__
USERS = User.__table__
REVIEWS = ActionReview.__table__
ACTIONS = WorkflowAction.__table__

REVIEWER_ROLES = ("checker", "admin")
MAX_APPROVALS = 5
DEFAULT_TTL_HOURS = 72
MAX_TTL_HOURS = 24 * 365
UPDATE_POLICY = "update_policy"


@dataclass(frozen=True)
class Policy:
    action_type: str
    version: int
    enabled: bool = True
    required_approvals: int = 1
    ttl_hours: int = DEFAULT_TTL_HOURS
    reviewer_role: str = "checker"
    step_up: bool = False
    """Approving needs the checker's password again."""
    large_amount: Decimal | None = None
    """Above this amount an action needs large_amount_approvals approvals (if more than usual)."""
    large_amount_approvals: int | None = None
    created_at: datetime | None = None
    created_by: uuid.UUID | None = None
    approved_by: uuid.UUID | None = None
    action_id: uuid.UUID | None = None

    @classmethod
    def of(cls, row: Any) -> "Policy":
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def json(self) -> dict[str, Any]:
        """As the API shows it (camelCase): its settings, and where it came from."""
        return {
            "version": self.version,
            **self.settings(),
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "approvedBy": self.approved_by,
            "actionId": self.action_id,
        }

    def settings(self) -> dict[str, Any]:
        """What a change can set, by payload field (update_policy)."""
        return {
            "enabled": self.enabled,
            "requiredApprovals": self.required_approvals,
            "ttlHours": self.ttl_hours,
            "reviewerRole": self.reviewer_role,
            "stepUp": self.step_up,
            "largeAmount": self.large_amount,
            "largeAmountApprovals": self.large_amount_approvals,
        }

    def approvals_for(self, amount: Decimal | None) -> int:
        """What an action moving `amount` needs under this policy (as submission pins it in SQL)."""
        if self.large_amount is None or amount is None or amount <= self.large_amount:
            return self.required_approvals
        return max(self.required_approvals, self.large_amount_approvals or 0)

    def describe(self) -> str:
        if not self.enabled:
            return "disabled"
        approvals = "1 approval" if self.required_approvals == 1 else f"{self.required_approvals} approvals"
        described = f"{approvals} by {self.reviewer_role}, {self.ttl_hours} h to live"
        if self.large_amount is not None and self.large_amount_approvals:
            described += f", {self.large_amount_approvals} above {self.large_amount:,.2f}"
        return described + (", password to approve" if self.step_up else "")


def default_policy(action_type: str) -> Policy:
    kind = app.actions.get_action_type(action_type)
    if kind is None:
        return Policy(action_type, 0)
    return Policy(action_type, 0, reviewer_role=kind.default_reviewer_role, step_up=kind.default_step_up)


async def _fetch(session: AsyncSession, statement: Any) -> Sequence[Any]:
    connection = await session.connection()
    return (await connection.execute(statement)).all()


async def pinned_policies(
    session: AsyncSession, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], Policy]:
    """The policies by (type, version); version 0 (the defaults) needs no query."""
    wanted = set(keys)
    found = {key: default_policy(key[0]) for key in wanted if key[1] == 0}
    stored = [key for key in wanted if key[1] != 0]
    if stored:
        rows = await _fetch(
            session,
            select(POLICIES).where(
                or_(*(and_(POLICIES.c.action_type == t, POLICIES.c.version == v) for t, v in stored))
            ),
        )
        found |= {(row.action_type, row.version): Policy.of(row) for row in rows}
    return found


async def pinned_policy(session: AsyncSession, action_type: str, version: int) -> Policy:
    found = await pinned_policies(session, [(action_type, version)])
    return found.get((action_type, version)) or default_policy(action_type)


async def current_policies(session: AsyncSession) -> dict[str, Policy]:
    """Every registered type's policy in force, in the registry's order."""
    # a few rows per type: reading them all is simpler than a DISTINCT ON, and as cheap
    rows = await _fetch(session, select(POLICIES).order_by(POLICIES.c.version))
    stored = {row.action_type: Policy.of(row) for row in rows}
    return {name: stored.get(name) or default_policy(name) for name in app.actions.REGISTRY}


async def current_policy(session: AsyncSession, action_type: str) -> Policy:
    rows = await _fetch(
        session,
        select(POLICIES)
        .where(POLICIES.c.action_type == action_type)
        .order_by(POLICIES.c.version.desc())
        .limit(1),
    )
    return Policy.of(rows[0]) if rows else default_policy(action_type)


async def policy_history(session: AsyncSession, action_type: str) -> list[Policy]:
    """Every version, newest first, ending with the defaults (version 0) it started from."""
    rows = await _fetch(
        session,
        select(POLICIES).where(POLICIES.c.action_type == action_type).order_by(POLICIES.c.version.desc()),
    )
    return [Policy.of(row) for row in rows] + [default_policy(action_type)]


async def pending_changes(session: AsyncSession, action_type: str | None = None) -> list[Any]:
    """Pending update_policy actions (rows of workflow_actions), for one target type or all, oldest first."""
    conditions = [ACTIONS.c.action_type == UPDATE_POLICY, ACTIONS.c.status == ActionStatus.PENDING.value]
    if action_type:
        conditions.append(ACTIONS.c.payload["targetType"].astext == action_type)
    return list(
        await _fetch(session, select(ACTIONS).where(*conditions).order_by(ACTIONS.c.created_at, ACTIONS.c.id))
    )


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    username: str
    roles: tuple[str, ...] = ()

    def json(self) -> dict[str, Any]:
        return {"userId": self.id, "username": self.username}


def _holds(role: str) -> Any:
    return literal(role) == any_(USERS.c.roles)


async def active_users_with_role(session: AsyncSession, role: str) -> list[Person]:
    rows = await _fetch(
        session,
        select(USERS.c.id, USERS.c.username, USERS.c.roles)
        .where(USERS.c.is_active.is_(true()), _holds(role))
        .order_by(USERS.c.username),
    )
    return [Person(row.id, row.username, tuple(row.roles)) for row in rows]


async def quorum_shortfall(
    session: AsyncSession, *, action_type: str, required_approvals: int, reviewer_role: str
) -> str | None:
    """Why a policy could leave an action of this type waiting for ever, or None.

    An action needs `required_approvals` reviewers other than its maker; a reviewer who may also
    make actions of the type counts out, since they cannot approve their own.
    """
    kind = app.actions.get_action_type(action_type)
    maker_role = kind.maker_role if kind else "maker"
    reviewers = await active_users_with_role(session, reviewer_role)
    could_be_maker = any(maker_role in person.roles for person in reviewers)
    available = len(reviewers) - (1 if could_be_maker else 0)
    if available >= required_approvals:
        return None
    count = len(reviewers)
    held = f"{count} active user holds" if count == 1 else f"{count} active users hold"
    makers_note = " (one of whom may be the maker, and cannot approve their own)" if could_be_maker else ""
    return (
        f"{required_approvals} approvals by {reviewer_role} could never be given: "
        f"{held} the {reviewer_role} role{makers_note}"
    )


async def may_still_approve(session: AsyncSession, action: Any, policy: Policy) -> list[Person]:
    """Who could still approve the action: active, holding the reviewer role, not its maker, not
    a reviewer of its current version already. Empty once it is decided."""
    if action.status != ActionStatus.PENDING.value:
        return []
    reviewed = select(REVIEWS.c.reviewer_id).where(
        REVIEWS.c.action_id == action.id, REVIEWS.c.version == action.version
    )
    rows = await _fetch(
        session,
        select(USERS.c.id, USERS.c.username)
        .where(
            USERS.c.is_active.is_(true()),
            _holds(policy.reviewer_role),
            USERS.c.id != action.maker_id,
            USERS.c.id.not_in(reviewed),
        )
        .order_by(USERS.c.username),
    )
    return [Person(row.id, row.username) for row in rows]


@dataclass(frozen=True)
class Approval:
    user_id: uuid.UUID
    username: str
    approved_at: datetime

    def json(self) -> dict[str, Any]:
        return {"userId": self.user_id, "username": self.username, "approvedAt": self.approved_at}


async def approvals_of(
    session: AsyncSession, action_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[Approval]]:
    """Who approved each action's current version so far, in order (a resubmission voids the
    approvals of earlier versions); actions without approvals are left out."""
    ids = list(action_ids)
    if not ids:
        return {}
    rows = await _fetch(
        session,
        select(REVIEWS.c.action_id, REVIEWS.c.reviewer_id, USERS.c.username, REVIEWS.c.created_at)
        .join(USERS, USERS.c.id == REVIEWS.c.reviewer_id)
        .join(ACTIONS, and_(ACTIONS.c.id == REVIEWS.c.action_id, ACTIONS.c.version == REVIEWS.c.version))
        .where(REVIEWS.c.action_id.in_(ids), REVIEWS.c.decision == "approved")
        .order_by(REVIEWS.c.created_at, REVIEWS.c.id),
    )
    found: dict[uuid.UUID, list[Approval]] = {}
    for row in rows:
        found.setdefault(row.action_id, []).append(Approval(row.reviewer_id, row.username, row.created_at))
    return found


@dataclass(frozen=True)
class TypePolicies:
    """One type on the Policies page: its policy in force, every version, and pending changes."""

    name: str
    label: str
    current: Policy
    history: list[Policy]
    pending: list[Any]
    """Pending update_policy actions for it (rows of workflow_actions)."""


async def overview(session: AsyncSession) -> tuple[list[TypePolicies], dict[uuid.UUID, str]]:
    """Every registered type's policies, with the usernames of the people named in them."""
    rows = await _fetch(session, select(POLICIES).order_by(POLICIES.c.version.desc()))
    pending = await pending_changes(session)
    found = []
    for name, kind in app.actions.REGISTRY.items():
        history = [Policy.of(row) for row in rows if row.action_type == name] + [default_policy(name)]
        changes = [row for row in pending if row.payload.get("targetType") == name]
        found.append(TypePolicies(name, kind.label, history[0], history, changes))
    people = {p.created_by for p in (Policy.of(row) for row in rows)} | {row.approved_by for row in rows}
    people |= {row.maker_id for row in pending}
    ids = [person for person in people if person]
    names: dict[uuid.UUID, str] = {}
    if ids:
        named = await _fetch(session, select(USERS.c.id, USERS.c.username).where(USERS.c.id.in_(ids)))
        names = {row.id: row.username for row in named}
    return found, names
