"""What every action type provides, and the helpers they share."""

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BeforeValidator, ConfigDict, ValidationError, field_validator
from pydantic.alias_generators import to_camel
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


class Payload(SQLModel):
    """Base of every payload model: camelCase in JSON, unknown fields refused, text trimmed."""

    model_config = ConfigDict(  # type: ignore[assignment]
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )

    format_hints: ClassVar[dict[str, str]] = {}
    """Plain-words explanation of a field's expected shape, shown when its pattern does not match."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_character(cls, value: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text or jsonb: refuse it here rather than fail with a 500
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("Must not contain NUL characters")
        return value

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


P = TypeVar("P", bound=Payload)

_AMOUNT = re.compile(r"\d{1,16}(\.\d{1,2})?")


def _two_place_amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("Give an amount such as 1250.00")
    text = str(value).strip()
    if text.startswith("-"):
        raise ValueError("Must not be negative")
    if not _AMOUNT.fullmatch(text):
        raise ValueError("Give an amount with at most 2 decimal places, such as 1250.00")
    return Decimal(text).quantize(Decimal("0.01"))


Amount = Annotated[Decimal, BeforeValidator(_two_place_amount)]
"""A non-negative amount with at most two decimal places, from a string or a number."""

FieldErrors = dict[str, str]


class ActionRefused(Exception):
    """Current data refuses the operation (a username taken since submission, funds short...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass
class ExecutionContext:
    """What execute() may use: the caller's transaction and who made and approved the action."""

    session: AsyncSession
    action_id: uuid.UUID
    maker_id: uuid.UUID
    checker_id: uuid.UUID


@dataclass(frozen=True)
class ActionType(Generic[P]):
    name: str
    label: str
    payload_model: type[P]
    summarize: Callable[[P], str]
    check_current_data: Callable[[AsyncSession, P], Awaitable[FieldErrors]]
    """Conflicts with current data, by field; run at submission and again at execution."""
    apply: Callable[[ExecutionContext, P], Awaitable[dict[str, Any]]]
    """Performs the operation in the caller's transaction; returns a JSON-able result."""
    form_options: Callable[[AsyncSession], Awaitable[dict[str, Any]]] | None = None
    """Choices the form offers (such as the users an account can belong to)."""

    async def options_for_form(self, session: AsyncSession) -> dict[str, Any]:
        return await self.form_options(session) if self.form_options else {}

    @property
    def form_template(self) -> str:
        return f"actions/{self.name}/_fields.html"

    @property
    def detail_template(self) -> str:
        return f"actions/{self.name}/_detail.html"

    def parse(self, raw: Any) -> P:
        """Validate raw input; raises pydantic.ValidationError."""
        return self.payload_model.model_validate(raw)

    def errors_of(self, exc: ValidationError) -> FieldErrors:
        return validation_errors(exc, self.payload_model.format_hints)

    def summary_of(self, stored_payload: dict[str, Any]) -> str:
        try:
            return self.summarize(self.parse(stored_payload))
        except ValidationError:
            return "(payload no longer valid)"

    async def execute(self, ctx: ExecutionContext, payload: P) -> dict[str, Any]:
        """Re-check against current data, then apply. Raises ActionRefused."""
        conflicts = await self.check_current_data(ctx.session, payload)
        if conflicts:
            field_name, message = next(iter(conflicts.items()))
            raise ActionRefused(message, field=field_name)
        return await self.apply(ctx, payload)


def validation_errors(exc: ValidationError, hints: dict[str, str] | None = None) -> FieldErrors:
    """Pydantic errors as {field: message}, one message per field, in plain words."""
    errors: FieldErrors = {}
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"]) or "payload"
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "Unknown field"
        elif error["type"] == "missing":
            message = "Required"
        elif error["type"] == "string_pattern_mismatch" and hints and loc in hints:
            message = hints[loc]
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.setdefault(loc, message)
    return errors
