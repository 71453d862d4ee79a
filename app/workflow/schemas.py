"""JSON shapes of the workflow API, in the tutorial's camelCase."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar.openapi.datastructures import ResponseSpec
from pydantic import ConfigDict, Field
from sqlmodel import SQLModel

from app.actions import REGISTRY
from app.text import Text
from app.workflow.records import changes_of


class CreateActionIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    actionType: str = Field(min_length=1, max_length=50, json_schema_extra={"enum": list(REGISTRY)})
    payload: dict[str, Any]
    makerId: uuid.UUID | None = None
    """Accepted for compatibility with the tutorial; must name the caller."""


class ReviewIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    status: Literal["approved", "rejected", "changes_requested"]
    """changes_requested sends the action back to its maker, who may resubmit it (a comment is required)."""
    reviewComment: Annotated[Text, Field(max_length=2000)] | None = None
    checkerId: uuid.UUID | None = None
    """Accepted for compatibility with the tutorial; must name the caller."""
    password: Annotated[Text, Field(max_length=256)] | None = None
    """Your current password, to approve an action whose policy asks for a step-up (stepUp): without
    it, or wrong, the approval is refused with 403 (a wrong one counts as a failed login). Never stored."""


class ResubmitIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    payload: dict[str, Any]
    """The whole new payload, as at submission (not a patch)."""


class FieldChangeOut(SQLModel):
    field: str
    before: Any
    after: Any


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
    policyVersion: int
    """The version of its type's policy it was submitted under (0: the defaults)."""
    version: int
    """1 at submission; each resubmission after a send-back adds one."""
    expiresAt: datetime | None
    """When it expires if still pending (its pinned policy's time to live)."""
    executionResult: dict[str, Any] | None
    error: str | None
    changes: list[FieldChangeOut] = []
    """An update to an existing record: each field it changes, with its value at submission (before)
    and the proposed one (after). Empty for other actions."""

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
            policyVersion=action.policy_version,
            version=action.version,
            expiresAt=action.expires_at,
            executionResult=action.execution_result,
            error=action.error,
            changes=[FieldChangeOut(**change.json()) for change in changes_of(action)],
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
        "policyVersion": action.policy_version,
        "version": action.version,
        "expiresAt": action.expires_at,
        "executionResult": action.execution_result,
        "error": action.error,
        "changes": [change.json() for change in changes_of(action)],
    }


class ActionEnvelope(SQLModel):
    success: bool = True
    message: str
    data: ActionOut


class PolicyOut(SQLModel):
    version: int
    """0: the defaults, in force until a change is approved."""
    enabled: bool
    requiredApprovals: int
    ttlHours: int
    reviewerRole: str
    stepUp: bool = False
    """Approving needs the checker's password again."""
    largeAmount: str | None = None
    """Above this amount (a decimal string) an action needs largeAmountApprovals approvals."""
    largeAmountApprovals: int | None = None
    createdAt: datetime | None = None
    createdBy: uuid.UUID | None = None
    approvedBy: uuid.UUID | None = None
    actionId: uuid.UUID | None = None
    """The update_policy action that made this version."""


class PersonOut(SQLModel):
    userId: uuid.UUID
    username: str


class ApprovalOut(PersonOut):
    approvedAt: datetime


class RecordChangeOut(FieldChangeOut):
    now: Any = None
    """The record's value now (while the action is pending)."""


class VersionOut(SQLModel):
    version: int
    payload: dict[str, Any]
    summary: str
    submittedAt: datetime
    changes: list[FieldChangeOut]
    """The payload's fields that differ from the version before (empty for version 1)."""


