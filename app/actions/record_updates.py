"""What an action type that changes one existing record (a user, an account, a promotion) declares,
and what the workflow does with it: a form filled with the record's current values, the values the
request changes as they were at submission (its diff's "before") with the record's version, and the
record's version now (an approval of a request made against an older version is refused as stale).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

Values = dict[str, Any]
"""Fields by payload name (camelCase), with their values as the payload's JSON writes them."""


@dataclass(frozen=True)
class Snapshot:
    """The record as a request found it at submission."""

    version: int
    before: Values
    """The current values of exactly the fields the request changes."""


def _differs(name: str, current: Any, proposed: Any) -> bool:
    return current != proposed


@dataclass(frozen=True)
class RecordUpdate:
    model: type[Any]
    """The record's table model (User, Account, Promotion): it has id and version columns."""
    id_field: str
    """The payload field naming the record, such as "accountId"."""
    noun: str
    """What the record is, in a message's words ("account")."""
    current: Callable[[Any], Values]
    """The record's fields the type can change, as its payload would write them."""
    key: Callable[[Any], str]
    """What people call the record by (an account number, a promotion code, a username)."""
    find_by_key: Callable[[str], Any] | None = None
    """The condition selecting a record by that name (as typed, already trimmed): the form's picker."""
    key_label: str = ""
    """The picker's label, such as "Account number"."""
    proposed: Callable[[Values], Values] | None = None
    """The values the request sets, from its stored payload; default: its fields but the record's id."""
    differs: Callable[[str, Any, Any], bool] = field(default=_differs)
    """Whether a proposed value changes the current one (roles compare as a set)."""

    # -- the request ------------------------------------------------------------------------------

    def record_id(self, payload: Values) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(payload[self.id_field]))
        except (KeyError, ValueError):
            return None

    def records(self, payload: Any) -> list[uuid.UUID]:
        """ActionType.records: the one record the request changes."""
        found = self.record_id(payload.to_json())
        return [found] if found else []

    def proposed_values(self, payload: Values) -> Values:
        if self.proposed is not None:
            return self.proposed(payload)
        return {name: value for name, value in payload.items() if name != self.id_field}

    def changed(self, record: Any, payload: Values) -> Values:
        """The current values of the fields the payload changes."""
        current = self.current(record)
        return {
            name: current.get(name)
            for name, value in self.proposed_values(payload).items()
            if self.differs(name, current.get(name), value)
        }

    # -- the database -----------------------------------------------------------------------------

    async def load(self, session: AsyncSession, record_id: uuid.UUID | None) -> Any:
        if record_id is None:
            return None
        return await session.get(self.model, record_id, populate_existing=True)

    async def find(self, session: AsyncSession, text: str) -> Any:
        """A record by its id or by what people call it (the picker's field)."""
        text = text.strip()
        try:
            return await self.load(session, uuid.UUID(text))
        except ValueError:
            pass
        if self.find_by_key is None or not text:
            return None
        found = await session.exec(select(self.model).where(self.find_by_key(text)))  # type: ignore[call-overload]
        return found.scalars().first()

    async def version_now(self, session: AsyncSession, record_id: uuid.UUID, *, lock: bool) -> int | None:
        """The record's version; locked until the transaction ends when `lock` (an approval's check,
        so no other approval changes the record between the check and the execution)."""
        statement = select(self.model.version).where(self.model.id == record_id)
        if lock:
            statement = statement.with_for_update()
        return (await session.exec(statement)).scalar_one_or_none()  # type: ignore[call-overload]

    async def snapshot(self, session: AsyncSession, payload: Any) -> Snapshot | None:
        """ActionType.snapshot: the record's version and the values the request changes, now."""
        as_json = payload.to_json()
        record = await self.load(session, self.record_id(as_json))
        if record is None:
            return None
        return Snapshot(record.version, self.changed(record, as_json))

    async def prefill(self, session: AsyncSession, record_id: uuid.UUID) -> Values | None:
        """ActionType.prefill: the form's values for the record as it is now."""
        record = await self.load(session, record_id)
        if record is None:
            return None
        return {self.id_field: str(record.id)} | self.current(record)
