"""Reads of the workflow: actions by id, pages of actions, and views shaped for the pages.

Nothing here writes. Lists are keyset pages over indexes ending in (created_at, id), and their
totals come from the counters a trigger keeps (workflow_action_counts), so neither grows with
the table.
"""

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import UUID, ColumnElement, Integer, Select, bindparam, func, tuple_
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.db import DriverStatement, as_row, driver_connection
from app.errors import NotFound
from app.models import (
    ActionReview,
    ActionStatus,
    ActionVersion,
    AuditEvent,
    Role,
    User,
    WorkflowAction,
    WorkflowActionCount,
    WorkflowMakerCount,
)
from app.workflow import policies

ACTIONS = WorkflowAction.__table__
USERS = User.__table__
_USERNAMES = DriverStatement.of(
    core_select(USERS.c.id, USERS.c.username).where(
        USERS.c.id == func.any(bindparam("ids", type_=ARRAY(UUID)))
    )
)
COUNTS = WorkflowActionCount.__table__
MAKER_COUNTS = WorkflowMakerCount.__table__


@dataclass(frozen=True)
class ActionFilter:
    status: str | None = None
    action_type: str | None = None
    maker_id: uuid.UUID | None = None

    def values(self) -> dict[str, Any]:
        """The filters that are set, by column name."""
        found = {"status": self.status, "action_type": self.action_type, "maker_id": self.maker_id}
        return {name: value for name, value in found.items() if value}

    def conditions(self, table: Any = ACTIONS) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status:
            found.append(table.c.status == self.status)
        if self.action_type:
            found.append(table.c.action_type == self.action_type)
        if self.maker_id:
            found.append(table.c.maker_id == self.maker_id)
        return found


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: the next page starts right after it in the list's order."""

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        text = f"{self.created_at.isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> "Cursor | None":
        """None when raw is not a cursor this module made."""
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            moment, _, action_id = text.partition("|")
            created_at = datetime.fromisoformat(moment)
            return cls(created_at, uuid.UUID(action_id)) if created_at.tzinfo else None
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    """Rows of workflow_actions (attributes as on WorkflowAction), read without the ORM."""
    page: int
    limit: int
    total: int
    next_cursor: str | None = None

    @property
    def total_pages(self) -> int:
        return (self.total + self.limit - 1) // self.limit


async def count_actions(session: AsyncSession, filters: ActionFilter) -> int:
    """From the counters: a sum over a few rows per type and status, however many actions exist."""
    values = filters.values()
    connection = await driver_connection(session)
    return int(await _count_statement(tuple(values)).fetchval(connection, **values))


@cache
def _count_statement(keys: tuple[str, ...]) -> DriverStatement:
    table = MAKER_COUNTS if "maker_id" in keys else COUNTS
    conditions = [table.c[key] == bindparam(key) for key in keys]
    return DriverStatement.of(core_select(func.coalesce(func.sum(table.c.n), 0)).where(*conditions))


def _order(oldest_first: bool) -> list[Any]:
    created, action_id = ACTIONS.c.created_at, ACTIONS.c.id
    return [created.asc(), action_id.asc()] if oldest_first else [created.desc(), action_id.desc()]


def _after(key: Any, oldest_first: bool, *, inclusive: bool = False) -> ColumnElement[bool]:
    """Rows after `key` (a (created_at, id) pair) in the list's order; compared as one index key."""
    row = tuple_(ACTIONS.c.created_at, ACTIONS.c.id)
    if oldest_first:
        return row >= key if inclusive else row > key
    return row <= key if inclusive else row < key


