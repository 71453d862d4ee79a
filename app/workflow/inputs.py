"""What callers send, checked and parsed: ids, filters, cursors, review decisions and the payloads
of browser forms. Shared by the JSON API and the pages."""

import types
import typing
import uuid
from datetime import datetime
from typing import Any

from litestar.datastructures import FormMultiDict
from pydantic import ValidationError

from app.actions import REGISTRY
from app.actions.base import ActionType, validation_errors
from app.errors import InvalidInput
from app.models import ActionStatus
from app.workflow.schemas import ReviewIn
from app.workflow.views import SORTS, ActionFilter, Cursor, sort_order


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


def parse_cursor(raw: str | None) -> Cursor | None:
    """Raises InvalidInput for a cursor that is not one a page of this API handed out."""
    if not raw:
        return None
    cursor = Cursor.decode(raw)
    if cursor is None:
        raise InvalidInput("The cursor is not valid", details={"cursor": "Use the nextCursor of a page"})
    return cursor


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


def list_order(sort: str | None, filters: ActionFilter) -> tuple[bool, str | None]:
    """(oldest_first, sort_key) of the API's list for `sort` (views.SORTS; empty: newest first).
    Raises InvalidInput for an unknown sort, and for type or amount outside the pending actions
    (their indexes cover only those)."""
    if not sort:
        return False, None
    if sort not in SORTS:
        raise InvalidInput("The sort is not valid", details={"sort": "Use one of " + ", ".join(SORTS)})
    if sort in ("type", "amount") and filters.status != ActionStatus.PENDING:
        raise InvalidInput(
            "The sort is not valid", details={"sort": f"Sorting by {sort} needs status=pending"}
        )
    return sort_order(sort)


def review_from_form(form: Any) -> ReviewIn:
    """The decision of a browser review form, checked like the API's; raises InvalidInput."""
    raw = {
        "status": str(form.get("decision", "")),
        "reviewComment": str(form.get("comment", "")) or None,
        "password": str(form.get("password", "")) or None,
    }
    try:
        return ReviewIn.model_validate(raw)
    except ValidationError as exc:
        errors = validation_errors(exc)
        if "status" in errors:
            raise InvalidInput("Choose approve or reject") from exc
        if "password" in errors:
            raise InvalidInput("The password is too long", details={"password": errors["password"]}) from exc
        raise InvalidInput(
            f"The comment is not valid: {errors.get('reviewComment', '')}", details=errors
        ) from exc


_FORM_META = {"_csrf_token", "actionType"}


def _is_list_type(annotation: Any) -> bool:
    """A list, also when optional or annotated (update_user's `roles: Roles | None`)."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_list_type(arg) for arg in typing.get_args(annotation))
    return False


def _is_list_field(kind: ActionType, alias: str) -> bool:
    for name, info in kind.payload_model.model_fields.items():
        if alias in (name, info.alias):
            return _is_list_type(info.annotation)
    return False


def payload_from_form(kind: ActionType, form: FormMultiDict) -> dict[str, Any]:
    """Field values by name; list fields (checkbox groups) as lists; blank fields left out (so "Required").

    A checkbox group with nothing ticked sends nothing at all: it becomes an empty list, so that the
    person hears it needs a choice instead of getting the API's default.
    """
    raw: dict[str, Any] = {}
    for key in {k for k in form if k not in _FORM_META}:
        values = [str(v) for v in form.getall(key)]
        if _is_list_field(kind, key):
            raw[key] = [v for v in values if v]
        elif values[-1].strip():
            raw[key] = values[-1]
    for name, info in kind.payload_model.model_fields.items():
        if _is_list_type(info.annotation) and info.alias not in raw and name not in raw:
            raw[info.alias or name] = []
    return raw


def form_values(kind: ActionType, payload: dict[str, Any]) -> dict[str, Any]:
    """A stored payload as its type's form shows values (the inverse of payload_from_form): text for
    every field, true/false for yes-no choices, a date for a date field (its form takes days only)."""
    values: dict[str, Any] = {}
    for name, info in kind.payload_model.model_fields.items():
        key = info.alias or name
        value = payload.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            values[key] = [str(item) for item in value]
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        elif _is_moment(info.annotation) and isinstance(value, str):
            values[key] = value[:10]
        else:
            values[key] = str(value)
    return values


def _is_moment(annotation: Any) -> bool:
    return annotation is datetime or datetime in typing.get_args(annotation)
