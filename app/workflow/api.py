"""The JSON API of the workflow, compatible with the original tutorial's routes and envelopes."""

import uuid
from dataclasses import replace
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, JSONBody, PathParameter, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import REGISTRY, get_action_type
from app.actions.base import ActionType
from app.db import ONE_STATEMENT
from app.errors import Forbidden, NotFound
from app.models import ActionStatus, User
from app.workflow import policies, records, service, step_up, views
from app.workflow.inputs import action_filter, list_order, parse_action_id, parse_cursor
from app.workflow.schemas import (
    ActionDetailEnvelope,
    ActionEnvelope,
    ActionList,
    ActionTypeEnvelope,
    ActionTypeList,
    CreateActionIn,
    DuplicatePendingEnvelope,
    ResubmitIn,
    ReviewEnvelope,
    ReviewIn,
    action_json,
    error_responses,
)

MAX_PAGE_SIZE = 100
SUBMIT_EXAMPLES = [
    Example(summary=kind.label, value={"actionType": name, "payload": kind.sample})
    for name, kind in REGISTRY.items()
]


def _filter(name: str, allowed: list[str] | dict[str, str]) -> QueryParameter:
    """A list filter: one of the allowed values (a list) or of a schema's; empty means no filter, as in
    the tutorial's API (app.workflow.inputs.action_filter)."""
    one = {"type": "string", "enum": allowed} if isinstance(allowed, list) else allowed
    return QueryParameter(
        name=name,
        schema_extra={"one_of": [one, {"type": "string", "maxLength": 0}], "type": None},
        description="Empty or left out: no filter",
    )


ActionId = Annotated[str, PathParameter(schema_extra={"format": "uuid"})]
"""An action's id; anything but a UUID gets a 400 naming the field."""


def _answer(**fields: Any) -> Response[Any]:
    """The success envelope as a plain dict (see schemas.action_json); the handler's annotation
    documents its shape, and the route gives the status code (201 for a submission)."""
    return Response({"success": True, **fields})


def _must_be_caller(claimed: uuid.UUID | None, user: User, field: str) -> None:
    if claimed is not None and claimed != user.id:
        raise Forbidden(f"{field} must be your own id: identity comes from authentication")


