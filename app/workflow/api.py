"""The JSON API of the workflow, compatible with the original tutorial's routes and envelopes."""

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import REGISTRY
from app.db import ONE_STATEMENT
from app.errors import Forbidden
from app.models import User
from app.workflow import service, views
from app.workflow.inputs import action_filter, parse_action_id, parse_cursor
from app.workflow.schemas import (
    ActionEnvelope,
    ActionList,
    CreateActionIn,
    DuplicatePendingEnvelope,
    ReviewEnvelope,
    ReviewIn,
    action_json,
)

MAX_PAGE_SIZE = 100
SUBMIT_EXAMPLES = [
    Example(summary=kind.label, value={"actionType": name, "payload": kind.sample})
    for name, kind in REGISTRY.items()
]


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

    # submit_action writes one statement (the action, its audit event, the queue's signal)
    @post(
        "/",
        status_code=201,
        summary="Submit an action for review",
        opt={ONE_STATEMENT: True},
        responses={
            409: ResponseSpec(
                data_container=DuplicatePendingEnvelope,
                description="A pending action already has one of its unique keys (such as the username)",
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

    @get("/", summary="List actions")
    async def list_actions(
        self,
        db_session: NamedDependency[AsyncSession],
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        action_type: Annotated[str | None, QueryParameter(name="actionType")] = None,
        maker_id: Annotated[str | None, QueryParameter(name="makerId")] = None,
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
    ) -> Response[ActionList]:
        result = await views.list_actions(
            session=db_session,
            filters=action_filter(status, action_type, maker_id, strict=True),
            page=page,
            limit=limit,
            after=parse_cursor(cursor),
        )
        pagination = {
            "page": result.page,
            "limit": result.limit,
            "total": result.total,
            "totalPages": result.total_pages,
            "nextCursor": result.next_cursor,
        }
        return _answer(data=[action_json(row) for row in result.rows], pagination=pagination)

    @get("/{action_id:str}", summary="Get one action")
    async def get_action(
        self, action_id: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> Response[ActionEnvelope]:
        action = await views.get_action(session=db_session, action_id=parse_action_id(action_id))
        return _answer(message="Action found", data=action_json(action))

    @post("/{action_id:str}/review", status_code=200, summary="Approve or reject an action")
    async def review_action(
        self,
        request: Request[User, Any, Any],
        action_id: FromPath[str],
        data: JSONBody[ReviewIn],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[ReviewEnvelope]:
        _must_be_caller(data.checkerId, request.user, "checkerId")
        outcome = await service.review_action(
            session=db_session,
            action_id=parse_action_id(action_id),
            reviewer=request.user,
            approve=data.status == "approved",
            comment=data.reviewComment,
        )
        data = {"action": action_json(outcome.action), "executionResult": outcome.execution_result}
        return _answer(message=outcome.message, data=data)