@cache
def _page_query(keys: tuple[str, ...], oldest_first: bool, start: str) -> Select[Any]:
    """The rows of one page, with bind parameters: the filters' values by name, `limit`, and by
    `start`: "cursor" (after_created_at, after_id), "skip" (skip) or "first".

    Without a cursor, the skipped rows are stepped over in the index alone (the boundary
    subquery reads only (created_at, id)), never fetched from the table.
    """
    conditions = [ACTIONS.c[key] == bindparam(key) for key in keys]
    statement = (
        core_select(ACTIONS)
        .where(*conditions)
        .order_by(*_order(oldest_first))
        .limit(bindparam("limit", type_=Integer()))
    )
    if start == "cursor":
        key = tuple_(
            bindparam("after_created_at", type_=ACTIONS.c.created_at.type),
            bindparam("after_id", type_=ACTIONS.c.id.type),
        )
        return statement.where(_after(key, oldest_first))
    if start == "skip":
        # a row-valued subquery: PostgreSQL runs it once, first, and starts the index range there
        boundary = (
            core_select(ACTIONS.c.created_at, ACTIONS.c.id)
            .where(*conditions)
            .order_by(*_order(oldest_first))
            .offset(bindparam("skip", type_=Integer()))
            .limit(1)
            .scalar_subquery()
        )
        return statement.where(_after(boundary, oldest_first, inclusive=True))
    return statement


@cache
def _page_driver_statement(keys: tuple[str, ...], oldest_first: bool, start: str) -> DriverStatement:
    return DriverStatement.of(_page_query(keys, oldest_first, start))


def _page_values(
    filters: ActionFilter, *, limit: int, oldest_first: bool, after: Cursor | None, skip: int
) -> tuple[tuple[str, ...], bool, str, dict[str, Any]]:
    values: dict[str, Any] = filters.values() | {"limit": limit}
    keys = tuple(filters.values())
    if after is not None:
        return (
            keys,
            oldest_first,
            "cursor",
            values | {"after_created_at": after.created_at, "after_id": after.id},
        )
    if skip:
        return keys, oldest_first, "skip", values | {"skip": skip}
    return keys, oldest_first, "first", values


def page_statement(
    filters: ActionFilter, *, limit: int, oldest_first: bool, after: Cursor | None = None, skip: int = 0
) -> Select[Any]:
    """The rows of one page as a Core statement with its values bound (lists run the same query
    prepared, see list_actions): an index range read from a cursor, or from the row `skip` rows in."""
    keys, oldest, start, values = _page_values(
        filters, limit=limit, oldest_first=oldest_first, after=after, skip=skip
    )
    return _page_query(keys, oldest, start).params(values)


async def _page_rows(
    session: AsyncSession,
    filters: ActionFilter,
    *,
    limit: int,
    oldest_first: bool,
    after: Cursor | None = None,
    skip: int = 0,
) -> list[Any]:
    keys, oldest, start, values = _page_values(
        filters, limit=limit, oldest_first=oldest_first, after=after, skip=skip
    )
    connection = await driver_connection(session)
    records = await _page_driver_statement(keys, oldest, start).fetch(connection, **values)
    return [as_row(record) for record in records]


async def list_actions(
    *,
    session: AsyncSession,
    filters: ActionFilter,
    page: int,
    limit: int,
    oldest_first: bool = False,
    after: Cursor | None = None,
) -> Page:
    """Newest first (or oldest first, as a queue is worked), `limit` rows from page `page` or
    from just after the cursor; with the total matching the filters, and the next page's cursor."""
    total = await count_actions(session, filters)
    skip = (page - 1) * limit
    if after is None and skip >= total:
        return Page(rows=[], page=page, limit=limit, total=total)
    reverse = after is None and skip > total // 2
    if reverse:
        # a page near the end is fewer steps away from the other end of the index
        tail_skip = max(0, total - skip - limit)
        rows = await _page_rows(
            session, filters, limit=total - skip - tail_skip, oldest_first=not oldest_first, skip=tail_skip
        )
        rows.reverse()
    else:
        rows = await _page_rows(
            session, filters, limit=limit, oldest_first=oldest_first, after=after, skip=skip
        )
    more = len(rows) == limit and (after is not None or skip + limit < total)
    next_cursor = Cursor(rows[-1].created_at, rows[-1].id).encode() if more else None
    return Page(rows=rows, page=page, limit=limit, total=total, next_cursor=next_cursor)


async def get_action(*, session: AsyncSession, action_id: uuid.UUID) -> WorkflowAction:
    """Raises NotFound."""
    action = await session.get(WorkflowAction, action_id)
    if action is None:
        raise NotFound("No action has this id")
    return action


