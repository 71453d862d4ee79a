"""JSON shapes of the workflow API, in the tutorial's camelCase."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field
from sqlmodel import SQLModel

from app.text import Text


class CreateActionIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    actionType: str = Field(min_length=1, max_length=50)
    payload: dict[str, Any]
    makerId: uuid.UUID | None = None
    """Accepted for compatibility with the tutorial; must name the caller."""


class ReviewIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    status: Literal["approved", "rejected"]
    reviewComment: Annotated[Text, Field(max_length=2000)] | None = None
    checkerId: uuid.UUID | None = None
    """Accepted for compatibility with the tutorial; must name the caller."""


class ActionOut(SQLModel):
    id: uuid.UUID
    actionType: str
    status: str
    payload: dict[str, Any]
    summary: str
    makerId: uuid.UUID
    checkerId: uuid.UUID | None
    reviewComment: str | None
    reviewedAt: datetime | None
    createdAt: datetime
    updatedAt: datetime
    requiredApprovals: int
    approvals: int
    executionResult: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, action: Any) -> "ActionOut":
        """From a WorkflowAction or a row of workflow_actions."""
        return cls(
            id=action.id,
            actionType=action.action_type,
            status=action.status,
            payload=action.payload,
            summary=action.summary,
            makerId=action.maker_id,
            checkerId=action.checker_id,
            reviewComment=action.review_comment,
            reviewedAt=action.reviewed_at,
            createdAt=action.created_at,
            updatedAt=action.updated_at,
            requiredApprovals=action.required_approvals,
            approvals=action.approvals,
            executionResult=action.execution_result,
            error=action.error,
        )


def action_json(action: Any) -> dict[str, Any]:
    """An action as the API shows it: ActionOut's fields, as a plain dict.

    The handlers answer with these, which Litestar's encoder (msgspec) writes directly; building an
    ActionOut per row and dumping it again cost more than the rest of a list request. ActionOut
    stays the documented shape (OpenAPI), and a test holds the two to the same JSON.
    """
    return {
        "id": action.id,
        "actionType": action.action_type,
        "status": action.status,
        "payload": action.payload,
        "summary": action.summary,
        "makerId": action.maker_id,
        "checkerId": action.checker_id,
        "reviewComment": action.review_comment,
        "reviewedAt": action.reviewed_at,
        "createdAt": action.created_at,
        "updatedAt": action.updated_at,
        "requiredApprovals": action.required_approvals,
        "approvals": action.approvals,
        "executionResult": action.execution_result,
        "error": action.error,
    }


class ActionEnvelope(SQLModel):
    success: bool = True
    message: str
    data: ActionOut


class ReviewData(SQLModel):
    action: ActionOut
    executionResult: dict[str, Any] | None = None


class ReviewEnvelope(SQLModel):
    success: bool = True
    message: str
    data: ReviewData


class Pagination(SQLModel):
    page: int
    limit: int
    total: int
    totalPages: int
    nextCursor: str | None = None
    """Pass as `cursor` (with the next page number) to read the next page without stepping over rows."""


class ActionList(SQLModel):
    success: bool = True
    data: list[ActionOut]
    pagination: Pagination


class ErrorDetail(SQLModel):
    field: str
    message: str


class ErrorEnvelope(SQLModel):
    success: bool = False
    error: str
    details: list[ErrorDetail] | None = None


class DuplicatePendingEnvelope(ErrorEnvelope):
    """A 409 to a submission: a pending action already has one of its unique keys."""

    pendingActionId: uuid.UUID
    """The pending action holding the (first) key; each detail names the one holding its field's key."""
