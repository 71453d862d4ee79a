"""Checking what callers send (ids, filters, review decisions), shared by the JSON API and the pages."""

import uuid
from typing import Any

from pydantic import ValidationError

from app.actions import REGISTRY
from app.actions.base import validation_errors
from app.errors import InvalidInput
from app.models import ActionStatus
from app.workflow.queries import ActionFilter
from app.workflow.schemas import ReviewIn


def parse_uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None


def parse_action_id(raw: str) -> uuid.UUID:
    """Raises InvalidInput for anything but a UUID."""
    action_id = parse_uuid(raw)
    if action_id is None:
        raise InvalidInput("The action id is not valid", details={"id": "Expected a UUID"})
    return action_id


def page_number(raw: str | None) -> int:
    """A page number from a page's query string; anything odd is the first page."""
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def action_filter(
    status: str | None, action_type: str | None, maker_id: str | None, *, strict: bool
) -> ActionFilter:
    """Strict (the API): unknown values raise InvalidInput. Lenient (the pages): they are ignored."""
    errors: dict[str, str] = {}
    if status and status not in {s.value for s in ActionStatus}:
        errors["status"] = "Unknown status; use one of " + ", ".join(s.value for s in ActionStatus)
        status = None
    if action_type and action_type not in REGISTRY:
        errors["actionType"] = "Unknown action type; use one of " + ", ".join(REGISTRY)
        action_type = None
    maker = parse_uuid(maker_id)
    if maker_id and maker is None:
        errors["makerId"] = "Expected a UUID"
    if errors and strict:
        raise InvalidInput("The filters are not valid", details=errors)
    return ActionFilter(status=status or None, action_type=action_type or None, maker_id=maker)


def review_from_form(form: Any) -> ReviewIn:
    """The decision of a browser review form, checked like the API's; raises InvalidInput."""
    raw = {"status": str(form.get("decision", "")), "reviewComment": str(form.get("comment", "")) or None}
    try:
        return ReviewIn.model_validate(raw)
    except ValidationError as exc:
        errors = validation_errors(exc)
        if "status" in errors:
            raise InvalidInput("Choose approve or reject") from exc
        raise InvalidInput(
            f"The comment is not valid: {errors.get('reviewComment', '')}", details=errors
        ) from exc