@dataclass(frozen=True)
class ActionView:
    action: Any
    """A WorkflowAction, or a row of workflow_actions read by a list."""
    maker_name: str
    summary: str
    label: str
    can_review: bool
    """The viewer may approve or reject it now: a checker, not its maker, pending."""
    decided_by: str | None = None
    """Set on a row the viewer had in hand when someone else decided it: that person's username."""
    reviewer_role: str = Role.CHECKER.value
    """The reviewer role of the policy the action is pinned to."""
    approved_by: tuple[str, ...] = ()
    """Usernames of its approvals so far, in order."""
    step_up: bool = False
    """Its pinned policy asks for the reviewer's password to approve it."""

    @property
    def needs(self) -> int:
        """Approvals still missing while it is pending."""
        if self.action.status != ActionStatus.PENDING:
            return 0
        return max(0, self.action.required_approvals - self.action.approvals)


@dataclass(frozen=True)
class _Extras:
    """What a page's rows need beyond the rows: pinned reviewer roles, and approvals so far."""

    roles: dict[tuple[str, int], str]
    approvals: dict[uuid.UUID, list[policies.Approval]]
    step_ups: frozenset[tuple[str, int]] = frozenset()
    """The pinned policies that ask for a step-up."""


async def _extras(session: AsyncSession, actions: Sequence[Any]) -> _Extras:
    """Costs no query on a page whose actions are under default policies and not yet approved."""
    pinned = await policies.pinned_policies(session, {(a.action_type, a.policy_version) for a in actions})
    approved = await policies.approvals_of(session, [a.id for a in actions if a.approvals])
    step_ups = frozenset(key for key, policy in pinned.items() if policy.step_up)
    return _Extras({key: policy.reviewer_role for key, policy in pinned.items()}, approved, step_ups)


def _view(action: Any, maker_name: str, viewer: User | None, extras: _Extras | None = None) -> ActionView:
    kind = get_action_type(action.action_type)
    default_role = kind.default_reviewer_role if kind else Role.CHECKER.value
    role = (
        extras.roles.get((action.action_type, action.policy_version), default_role)
        if extras
        else default_role
    )
    approvals = extras.approvals.get(action.id, []) if extras else []
    return ActionView(
        action=action,
        maker_name=maker_name,
        summary=action.summary or action.action_type,
        label=kind.label if kind else action.action_type,
        can_review=viewer is not None
        and viewer.has_role(Role(role))
        and viewer.id != action.maker_id
        and action.status == ActionStatus.PENDING
        and all(approval.user_id != viewer.id for approval in approvals),
        reviewer_role=role,
        approved_by=tuple(approval.username for approval in approvals),
        step_up=(action.action_type, action.policy_version) in extras.step_ups
        if extras
        else bool(kind and kind.default_step_up),
    )