class ActionDetailOut(ActionOut):
    approvedBy: list[ApprovalOut]
    """Who approved it so far, in order: `approvals` of `requiredApprovals`."""
    mayStillApprove: list[PersonOut]
    """Active users with the policy's reviewer role, not its maker, who have not reviewed it yet
    (empty once it is decided)."""
    policy: PolicyOut
    """The policy version it is pinned to."""
    versions: list[VersionOut]
    """Every version, oldest first, each with what changed from the one before."""
    changes: list[RecordChangeOut] = []  # type: ignore[assignment]
    """As in a list, and while it is pending each field's value now."""
    stale: bool = False
    """Pending, and the record it changes has changed since submission: approving is refused (409)."""


class ActionDetailEnvelope(SQLModel):
    success: bool = True
    message: str
    data: ActionDetailOut


class ActionTypeOut(SQLModel):
    name: str
    label: str
    makerRole: str
    payloadSchema: dict[str, Any]
    """The JSON Schema of the payload."""
    policy: PolicyOut
    """The policy in force."""


class ActionTypeDetailOut(ActionTypeOut):
    history: list[PolicyOut]
    """Every version, newest first, down to the defaults (version 0)."""
    pendingChanges: list[ActionOut]
    """Pending update_policy actions for this type."""


class ActionTypeList(SQLModel):
    success: bool = True
    data: list[ActionTypeOut]


class ActionTypeEnvelope(SQLModel):
    success: bool = True
    data: ActionTypeDetailOut


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


ERROR_MEANINGS = {
    429: "Too many failed logins or password checks from your network: wait and try again",
    400: "Invalid input: `details` names each field and what is wrong with it",
    401: "Not authenticated: no valid bearer token (or browser session)",
    403: "Not allowed: a role is missing, the action is your own, an id names someone else, "
    "a browser request lacks its CSRF token, or an approval needs your password (details: password)",
    404: "No action has this id",
    409: "The action is not pending any more, you have already reviewed it, or current data "
    "refused its execution, or the record it changes changed since it was submitted (stale); "
    "it stays pending and `error` says why",
}
"""What each error status means on the workflow API; every error answers with the same envelope."""


def error_responses(*status_codes: int, **meanings: str) -> dict[int, ResponseSpec]:
    """The error answers a route gives, documented with the envelope the app sends (app.web.errors);
    `meanings` replaces ERROR_MEANINGS' words for a status, keyed "e403" and so on."""
    return {
        code: ResponseSpec(
            data_container=ErrorEnvelope,
            description=meanings.get(f"e{code}", ERROR_MEANINGS[code]),
            generate_examples=False,
        )
        for code in status_codes
    }


MAX_BULK_IDS = 100
"""Actions one bulk review may name."""
BulkIds = Annotated[list[uuid.UUID], Field(min_length=1, max_length=MAX_BULK_IDS)]


class BulkPrecheckIn(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    ids: BulkIds
    status: Literal["approved", "rejected"]


class BulkReviewIn(BulkPrecheckIn):
    reviewComment: Annotated[Text, Field(max_length=2000)] | None = None
    """Required to reject; the one comment given to every item."""
    password: Annotated[Text, Field(max_length=256)] | None = None
    """Your current password, when an item's policy asks for a step-up: checked once, before any item
    is decided (wrong: 403, nothing decided). Without it, those items are refused, the others decided."""


class PrecheckItemOut(SQLModel):
    id: uuid.UUID
    allowed: bool
    reason: str | None
    """Why it would be refused, when it would be."""
    stepUp: bool
    """Approving it needs your password (password in the bulk review)."""


class PrecheckOut(SQLModel):
    success: bool = True
    data: list[PrecheckItemOut]
    """One item per id, in the order given."""


class BulkResultOut(SQLModel):
    id: uuid.UUID
    outcome: Literal["approved", "rejected", "approval_recorded", "refused"]
    statusCode: int
    """What a review of this action alone would have answered: 200, or the refusal's status."""
    message: str


class BulkReviewData(SQLModel):
    batchId: uuid.UUID
    """Recorded in the audit event of every item decided (details.batchId)."""
    results: list[BulkResultOut]


class BulkReviewEnvelope(SQLModel):
    success: bool = True
    message: str
    data: BulkReviewData
