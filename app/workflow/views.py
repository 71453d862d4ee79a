"""Reads of the workflow: actions by id, pages of actions, and views shaped for the pages.

Nothing here writes. Lists are keyset pages over indexes ending in (created_at, id), and their
totals come from the counters a trigger keeps (workflow_action_counts), so neither grows with
the table.
"""

import base64
import binascii
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from sqlalchemy import (
    UUID,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    Text,
    bindparam,
    func,
    literal_column,
    or_,
    text,
    tuple_,
)
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.db import DriverStatement, as_row, driver_connection
from app.errors import InvalidInput, NotFound
from app.models import (
    AMOUNT_SORT_KEY,
    Account,
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
from app.text import without_nul
from app.workflow import policies, records

ACTIONS = WorkflowAction.__table__
USERS = User.__table__
_USERNAMES = DriverStatement.of(
    core_select(USERS.c.id, USERS.c.username).where(
        USERS.c.id == func.any(bindparam("ids", type_=ARRAY(UUID)))
    )
)
COUNTS = WorkflowActionCount.__table__
MAKER_COUNTS = WorkflowMakerCount.__table__


MAX_SEARCH_LENGTH = 100
SEARCH_COUNT_CAP = 10_000
"""A search counts its matches up to this many: past it, the page says "more than"."""
_HEX_PREFIX = re.compile(r"[0-9a-f]{3,32}")
_NO_IDS = (uuid.UUID(int=(1 << 128) - 1), uuid.UUID(int=0))
"""An empty range of ids: the search's text is no id's prefix."""


@dataclass(frozen=True)
class Search:
    """What a search box's text matches: an action's id by prefix (its code), the summary by any part
    of it (which names the usernames and account numbers of the payload), the maker by username, and
    the records it changes (record_ids) by username or account number. Each is index-backed over the
    pending actions (app.models.WorkflowAction's indexes), so the queue's search stays a few index reads.
    """

    text: str
    pattern: str
    id_low: uuid.UUID
    id_high: uuid.UUID
    people: tuple[uuid.UUID, ...] = ()
    records: tuple[uuid.UUID, ...] = ()

    def values(self) -> dict[str, Any]:
        return {
            "search_pattern": self.pattern,
            "search_id_low": self.id_low,
            "search_id_high": self.id_high,
            "search_people": list(self.people),
            "search_records": list(self.records),
        }


def search_text(raw: str | None) -> str:
    """The text a search box sent, its spaces collapsed and its length bounded; "" for none."""
    return " ".join(without_nul(raw or "").split())[:MAX_SEARCH_LENGTH]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _id_range(text: str) -> tuple[uuid.UUID, uuid.UUID]:
    digits = text.lower().replace("-", "")
    if not _HEX_PREFIX.fullmatch(digits):
        return _NO_IDS
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


async def find_search(session: AsyncSession, raw: str | None) -> Search | None:
    """The search for a box's text (None when empty): looks up the people and accounts it names."""
    found = search_text(raw)
    if not found:
        return None
    username = found.lower()
    people = (await session.exec(select(User.id).where(User.username == username))).all()
    accounts = (
        await session.exec(select(Account.id).where(col(Account.account_number).in_({found, found.upper()})))
    ).all()
    low, high = _id_range(found)
    return Search(found, _like_pattern(found), low, high, tuple(people), tuple(people) + tuple(accounts))


def _search_condition() -> ColumnElement[bool]:
    return or_(
        ACTIONS.c.summary.ilike(bindparam("search_pattern", type_=Text())),
        ACTIONS.c.id.between(
            bindparam("search_id_low", type_=ACTIONS.c.id.type),
            bindparam("search_id_high", type_=ACTIONS.c.id.type),
        ),
        ACTIONS.c.maker_id == func.any(bindparam("search_people", type_=ARRAY(UUID))),
        ACTIONS.c.record_ids.op("&&")(bindparam("search_records", type_=ARRAY(UUID))),
    )


SORTS = ("oldest", "newest", "type", "amount")
"""The queue's orders: by age (oldest first, as a queue is worked), by type, by amount (largest first)."""
_AMOUNT_KEY = literal_column(
    str(AMOUNT_SORT_KEY.text).replace("amount", "workflow_actions.amount"), Numeric()
)
"""The amount order's key, written as its index is (app.models.AMOUNT_SORT_KEY) so that it is used."""


def sort_order(name: str | None) -> tuple[bool, str | None]:
    """(oldest_first, sort_key) for a sort's name; anything else is the default, oldest first."""
    if name == "newest":
        return False, None
    if name in ("type", "amount"):
        return True, name
    return True, None


def _key_column(sort_key: str | None) -> Any:
    if sort_key == "type":
        return ACTIONS.c.action_type
    if sort_key == "amount":
        return _AMOUNT_KEY
    return None


def _sort_columns(sort_key: str | None) -> list[Any]:
    key = _key_column(sort_key)
    return ([key] if key is not None else []) + [ACTIONS.c.created_at, ACTIONS.c.id]


def _row_key(row: Any, sort_key: str | None) -> str | None:
    """A row's value of the sort's key, as a cursor carries it."""
    if sort_key == "type":
        return str(row.action_type)
    if sort_key == "amount":
        return str(Decimal(0) - (row.amount or Decimal(0)))
    return None


@dataclass(frozen=True)
class ActionFilter:
    status: str | None = None
    action_type: str | None = None
    maker_id: uuid.UUID | None = None
    search: Search | None = None

    def values(self) -> dict[str, Any]:
        """The filters that are set, by column name (the search apart)."""
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
    key: str | None = None
    """The sort's leading key when it has one (type: the type's name; amount: its key), as text."""

    def encode(self) -> str:
        text = f"{self.created_at.isoformat()}|{self.id}" + ("" if self.key is None else f"|{self.key}")
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> "Cursor | None":
        """None when raw is not a cursor this module made."""
        try:
            text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
            moment, action_id, *key = text.split("|", 2)
            created_at = datetime.fromisoformat(moment)
            found = cls(created_at, uuid.UUID(action_id), key[0] if key else None)
            return found if created_at.tzinfo else None
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None

    def key_value(self, sort_key: str | None) -> Any:
        """The key as the sort compares it; raises InvalidInput for a cursor of another order."""
        if (sort_key is None) != (self.key is None):
            raise InvalidInput("The cursor is not valid", details={"cursor": "Use the nextCursor of a page"})
        if sort_key == "amount":
            try:
                return Decimal(str(self.key))
            except InvalidOperation:
                raise InvalidInput(
                    "The cursor is not valid", details={"cursor": "Use the nextCursor of a page"}
                ) from None
        return self.key


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    """Rows of workflow_actions (attributes as on WorkflowAction), read without the ORM."""
    page: int
    limit: int
    total: int
    next_cursor: str | None = None
    capped: bool = False
    """A search's total stopped counting at SEARCH_COUNT_CAP: there are more."""

    @property
    def total_pages(self) -> int:
        return (self.total + self.limit - 1) // self.limit


async def count_actions(session: AsyncSession, filters: ActionFilter) -> int:
    """From the counters: a sum over a few rows per type and status, however many actions exist.
    A search counts its matches instead, up to SEARCH_COUNT_CAP + 1."""
    values = filters.values()
    connection = await driver_connection(session)
    if filters.search is not None:
        statement = _search_count_statement(tuple(values))
        found = values | filters.search.values() | {"cap": SEARCH_COUNT_CAP + 1}
        return int(await statement.fetchval(connection, **found))
    return int(await _count_statement(tuple(values)).fetchval(connection, **values))


@cache
def _search_count_statement(keys: tuple[str, ...]) -> DriverStatement:
    matching = (
        core_select(ACTIONS.c.id)
        .where(*_equal_conditions(keys), _search_condition())
        .limit(bindparam("cap", type_=Integer()))
        .subquery()
    )
    return DriverStatement.of(core_select(func.count()).select_from(matching))


@cache
def _count_statement(keys: tuple[str, ...]) -> DriverStatement:
    table = MAKER_COUNTS if "maker_id" in keys else COUNTS
    conditions = [table.c[key] == bindparam(key) for key in keys]
    return DriverStatement.of(core_select(func.coalesce(func.sum(table.c.n), 0)).where(*conditions))


def _equal_conditions(keys: tuple[str, ...]) -> list[ColumnElement[bool]]:
    # pending is written out, not bound: the partial indexes over the pending actions (the queue's
    # search and sorts) serve only a query that says so in its text, whatever plan is prepared
    return [
        text("workflow_actions.status = 'pending'") if key == "pending" else ACTIONS.c[key] == bindparam(key)
        for key in keys
    ]


def _order(oldest_first: bool, sort_key: str | None = None) -> list[Any]:
    columns = _sort_columns(sort_key)
    return [column.asc() if oldest_first else column.desc() for column in columns]


def _after(
    key: Any, oldest_first: bool, *, inclusive: bool = False, sort_key: str | None = None
) -> ColumnElement[bool]:
    """Rows after `key` (a (created_at, id) pair, led by the sort's key when it has one) in the
    list's order; compared as one index key."""
    row = tuple_(*_sort_columns(sort_key))
    if oldest_first:
        return row >= key if inclusive else row > key
    return row <= key if inclusive else row < key


@cache
def _page_query(
    keys: tuple[str, ...],
    oldest_first: bool,
    start: str,
    sort_key: str | None = None,
    searching: bool = False,
) -> Select[Any]:
    """The rows of one page, with bind parameters: the filters' values by name, `limit`, and by
    `start`: "cursor" (after_created_at, after_id, and after_key for a sort with a key), "skip"
    (skip) or "first"; a search's values (Search.values) when `searching`.

    Without a cursor, the skipped rows are stepped over in the index alone (the boundary
    subquery reads only the sort's columns), never fetched from the table.
    """
    conditions = _equal_conditions(keys) + ([_search_condition()] if searching else [])
    statement = (
        core_select(ACTIONS)
        .where(*conditions)
        .order_by(*_order(oldest_first, sort_key))
        .limit(bindparam("limit", type_=Integer()))
    )
    if start == "cursor":
        leading = _key_column(sort_key)
        key = tuple_(
            *([bindparam("after_key", type_=leading.type)] if leading is not None else []),
            bindparam("after_created_at", type_=ACTIONS.c.created_at.type),
            bindparam("after_id", type_=ACTIONS.c.id.type),
        )
        return statement.where(_after(key, oldest_first, sort_key=sort_key))
    if start == "skip":
        # a row-valued subquery: PostgreSQL runs it once, first, and starts the index range there
        boundary = (
            core_select(*_sort_columns(sort_key))
            .where(*conditions)
            .order_by(*_order(oldest_first, sort_key))
            .offset(bindparam("skip", type_=Integer()))
            .limit(1)
            .scalar_subquery()
        )
        return statement.where(_after(boundary, oldest_first, inclusive=True, sort_key=sort_key))
    return statement


@cache
def _page_driver_statement(
    keys: tuple[str, ...], oldest_first: bool, start: str, sort_key: str | None, searching: bool
) -> DriverStatement:
    return DriverStatement.of(_page_query(keys, oldest_first, start, sort_key, searching))


@dataclass(frozen=True)
class _PageShape:
    keys: tuple[str, ...]
    oldest_first: bool
    start: str
    sort_key: str | None
    searching: bool

    def parts(self) -> tuple[tuple[str, ...], bool, str, str | None, bool]:
        return self.keys, self.oldest_first, self.start, self.sort_key, self.searching


def _page_values(
    filters: ActionFilter,
    *,
    limit: int,
    oldest_first: bool,
    after: Cursor | None,
    skip: int,
    sort_key: str | None = None,
) -> tuple[_PageShape, dict[str, Any]]:
    found = filters.values()
    pending = found.get("status") == ActionStatus.PENDING.value
    if pending:
        del found["status"]
    keys = tuple(found) + (("pending",) if pending else ())
    values: dict[str, Any] = found | {"limit": limit}
    if filters.search is not None:
        values |= filters.search.values()
    searching = filters.search is not None
    if after is not None:
        values |= {"after_created_at": after.created_at, "after_id": after.id}
        if sort_key is not None:
            values["after_key"] = after.key_value(sort_key)
        return _PageShape(keys, oldest_first, "cursor", sort_key, searching), values
    if skip:
        return _PageShape(keys, oldest_first, "skip", sort_key, searching), values | {"skip": skip}
    return _PageShape(keys, oldest_first, "first", sort_key, searching), values


def page_statement(
    filters: ActionFilter,
    *,
    limit: int,
    oldest_first: bool,
    after: Cursor | None = None,
    skip: int = 0,
    sort_key: str | None = None,
) -> Select[Any]:
    """The rows of one page as a Core statement with its values bound (lists run the same query
    prepared, see list_actions): an index range read from a cursor, or from the row `skip` rows in."""
    shape, values = _page_values(
        filters, limit=limit, oldest_first=oldest_first, after=after, skip=skip, sort_key=sort_key
    )
    return _page_query(*shape.parts()).params(values)


async def _page_rows(
    session: AsyncSession,
    filters: ActionFilter,
    *,
    limit: int,
    oldest_first: bool,
    after: Cursor | None = None,
    skip: int = 0,
    sort_key: str | None = None,
) -> list[Any]:
    shape, values = _page_values(
        filters, limit=limit, oldest_first=oldest_first, after=after, skip=skip, sort_key=sort_key
    )
    connection = await driver_connection(session)
    records = await _page_driver_statement(*shape.parts()).fetch(connection, **values)
    return [as_row(record) for record in records]


async def rows_after(
    session: AsyncSession, filters: ActionFilter, *, limit: int, after: Cursor | None
) -> list[Any]:
    """Newest first, `limit` rows just after the cursor (the first when None): for reading a whole
    list in keyset batches (app.workflow.export)."""
    return await _page_rows(session, filters, limit=limit, oldest_first=False, after=after)


async def list_actions(
    *,
    session: AsyncSession,
    filters: ActionFilter,
    page: int,
    limit: int,
    oldest_first: bool = False,
    after: Cursor | None = None,
    sort_key: str | None = None,
) -> Page:
    """Newest first (or oldest first, as a queue is worked), led by a sort key when given (type,
    amount: see sort_order), `limit` rows from page `page` or from just after the cursor; with the
    total matching the filters (a search's counted up to a cap), and the next page's cursor."""
    counted = await count_actions(session, filters)
    capped = counted > SEARCH_COUNT_CAP
    total = min(counted, SEARCH_COUNT_CAP)
    skip = (page - 1) * limit
    if after is None and skip >= total:
        return Page(rows=[], page=page, limit=limit, total=total, capped=capped)
    reverse = after is None and not capped and skip > total // 2
    if reverse:
        # a page near the end is fewer steps away from the other end of the index
        tail_skip = max(0, total - skip - limit)
        rows = await _page_rows(
            session,
            filters,
            limit=total - skip - tail_skip,
            oldest_first=not oldest_first,
            skip=tail_skip,
            sort_key=sort_key,
        )
        rows.reverse()
    else:
        rows = await _page_rows(
            session,
            filters,
            limit=limit,
            oldest_first=oldest_first,
            after=after,
            skip=skip,
            sort_key=sort_key,
        )
    more = len(rows) == limit and (after is not None or capped or skip + limit < total)
    last = rows[-1] if rows else None
    next_cursor = (
        Cursor(last.created_at, last.id, _row_key(last, sort_key)).encode() if more and last else None
    )
    return Page(rows=rows, page=page, limit=limit, total=total, next_cursor=next_cursor, capped=capped)


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
    def record_changes(self) -> list[Any]:
        """An update's fields, each at submission and proposed (app.workflow.records)."""
        return records.changes_of(self.action)

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


async def usernames(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    connection = await driver_connection(session)
    return dict(await _USERNAMES.fetch(connection, ids=list(ids)))


async def views_of(session: AsyncSession, actions: Sequence[Any], viewer: User | None) -> list[ActionView]:
    names = await usernames(session, {action.maker_id for action in actions})
    extras = await _extras(session, actions)
    return [_view(action, names.get(action.maker_id, "?"), viewer, extras) for action in actions]


QUEUE_PAGE_SIZE = 50


async def pending_queue(
    *,
    session: AsyncSession,
    viewer: User,
    action_type: str | None,
    page: int = 1,
    maker_id: uuid.UUID | None = None,
    search: Search | None = None,
    sort: str | None = None,
) -> tuple[list[ActionView], Page]:
    """Oldest first by default, as a queue is worked (see sort_order for the others); with the page
    (its total counts all pending for the filters)."""
    filters = ActionFilter(
        status=ActionStatus.PENDING.value, action_type=action_type, maker_id=maker_id, search=search
    )
    oldest_first, sort_key = sort_order(sort)
    found = await list_actions(
        session=session,
        filters=filters,
        page=page,
        limit=QUEUE_PAGE_SIZE,
        oldest_first=oldest_first,
        sort_key=sort_key,
    )
    return await views_of(session, found.rows, viewer), found


def in_order(rows: list[ActionView], sort: str) -> list[ActionView]:
    """Rows in a sort's order (SORTS), as the page's query returns them: for merging in rows kept."""
    oldest_first, sort_key = sort_order(sort)
    ordered = sorted(
        rows,
        key=lambda view: (
            _row_key(view.action, sort_key) if sort_key == "type" else "",
            Decimal(0) - (view.action.amount or Decimal(0)) if sort_key == "amount" else Decimal(0),
            view.action.created_at,
            str(view.action.id),
        ),
    )
    return ordered if oldest_first else ordered[::-1]


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
    names = await usernames(
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
    names = await usernames(session, people)
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
