"""Pages of the records: accounts (balance and ledger), users and promotions, for every signed-in user.

Makers start requests from them (a transfer, a status change, an edit: links to the request form
filled from the record), checkers look up what a request would change, admins reach the change page
of a user. Nothing here writes: a change is a request like any other, and a record's page shows the
requests waiting to change it.
"""

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import NotFound
from app.models import User
from app.records import queries, views
from app.records.queries import PAGE_SIZE, Search, Window
from app.web.rendering import page_context, render
from app.workflow.inputs import parse_uuid

LEDGER_PAGE_SIZE = 20

Q = Annotated[str | None, QueryParameter(name="q")]
After = Annotated[str | None, QueryParameter(name="after")]
Before = Annotated[str | None, QueryParameter(name="before")]


def _record_id(raw: str, what: str) -> uuid.UUID:
    parsed = parse_uuid(raw)
    if parsed is None:
        raise NotFound(f"No {what} has this id")
    return parsed


def _list_page(
    request: Request[User, Any, Any], kind: str, listed: queries.Listed, search: Search | None
) -> Template:
    context = {
        "section": kind,
        "page": listed.page,
        "pending": listed.pending,
        "q": search.text if search else "",
    }
    return render(
        request, page=f"records/{kind}.html", fragment=f"records/_{kind}_list.html", context=context
    )


class RecordsPagesController(Controller):
    path = "/records"
    include_in_schema = False

    @get("/accounts", name="records.accounts")
    async def accounts(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        q: Q = None,
        after: After = None,
        before: Before = None,
    ) -> Template:
        search = Search.parse(q)
        window = Window.parse("account", limit=PAGE_SIZE, after=after, before=before)
        page = await queries.list_accounts(db_session, search=search, window=window)
        return _list_page(request, "accounts", await queries.with_pending(db_session, page), search)

    @get("/accounts/{account_id:str}", name="records.account")
    async def account(
        self,
        request: Request[User, Any, Any],
        account_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        after: After = None,
        before: Before = None,
    ) -> Template:
        window = Window.parse("ledger", limit=LEDGER_PAGE_SIZE, after=after, before=before)
        row = await queries.get_account(db_session, _record_id(account_id, "account"))
        context = {
            "section": "accounts",
            "account": row,
            "ledger": await queries.ledger(db_session, row.id, window),
            "pending": (await queries.pending_changes(db_session, [row.id]))[row.id],
            "starts": views.account_starts(request.user, row),
        }
        return render(request, page="records/account.html", fragment="records/_ledger.html", context=context)

    @get("/users", name="records.users")
    async def users(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        q: Q = None,
        after: After = None,
        before: Before = None,
    ) -> Template:
        search = Search.parse(q)
        window = Window.parse("user", limit=PAGE_SIZE, after=after, before=before)
        page = await queries.list_users(db_session, search=search, window=window)
        return _list_page(request, "users", await queries.with_pending(db_session, page), search)

    @get("/users/{user_id:str}", name="records.user")
    async def user(
        self,
        request: Request[User, Any, Any],
        user_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        row = await queries.get_user(db_session, _record_id(user_id, "user"))
        context = {
            "section": "users",
            "person": row,
            "status": views.user_status(row),
            "accounts": await queries.accounts_of(db_session, row.id),
            "pending": (await queries.pending_changes(db_session, [row.id]))[row.id],
            "may_change": views.may_change_users(request.user),
        }
        return Template("records/user.html", context=page_context(request, context))

    @get("/promotions", name="records.promotions")
    async def promotions(
        self,
        request: Request[User, Any, Any],
        db_session: NamedDependency[AsyncSession],
        q: Q = None,
        after: After = None,
        before: Before = None,
    ) -> Template:
        search = Search.parse(q)
        window = Window.parse("promotion", limit=PAGE_SIZE, after=after, before=before)
        page = await queries.list_promotions(db_session, search=search, window=window)
        return _list_page(request, "promotions", await queries.with_pending(db_session, page), search)

    @get("/promotions/{promotion_id:str}", name="records.promotion")
    async def promotion(
        self,
        request: Request[User, Any, Any],
        promotion_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
    ) -> Template:
        row = await queries.get_promotion(db_session, _record_id(promotion_id, "promotion"))
        context = {
            "section": "promotions",
            "promotion": row,
            "pending": (await queries.pending_changes(db_session, [row.id]))[row.id],
            "starts": views.promotion_starts(request.user, row),
        }
        return Template("records/promotion.html", context=page_context(request, context))
