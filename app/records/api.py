"""JSON API of the records: users, accounts (with their ledger) and promotions, for any signed-in user.

Read-only: changes to records are proposed as actions (POST /api/workflow/actions). Lists take `q` (a
search), `limit`, and `after` or `before` (a page's nextCursor or previousCursor); they give no total,
which would cost a count over the whole table, only PostgreSQL's estimate for an unsearched list.
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import InvalidInput
from app.records import queries, views
from app.records.queries import MAX_PAGE_SIZE, MAX_SEARCH, PAGE_SIZE, Search, Window
from app.workflow.inputs import parse_uuid
from app.workflow.schemas import error_responses


class PendingChangeOut(SQLModel):
    id: uuid.UUID
    actionType: str
    summary: str
    url: str
    """The action in the API (GET it for its details; its page is /actions/{id})."""


class HolderOut(SQLModel):
    id: uuid.UUID
    username: str
    fullName: str | None


class AccountOut(SQLModel):
    id: uuid.UUID
    accountNumber: str
    accountType: str
    currency: str
    balance: Decimal
    status: str
    """active, frozen or closed"""
    version: int
    """1 when opened, one more at each change of its own fields (not of its balance)."""
    holder: HolderOut
    createdAt: datetime
    updatedAt: datetime
    pendingChanges: list[PendingChangeOut]
    """Pending actions that would change it, oldest first."""


class CounterpartyOut(SQLModel):
    id: uuid.UUID
    accountNumber: str | None


class LedgerEntryOut(SQLModel):
    id: int
    amount: Decimal
    """Signed: negative left the account, positive arrived."""
    balanceAfter: Decimal
    currency: str
    reference: str
    counterparty: CounterpartyOut | None
    actionId: uuid.UUID | None
    """The approved action that moved the money."""
    createdAt: datetime


class UserRecordOut(SQLModel):
    id: uuid.UUID
    username: str
    email: str
    fullName: str | None
    roles: list[str]
    status: str
    """active, inactive or awaiting activation"""
    version: int
    lastLoginAt: datetime | None
    createdAt: datetime
    updatedAt: datetime
    pendingChanges: list[PendingChangeOut]


class PromotionOut(SQLModel):
    id: uuid.UUID
    code: str
    name: str
    description: str | None
    discountType: str
    discountValue: Decimal
    startDate: datetime
    endDate: datetime
    active: bool
    version: int
    createdAt: datetime
    updatedAt: datetime
    pendingChanges: list[PendingChangeOut]


class KeysetPagination(SQLModel):
    limit: int
    nextCursor: str | None
    """Pass as `after` for the next page; null on the last page."""
    previousCursor: str | None
    """Pass as `before` for the previous page; null on the first page."""
    estimatedTotal: int | None
    """About how many records the unsearched list holds (PostgreSQL's statistics); null for a search."""


class AccountList(SQLModel):
    success: bool = True
    data: list[AccountOut]
    pagination: KeysetPagination


class AccountEnvelope(SQLModel):
    success: bool = True
    data: AccountOut


class LedgerList(SQLModel):
    success: bool = True
    data: list[LedgerEntryOut]
    pagination: KeysetPagination


class UserRecordList(SQLModel):
    success: bool = True
    data: list[UserRecordOut]
    pagination: KeysetPagination


class UserRecordEnvelope(SQLModel):
    success: bool = True
    data: UserRecordOut


class PromotionList(SQLModel):
    success: bool = True
    data: list[PromotionOut]
    pagination: KeysetPagination


class PromotionEnvelope(SQLModel):
    success: bool = True
    data: PromotionOut


Q = Annotated[
    str | None,
    QueryParameter(
        name="q",
        max_length=MAX_SEARCH,
        description="Search: the start of the number, code or username; from 3 characters, text in the name",
    ),
]
Limit = Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_PAGE_SIZE)]
After = Annotated[
    str | None,
    QueryParameter(name="after", max_length=400, description="A page's nextCursor: the page after it"),
]
Before = Annotated[
    str | None,
    QueryParameter(name="before", max_length=400, description="A page's previousCursor: the page before it"),
]
RecordId = Annotated[str, PathParameter(schema_extra={"format": "uuid"})]


def _record_id(raw: str) -> uuid.UUID:
    parsed = parse_uuid(raw)
    if parsed is None:
        raise InvalidInput("The id is not valid", details={"id": "Expected a UUID"})
    return parsed