class WorkflowApiController(Controller):
    path = "/api/workflow/actions"
    tags = ["workflow"]
    security = [{"BearerToken": []}]

    # submit_action writes one statement (the action, its audit event, the queue's signal)
    @post(
        "/",
        status_code=201,
        summary="Submit an action for review",
        opt={ONE_STATEMENT: True},
        responses=error_responses(400, 401, 403)
        | {
            409: ResponseSpec(
                data_container=DuplicatePendingEnvelope,
                description="A pending action already has one of its unique keys (such as the username), "
                "or its type is disabled by its policy",
            )
        },
    )
    async def create_action(
        self,
        request: Request[User, Any, Any],
        data: Annotated[CreateActionIn, Body(media_type=RequestEncodingType.JSON, examples=SUBMIT_EXAMPLES)],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[ActionEnvelope]:
        _must_be_caller(data.makerId, request.user, "makerId")
        action = await service.submit_action(
            session=db_session, maker=request.user, action_type=data.actionType, raw_payload=data.payload
        )
        return _answer(message="Action submitted for review", data=action_json(action))

    @get("/", summary="List actions", responses=error_responses(400, 401))
    async def list_actions(
        self,
        db_session: NamedDependency[AsyncSession],
        status: Annotated[str | None, _filter("status", [s.value for s in ActionStatus])] = None,
        action_type: Annotated[str | None, _filter("actionType", list(REGISTRY))] = None,
        maker_id: Annotated[str | None, _filter("makerId", {"type": "string", "format": "uuid"})] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=MAX_PAGE_SIZE)] = 20,
        cursor: Annotated[
            str | None,
            QueryParameter(
                name="cursor",
                max_length=200,
                description="The nextCursor of the previous page: reads the next page directly, at any depth",
            ),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                name="q",
                max_length=views.MAX_SEARCH_LENGTH,
                description="Search: the start of an action's id, a maker's or payload's username, an "
                "account number, or any part of the summary",
            ),
        ] = None,
        sort: Annotated[
            str | None,
            QueryParameter(
                name="sort",
                schema_extra={
                    "one_of": [
                        {"type": "string", "enum": list(views.SORTS)},
                        {"type": "string", "maxLength": 0},
                    ],
                    "type": None,
                },
                description="newest (the default), oldest, type, or amount (largest first; no amount counts "
                "as 0); type and amount need status=pending",
            ),
        ] = None,
    ) -> Response[ActionList]:
        filters = action_filter(status, action_type, maker_id, strict=True)
        oldest_first, sort_key = list_order(sort, filters)
        search = await views.find_search(db_session, q)
        result = await views.list_actions(
            session=db_session,
            filters=replace(filters, search=search),
            page=page,
            limit=limit,
            after=parse_cursor(cursor),
            oldest_first=oldest_first,
            sort_key=sort_key,
        )
        pagination = {
            "page": result.page,
            "limit": result.limit,
            "total": result.total,
            "totalPages": result.total_pages,
            "nextCursor": result.next_cursor,
        }
        return _answer(data=[action_json(row) for row in result.rows], pagination=pagination)

    @get("/{action_id:str}", summary="Get one action", responses=error_responses(400, 401, 404))
    async def get_action(
        self, action_id: ActionId, db_session: NamedDependency[AsyncSession]
    ) -> Response[ActionDetailEnvelope]:
        action = await views.get_action(session=db_session, action_id=parse_action_id(action_id))
        policy = await policies.pinned_policy(db_session, action.action_type, action.policy_version)
        approved = await policies.approvals_of(db_session, [action.id] if action.approvals else [])
        eligible = await policies.may_still_approve(db_session, action, policy)
        versions = await views.versions_of(session=db_session, action=action)
        state = await records.record_state(db_session, action)
        data = action_json(action) | {
            "approvedBy": [approval.json() for approval in approved.get(action.id, [])],
            "mayStillApprove": [person.json() for person in eligible],
            "policy": policy.json(),
            "versions": [version.json() for version in versions],
            "changes": [change.json() for change in state.changes],
            "stale": state.stale,
        }
        return _answer(message="Action found", data=data)

    @post(
        "/{action_id:str}/review",
        status_code=200,
        summary="Approve, reject or send back an action",
        description=(
            "status approved, rejected, or changes_requested: sent back to its maker, who may edit and "
            "resubmit it (a comment is required to reject or send back). A pending action past its time "
            "to live is refused with 409 and marked expired. Approving an action whose policy has stepUp "
            "needs your current password in `password`: without it, or wrong, 403 with details naming "
            "`password`; a wrong one counts as a failed login (five lock the account for 15 minutes, and "
            "too many from one network answer 429)."
        ),
        responses=error_responses(400, 401, 403, 404, 409, 429),
    )
    async def review_action(
        self,
        request: Request[User, Any, Any],
        action_id: ActionId,
        data: JSONBody[ReviewIn],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[ReviewEnvelope]:
        _must_be_caller(data.checkerId, request.user, "checkerId")
        parsed = parse_action_id(action_id)
        approve = data.status == "approved"
        # before the transaction and its row lock: the password's check is slow (Argon2)
        stepped_up = approve and await step_up.step_up_for_approval(request, parsed, data.password)
        outcome = await service.review_action(
            session=db_session,
            action_id=parsed,
            reviewer=request.user,
            approve=approve,
            comment=data.reviewComment,
            send_back=data.status == "changes_requested",
            stepped_up=stepped_up,
        )
        data = {"action": action_json(outcome.action), "executionResult": outcome.execution_result}
        return _answer(message=outcome.message, data=data)

    # withdraw_action writes one statement (the guarded update, its audit event, the queue's signal)
    @post(
        "/{action_id:str}/cancel",
        status_code=200,
        summary="Withdraw your own pending action",
        description="Only the action's maker may withdraw it, and only while it is pending (409 after). "
        "Its status becomes cancelled; a concurrent review and a withdrawal never both succeed.",
        opt={ONE_STATEMENT: True},
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def cancel_action(
        self,
        request: Request[User, Any, Any],
        action_id: ActionId,
        db_session: NamedDependency[AsyncSession],
    ) -> Response[ActionEnvelope]:
        action = await service.withdraw_action(
            session=db_session, action_id=parse_action_id(action_id), maker=request.user
        )
        return _answer(message="Action withdrawn", data=action_json(action))

    @post(
        "/{action_id:str}/resubmit",
        status_code=200,
        summary="Resubmit an action sent back for changes, with a new payload",
        description=(
            "Only its maker, only while changes_requested. The payload is validated as at submission and "
            "becomes the next version; approvals of earlier versions no longer count, and it is pending "
            "again with a fresh time to live."
        ),
        responses=error_responses(400, 401, 403, 404, 409),
    )
    async def resubmit_action(
        self,
        request: Request[User, Any, Any],
        action_id: ActionId,
        data: JSONBody[ResubmitIn],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[ActionEnvelope]:
        action = await service.resubmit_action(
            session=db_session,
            action_id=parse_action_id(action_id),
            maker=request.user,
            raw_payload=data.payload,
        )
        return _answer(
            message=f"Action resubmitted for review as version {action.version}", data=action_json(action)
        )


def _type_json(kind: ActionType, policy: policies.Policy) -> dict[str, Any]:
    return {
        "name": kind.name,
        "label": kind.label,
        "makerRole": kind.maker_role,
        "payloadSchema": kind.payload_model.model_json_schema(by_alias=True),
        "policy": policy.json(),
    }


class ActionTypesApiController(Controller):
    path = "/api/workflow/action-types"
    tags = ["workflow"]
    security = [{"BearerToken": []}]

    @get(
        "/",
        summary="List the action types, each with its payload's JSON Schema and its policy in force",
        responses=error_responses(401),
    )
    async def list_action_types(self, db_session: NamedDependency[AsyncSession]) -> Response[ActionTypeList]:
        current = await policies.current_policies(db_session)
        return _answer(data=[_type_json(kind, current[name]) for name, kind in REGISTRY.items()])

    @get(
        "/{name:str}",
        summary="One action type: its schema, its policy in force, every version of it, and pending changes",
        responses=error_responses(401, 404),
    )
    async def get_action_type(
        self, name: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Response[ActionTypeEnvelope]:
        kind = get_action_type(name)
        if kind is None:
            raise NotFound("No action type has this name")
        history = await policies.policy_history(db_session, name)
        pending = await policies.pending_changes(db_session, name)
        data = _type_json(kind, history[0]) | {
            "history": [policy.json() for policy in history],
            "pendingChanges": [action_json(row) for row in pending],
        }
        return _answer(data=data)
