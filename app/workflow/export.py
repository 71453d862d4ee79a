"""History as CSV: the page's filters and search, streamed a keyset page at a time.

Each batch is read in its own short session, after the last row of the one before (views.rows_after),
so an export of any size holds neither a transaction nor more than one batch in memory.
"""

import csv
import io
from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Annotated, Any

import anyio
from litestar import Controller, Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Stream

from app.actions import REGISTRY
from app.db import Database
from app.models import ActionStatus, User
from app.workflow import views
from app.workflow.inputs import action_filter
from app.workflow.schemas import error_responses

EXPORT_BATCH = 500
COLUMNS = (
    "id",
    "type",
    "status",
    "summary",
    "maker",
    "amount",
    "approvals",
    "required_approvals",
    "created_at",
    "reviewed_at",
    "checker",
    "review_comment",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(value) for value in values])
    return out.getvalue()


def _moment(value: Any) -> str:
    return value.isoformat() if value is not None else ""


async def csv_chunks(db: Database, filters: views.ActionFilter) -> AsyncGenerator[str, None]:
    """The header, then one chunk per batch of rows, newest first, as History lists them."""
    yield _line(list(COLUMNS))
    after: views.Cursor | None = None
    while True:
        rows, names = await _batch(db, filters, after)
        if not rows:
            return
        yield "".join(_line(_values(row, names)) for row in rows)
        if len(rows) < EXPORT_BATCH:
            return
        after = views.Cursor(rows[-1].created_at, rows[-1].id)


async def _batch(
    db: Database, filters: views.ActionFilter, after: views.Cursor | None
) -> tuple[list[Any], dict[Any, str]]:
    # a client that leaves cancels the stream: the batch's reads finish first, so that its connection
    # goes back to the pool clean rather than cancelled mid-query (which left the pool waiting)
    with anyio.CancelScope(shield=True):
        async with db.sessions() as session:
            rows = await views.rows_after(session, filters, limit=EXPORT_BATCH, after=after)
            people = {row.maker_id for row in rows} | {row.checker_id for row in rows if row.checker_id}
            return rows, await views.usernames(session, people)


def _values(row: Any, names: dict[Any, str]) -> list[Any]:
    return [
        row.id,
        row.action_type,
        row.status,
        row.summary or row.action_type,
        names.get(row.maker_id, "?"),
        row.amount,
        row.approvals,
        row.required_approvals,
        _moment(row.created_at),
        _moment(row.reviewed_at),
        names.get(row.checker_id, "") if row.checker_id else "",
        row.review_comment,
    ]


async def _export(
    request: Request[User, Any, Any], filters: views.ActionFilter, q: str | None, filename: str
) -> Stream:
    db: Database = request.app.state.db
    async with db.sessions() as session:
        search = await views.find_search(session, q)
    return Stream(
        csv_chunks(db, replace(filters, search=search)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


class HistoryExportController(Controller):
    include_in_schema = False

    @get("/history.csv", name="history.csv")
    async def history_csv(
        self,
        request: Request[User, Any, Any],
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        action_type: Annotated[str | None, QueryParameter(name="actionType")] = None,
        maker_id: Annotated[str | None, QueryParameter(name="makerId")] = None,
        q: Annotated[str | None, QueryParameter(name="q")] = None,
    ) -> Stream:
        """History's rows for its filters, as the page lenient about odd values (it ignores them)."""
        filters = action_filter(status, action_type, maker_id, strict=False)
        return await _export(request, filters, q, "history.csv")


def _filter(name: str, allowed: list[str] | dict[str, str]) -> QueryParameter:
    one = {"type": "string", "enum": allowed} if isinstance(allowed, list) else allowed
    return QueryParameter(
        name=name,
        schema_extra={"one_of": [one, {"type": "string", "maxLength": 0}], "type": None},
        description="Empty or left out: no filter",
    )


class ActionsExportApiController(Controller):
    tags = ["workflow"]
    security = [{"BearerToken": []}]

    @get(
        "/api/workflow/actions.csv",
        summary="Export actions as CSV",
        description=(
            "The actions matching the filters and search of the list, newest first, as CSV (one row per "
            "action, streamed). Cells that a spreadsheet would read as a formula start with an apostrophe."
        ),
        media_type="text/csv",
        responses=error_responses(400, 401)
        | {200: ResponseSpec(data_container=str, media_type="text/csv", description="The actions, as CSV")},
    )
    async def export_actions(
        self,
        request: Request[User, Any, Any],
        status: Annotated[str | None, _filter("status", [s.value for s in ActionStatus])] = None,
        action_type: Annotated[str | None, _filter("actionType", list(REGISTRY))] = None,
        maker_id: Annotated[str | None, _filter("makerId", {"type": "string", "format": "uuid"})] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                name="q",
                max_length=views.MAX_SEARCH_LENGTH,
                description="Search, as the list's q",
            ),
        ] = None,
    ) -> Stream:
        filters = action_filter(status, action_type, maker_id, strict=True)
        return await _export(request, filters, q, "actions.csv")