def _listed(listed: queries.Listed, shape: Any, limit: int) -> Response[Any]:
    data = [shape(row, listed.pending.get(row.id, [])) for row in listed.page.rows]
    return Response({"success": True, "data": data, "pagination": views.pagination_json(listed.page, limit)})


def _one(data: dict[str, Any]) -> Response[Any]:
    return Response({"success": True, "data": data})


_LIST_ERRORS = error_responses(400, 401)
_ONE_ERRORS = error_responses(400, 401, 404)


class RecordsApiController(Controller):
    path = "/api/records"
    tags = ["records"]
    security = [{"BearerToken": []}]

    @get("/accounts", summary="List or search accounts, by number", responses=_LIST_ERRORS)
    async def list_accounts(
        self,
        db_session: NamedDependency[AsyncSession],
        q: Q = None,
        limit: Limit = PAGE_SIZE,
        after: After = None,
        before: Before = None,
    ) -> Response[AccountList]:
        window = Window.parse("account", limit=limit, after=after, before=before)
        page = await queries.list_accounts(db_session, search=Search.parse(q), window=window)
        return _listed(await queries.with_pending(db_session, page), views.account_json, limit)

    @get("/accounts/{account_id:str}", summary="Get one account", responses=_ONE_ERRORS)
    async def get_account(
        self, account_id: RecordId, db_session: NamedDependency[AsyncSession]
    ) -> Response[AccountEnvelope]:
        row = await queries.get_account(db_session, _record_id(account_id))
        pending = await queries.pending_changes(db_session, [row.id])
        return _one(views.account_json(row, pending[row.id]))

    @get(
        "/accounts/{account_id:str}/ledger",
        summary="An account's ledger, newest first",
        responses=_ONE_ERRORS,
    )
    async def account_ledger(
        self,
        account_id: RecordId,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = PAGE_SIZE,
        after: After = None,
        before: Before = None,
    ) -> Response[LedgerList]:
        window = Window.parse("ledger", limit=limit, after=after, before=before)
        row = await queries.get_account(db_session, _record_id(account_id))
        page = await queries.ledger(db_session, row.id, window)
        data = [views.ledger_json(entry) for entry in page.rows]
        return Response({"success": True, "data": data, "pagination": views.pagination_json(page, limit)})

    @get("/users", summary="List or search users, by username", responses=_LIST_ERRORS)
    async def list_users(
        self,
        db_session: NamedDependency[AsyncSession],
        q: Q = None,
        limit: Limit = PAGE_SIZE,
        after: After = None,
        before: Before = None,
    ) -> Response[UserRecordList]:
        window = Window.parse("user", limit=limit, after=after, before=before)
        page = await queries.list_users(db_session, search=Search.parse(q), window=window)
        return _listed(await queries.with_pending(db_session, page), views.user_json, limit)

    @get("/users/{user_id:str}", summary="Get one user", responses=_ONE_ERRORS)
    async def get_user(
        self, user_id: RecordId, db_session: NamedDependency[AsyncSession]
    ) -> Response[UserRecordEnvelope]:
        row = await queries.get_user(db_session, _record_id(user_id))
        pending = await queries.pending_changes(db_session, [row.id])
        return _one(views.user_json(row, pending[row.id]))

    @get("/promotions", summary="List or search promotions, by code", responses=_LIST_ERRORS)
    async def list_promotions(
        self,
        db_session: NamedDependency[AsyncSession],
        q: Q = None,
        limit: Limit = PAGE_SIZE,
        after: After = None,
        before: Before = None,
    ) -> Response[PromotionList]:
        window = Window.parse("promotion", limit=limit, after=after, before=before)
        page = await queries.list_promotions(db_session, search=Search.parse(q), window=window)
        return _listed(await queries.with_pending(db_session, page), views.promotion_json, limit)

    @get("/promotions/{promotion_id:str}", summary="Get one promotion", responses=_ONE_ERRORS)
    async def get_promotion(
        self, promotion_id: RecordId, db_session: NamedDependency[AsyncSession]
    ) -> Response[PromotionEnvelope]:
        row = await queries.get_promotion(db_session, _record_id(promotion_id))
        pending = await queries.pending_changes(db_session, [row.id])
        return _one(views.promotion_json(row, pending[row.id]))
