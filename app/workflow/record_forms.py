"""The request form of a type that changes an existing record: the maker picks the record (by its
id, or by what people call it, such as an account number) and gets the form filled with its current
values (GET /actions/new?actionType=<type>&record=<id or name>)."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions.base import ActionType, InvalidPayload
from app.text import without_nul
from app.workflow.inputs import parse_uuid


@dataclass(frozen=True)
class Picked:
    """The form's record, as the picker shows it."""

    record_id: str
    key: str
    """What people call it (an account number, a promotion code)."""
    version: int


@dataclass(frozen=True)
class Prefill:
    values: dict[str, Any] = field(default_factory=dict)
    picked: Picked | None = None
    error: str | None = None
    """Why the record asked for could not be used, under the picker's field."""
    asked: str = ""
    """What the maker typed, shown back with the error."""


def as_form_values(values: dict[str, Any]) -> dict[str, Any]:
    """A payload's JSON values as a browser's form sends them: text, true/false, lists of text."""
    shown: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            shown[name] = "true" if value else "false"
        elif isinstance(value, list):
            shown[name] = [str(item) for item in value]
        else:
            shown[name] = str(value)
    return shown


async def prefill(session: AsyncSession, kind: ActionType, asked: str | None) -> Prefill:
    """The form's values for the record asked for; an empty form when none was asked for."""
    asked = without_nul(asked or "").strip()[:200]
    if not asked:
        return Prefill()
    updates = kind.updates
    if updates is not None:
        record = await updates.find(session, asked)
        if record is None:
            by = updates.key_label.lower() or "id"
            return Prefill(error=f"No {updates.noun} has this {by}", asked=asked)
        values = await kind.prefill(session, record.id) if kind.prefill else None
        values = values or await updates.prefill(session, record.id) or {}
        return Prefill(as_form_values(values), Picked(str(record.id), updates.key(record), record.version))
    record_id = parse_uuid(asked)
    values = await kind.prefill(session, record_id) if kind.prefill and record_id else None
    if values is None:
        return Prefill(error="No record has this id", asked=asked)
    return Prefill(as_form_values(values))


async def picked_again(session: AsyncSession, kind: ActionType, values: dict[str, Any]) -> Picked | None:
    """The record a submitted form names (its form comes back with errors): the picker shows it."""
    if kind.updates is None:
        return None
    record = await kind.updates.load(session, parse_uuid(str(values.get(kind.updates.id_field) or "")))
    return Picked(str(record.id), kind.updates.key(record), record.version) if record else None


async def only_changes(session: AsyncSession, kind: ActionType, raw: dict[str, Any]) -> dict[str, Any]:
    """A filled-in form's payload without the fields left as the record has them (the form shows
    every field): a request says what it changes and nothing else, so a change approved meanwhile
    to another field is not undone. Unchanged when it is not valid or changes nothing: the
    submission then says what is wrong."""
    updates = kind.updates
    if updates is None:
        return raw
    try:
        payload = kind.parse(raw).to_json()
    except (ValidationError, InvalidPayload):
        return raw
    record = await updates.load(session, updates.record_id(payload))
    if record is None:
        return raw
    changed = updates.changed(record, payload)
    proposed = updates.proposed_values(payload)
    kept = {name: value for name, value in payload.items() if name in changed or name not in proposed}
    return kept if changed else raw


async def current_values(session: AsyncSession, kind: ActionType, payload: dict[str, Any]) -> dict[str, Any]:
    """The form's values for the record a stored update changes, as it is now (its edit page)."""
    if kind.updates is None:
        return {}
    record_id = kind.updates.record_id(payload)
    values = await kind.prefill(session, record_id) if kind.prefill and record_id else None
    return as_form_values(values or {})
