"""Updates to existing records, as the workflow shows and checks them: each changed field's value at
submission, proposed and now (the diff), and whether the record changed since submission (stale:
approving is refused, app.errors.StaleRecord)."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions import get_action_type
from app.actions.record_updates import RecordUpdate
from app.models import ActionStatus

_NOT_READ = object()


@dataclass(frozen=True)
class RecordChange:
    field: str
    before: Any
    """At submission."""
    after: Any
    """Proposed."""
    now: Any = _NOT_READ
    """The record's value now (read only for one action's page, see record_changes_now)."""

    @property
    def moved(self) -> bool:
        """The value changed since submission."""
        return self.now is not _NOT_READ and self.now != self.before

    def json(self) -> dict[str, Any]:
        found = {"field": self.field, "before": self.before, "after": self.after}
        return found if self.now is _NOT_READ else found | {"now": self.now}


@dataclass(frozen=True)
class RecordState:
    """One action's changes with the record's values now, and whether the record moved on."""

    changes: list[RecordChange]
    stale: bool
    version_then: int | None = None
    version_now: int | None = None
    noun: str = "record"


def _updates(action: Any) -> RecordUpdate | None:
    kind = get_action_type(action.action_type)
    return kind.updates if kind else None


@cache
def _field_order(action_type: str) -> dict[str, int]:
    """The payload's fields in its form's order (jsonb keeps keys in an order of its own)."""
    kind = get_action_type(action_type)
    fields = kind.payload_model.model_fields.items() if kind else []
    return {info.alias or name: position for position, (name, info) in enumerate(fields)}


def changes_of(action: Any) -> list[RecordChange]:
    """Each field the action changes with its value at submission and the proposed one; no query.
    Empty for an action that changes no existing record, or submitted before submissions kept it."""
    before = getattr(action, "record_before", None)
    updates = _updates(action)
    if not before or updates is None:
        return []
    proposed = updates.proposed_values(action.payload)
    order = _field_order(action.action_type)
    fields = sorted(before, key=lambda field: (order.get(field, len(order)), field))
    return [RecordChange(field, before[field], proposed.get(field)) for field in fields]


async def stale_reason(session: AsyncSession, action: Any, *, lock: bool = False) -> str | None:
    """Why approving the action now would approve what its checker has not seen: the record it
    changes has a newer version than at submission (or is gone). None: not stale, or not an update.
    `lock` (the approval path, after the action's row lock) keeps the record locked until the
    transaction ends, so nothing changes it between this check and the execution."""
    updates = _updates(action)
    if updates is None or getattr(action, "record_version", None) is None:
        return None
    record_id = updates.record_id(action.payload)
    if record_id is None:
        return None
    version = await updates.version_now(session, record_id, lock=lock)
    if version is None:
        return f"the {updates.noun} it changes no longer exists"
    if version == action.record_version:
        return None
    return (
        f"the {updates.noun} changed since this request was submitted (version {action.record_version} "
        f"then, {version} now): approve only what you have seen. Its maker can withdraw it, or a "
        "checker can send it back for changes"
    )


async def record_state(session: AsyncSession, action: Any) -> RecordState:
    """The action's changes with each field's value now, and whether the record moved on (read
    while it is pending; a decided action's diff stays as it was submitted)."""
    changes = changes_of(action)
    updates = _updates(action)
    if not changes or updates is None or action.status != ActionStatus.PENDING:
        return RecordState(changes, stale=False)
    record = await updates.load(session, updates.record_id(action.payload))
    if record is None:
        return RecordState(changes, stale=True, version_then=action.record_version, noun=updates.noun)
    current = updates.current(record)
    with_now = [
        RecordChange(change.field, change.before, change.after, current.get(change.field))
        for change in changes
    ]
    return RecordState(
        with_now,
        stale=record.version != action.record_version,
        version_then=action.record_version,
        version_now=record.version,
        noun=updates.noun,
    )