async def _usernames(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    connection = await driver_connection(session)
    return dict(await _USERNAMES.fetch(connection, ids=list(ids)))


async def views_of(session: AsyncSession, actions: Sequence[Any], viewer: User | None) -> list[ActionView]:
    names = await _usernames(session, {action.maker_id for action in actions})
    extras = await _extras(session, actions)
    return [_view(action, names.get(action.maker_id, "?"), viewer, extras) for action in actions]


QUEUE_PAGE_SIZE = 50


async def pending_queue(
    *, session: AsyncSession, viewer: User, action_type: str | None, page: int = 1
) -> tuple[list[ActionView], Page]:
    """Oldest first, as a queue is worked; with the page (its total counts all pending for the filter)."""
    filters = ActionFilter(status=ActionStatus.PENDING.value, action_type=action_type)
    found = await list_actions(
        session=session, filters=filters, page=page, limit=QUEUE_PAGE_SIZE, oldest_first=True
    )
    return await views_of(session, found.rows, viewer), found


async def pending_count(*, session: AsyncSession) -> int:
    found = await list_actions(
        session=session, filters=ActionFilter(status=ActionStatus.PENDING.value), page=1, limit=1
    )
    return found.total


async def decided_in_hand(
    *, session: AsyncSession, viewer: User, action_ids: list[uuid.UUID]
) -> list[ActionView]:
    """Rows the viewer is working on that are no longer pending, with who decided them: the queue keeps
    them in place with a note instead of removing them under the viewer's comment."""
    if not action_ids:
        return []
    actions = (
        await session.exec(
            select(WorkflowAction).where(
                col(WorkflowAction.id).in_(action_ids),
                WorkflowAction.status != ActionStatus.PENDING.value,
                # the viewer's own decision is shown by its answer; only someone else's needs a note
                col(WorkflowAction.checker_id).is_distinct_from(viewer.id),
            )
        )
    ).all()
    names = await _usernames(
        session, {a.maker_id for a in actions} | {a.checker_id for a in actions if a.checker_id}
    )
    extras = await _extras(session, actions)
    return [
        replace(
            _view(action, names.get(action.maker_id, "?"), viewer, extras),
            decided_by=_decided_by(action, names),
        )
        for action in actions
    ]


def _decided_by(action: WorkflowAction, names: dict[uuid.UUID, str]) -> str:
    if action.checker_id:
        return names.get(action.checker_id, "?")
    # a withdrawal leaves no reason behind; the system's cancellations (a disabled maker) give one
    withdrawn = action.status == ActionStatus.CANCELLED and action.error is None
    return "its maker" if withdrawn else "the system"


async def action_view(*, session: AsyncSession, action: WorkflowAction, viewer: User | None) -> ActionView:
    return (await views_of(session, [action], viewer))[0]


@dataclass(frozen=True)
class ReviewView:
    review: ActionReview
    reviewer_name: str


@dataclass(frozen=True)
class EventView:
    event: AuditEvent
    actor_name: str


async def reviews_and_events(
    *, session: AsyncSession, action_id: uuid.UUID
) -> tuple[list[ReviewView], list[EventView]]:
    reviews = (
        await session.exec(
            select(ActionReview)
            .where(ActionReview.action_id == action_id)
            .order_by(col(ActionReview.created_at))
        )
    ).all()
    events = (
        await session.exec(
            select(AuditEvent).where(AuditEvent.action_id == action_id).order_by(col(AuditEvent.id))
        )
    ).all()
    people = {r.reviewer_id for r in reviews} | {e.actor_id for e in events if e.actor_id}
    names = await _usernames(session, people)
    return (
        [ReviewView(r, names.get(r.reviewer_id, "?")) for r in reviews],
        [EventView(e, names.get(e.actor_id, "system") if e.actor_id else "system") for e in events],
    )


async def makers(*, session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """Everyone who has made an action, for the history filter (from the counters, not the actions)."""
    rows = await session.exec(
        select(User.id, User.username)
        .where(col(User.id).in_(select(WorkflowMakerCount.maker_id).where(WorkflowMakerCount.n != 0)))
        .order_by(User.username)
    )
    return list(rows.all())


@dataclass(frozen=True)
class VersionView:
    version: int
    payload: dict[str, Any]
    summary: str
    submitted_at: datetime
    changes: list[Any]
    """service.FieldChange items: what differs from the version before."""

    def json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "payload": self.payload,
            "summary": self.summary,
            "submittedAt": self.submitted_at,
            "changes": [change.json() for change in self.changes],
        }


async def versions_of(*, session: AsyncSession, action: Any) -> list[VersionView]:
    """Every version, oldest first: the action itself when it was never resubmitted (no query)."""
    from app.workflow.service import payload_changes

    if action.version == 1:
        return [VersionView(1, action.payload, action.summary, action.created_at, [])]
    rows = (
        await session.exec(
            select(ActionVersion)
            .where(ActionVersion.action_id == action.id)
            .order_by(col(ActionVersion.version))
        )
    ).all()
    found: list[VersionView] = []
    for row in rows:
        changes = payload_changes(found[-1].payload, row.payload) if found else []
        found.append(VersionView(row.version, row.payload, row.summary, row.submitted_at, changes))
    return found
