"""Bulk review over HTTP: the JSON API's pre-check and decision, and the pages the queue's "Review
selected" leads to (the pre-check's result, then each item's outcome)."""

import uuid
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts.guards import requires_reviewer
from app.db import MAIL_QUEUED, ONE_STATEMENT
from app.errors import DomainError, InvalidInput
from app.models import User
from app.text import without_nul
from app.web.rendering import page_context
from app.workflow import bulk, step_up, views
from app.workflow.inputs import parse_uuid
from app.workflow.schemas import (
    BulkPrecheckIn,
    BulkReviewEnvelope,
    BulkReviewIn,
    PrecheckOut,
    error_responses,
)


def _answer(request: Request[User, Any, Any], result: bulk.BatchResult) -> dict[str, Any]:
    if result.mail_queued:  # as the request's own commit would: sent after the response
        request.scope[MAIL_QUEUED] = True  # type: ignore[literal-required]
    return {"batchId": result.batch_id, "results": [item.json() for item in result.results]}


class BulkReviewApiController(Controller):
    path = "/api/workflow/actions/bulk-review"
    tags = ["workflow"]
    security = [{"BearerToken": []}]
    guards = [requires_reviewer]

    # reads only: no transaction to begin and commit
    @post(
        "/precheck",
        status_code=200,
        summary="Pre-check a bulk review: whether each action may be approved (or rejected) by you now",
        description=(
            "Writes nothing. For each id, in the order given: allowed, or the reason a review would be "
            "refused (not found, your own, a role the policy asks for, not pending, expired, already "
            "reviewed by you, its maker disabled, stale); stepUp says approving it needs your password. "
            "At most 100 ids."
        ),
        opt={ONE_STATEMENT: True},
        responses=error_responses(400, 401, 403),
    )
    async def precheck(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[BulkPrecheckIn],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[PrecheckOut]:
        found = await bulk.precheck(
            session=db_session, reviewer=request.user, ids=data.ids, decisions=[data.status]
        )
        return Response({"success": True, "data": [check.json() for check in found[data.status]]})

    # no request transaction: each item is decided in a transaction of its own
    @post(
        "/",
        status_code=200,
        summary="Approve or reject several actions, each in its own transaction, as one batch",
        description=(
            "status approved or rejected (reviewComment required to reject: one comment for all). Each "
            "action is decided as a single review would decide it, in a transaction of its own: a refused "
            "item (outcome refused, with the status code and message a single review would answer) never "
            "undoes another. When an item's policy asks for a step-up, `password` is checked once, before "
            "any item is decided: a wrong one answers 403 and decides nothing (and counts as a failed "
            "login); without one, those items alone are refused. batchId is recorded in the audit event of "
            "every item decided. At most 100 ids."
        ),
        responses=error_responses(400, 401, 403, 429),
    )
    async def bulk_review(
        self, request: Request[User, Any, Any], data: JSONBody[BulkReviewIn]
    ) -> Response[BulkReviewEnvelope]:
        result = await bulk.review_batch(
            db=request.app.state.db,
            throttle=request.app.state.login_throttle,
            caller=step_up.Caller.of(request),
            ids=data.ids,
            decision=data.status,
            comment=data.reviewComment,
            password=data.password,
        )
        return Response({"success": True, "message": result.message(), "data": _answer(request, result)})


def _form_ids(form: Any) -> list[uuid.UUID]:
    """The selected actions' ids; anything but a UUID is left out (a page only sends ids)."""
    found = [parse_uuid(str(value)) for value in form.getall("ids", [])]
    return [action_id for action_id in found if action_id is not None]


def _form_decision(form: Any) -> bulk.Decision:
    decision = str(form.get("decision", ""))
    if decision not in ("approved", "rejected"):
        raise InvalidInput("Choose approve or reject", details={"decision": "Choose approve or reject"})
    return decision  # type: ignore[return-value]


class BulkReviewPagesController(Controller):
    """The queue's "Review selected": the pre-check's page, then the batch's outcome."""

    path = "/queue/bulk-review"
    guards = [requires_reviewer]
    include_in_schema = False

    @post("/", name="bulk.precheck")
    async def precheck_page(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        form = await request.form()
        return await _precheck_page(request, db_session, _form_ids(form), None, "")

    @post("/confirm", name="bulk.confirm")
    async def confirm(
        self, request: Request[User, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        form = await request.form()
        ids = _form_ids(form)
        comment = without_nul(str(form.get("comment", "")))[:2000]
        # db_session is left untouched until the batch is over: it holds no connection meanwhile
        try:
            result = await bulk.review_batch(
                db=request.app.state.db,
                throttle=request.app.state.login_throttle,
                caller=step_up.Caller.of(request),
                ids=ids,
                decision=_form_decision(form),
                comment=comment,
                password=str(form.get("password", "")) or None,
            )
        except DomainError as exc:  # raised before anything was decided
            return await _precheck_page(request, db_session, ids, exc, comment)
        _answer(request, result)
        rows = await bulk.rows_by_id(session=db_session, action_ids=[item.id for item in result.results])
        shown = {view.action.id: view for view in await views.views_of(db_session, rows, request.user)}
        context = {
            "result": result,
            "items": [(item, shown.get(item.id)) for item in result.results],
            "counts": result.counts(),
        }
        return Template("workflow/bulk_done.html", context=page_context(request, context))


async def _precheck_page(
    request: Request[User, Any, Any],
    session: AsyncSession,
    ids: list[uuid.UUID],
    error: DomainError | None,
    comment: str,
) -> Template:
    """Each selected action with whether it may be approved and rejected, and the two confirmations."""
    items: list[Any] = []
    if ids:
        try:
            checks = await bulk.precheck(
                session=session, reviewer=request.user, ids=ids, decisions=["approved", "rejected"]
            )
        except InvalidInput as exc:
            error = error or exc
        else:
            rows = [check.action for check in checks["approved"] if check.action is not None]
            shown = {view.action.id: view for view in await views.views_of(session, rows, request.user)}
            items = [
                (approve, reject, shown.get(approve.id))
                for approve, reject in zip(checks["approved"], checks["rejected"], strict=True)
            ]
    elif error is None:
        error = InvalidInput("Select at least one request", details={"ids": "Select at least one request"})
    context = {
        "items": items,
        "approvable": [approve.id for approve, _, _ in items if approve.allowed],
        "rejectable": [reject.id for _, reject, _ in items if reject.allowed],
        "step_up": any(approve.step_up for approve, _, _ in items),
        "error": error,
        "details": (error.details or {}) if error else {},
        "comment": comment,
    }
    status_code = 200 if error is None else (422 if error.status_code == 400 else error.status_code)
    return Template(
        "workflow/bulk_review.html", context=page_context(request, context), status_code=status_code
    )
