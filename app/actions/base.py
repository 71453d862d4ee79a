"""What every action type provides, and the helpers they share."""

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.errors import MAX_REPORTED_ERRORS
from app.models import PENDING_KEY_COLUMNS, Role

if TYPE_CHECKING:
    from app.actions.record_updates import RecordUpdate, Snapshot


class Payload(SQLModel):
    """Base of every payload model: camelCase in JSON, unknown fields refused, text trimmed.

    Declare text fields as app.text.Text, which refuses NUL (PostgreSQL cannot store it).
    """

    model_config = ConfigDict(  # type: ignore[assignment]
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )

    format_hints: ClassVar[dict[str, str]] = {}
    """Plain-words explanation of a field's expected shape, shown when its pattern does not match."""

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

_MOMENT_HINT = "Give a date such as 2027-03-01 or a date and time such as 2027-03-01T09:30:00Z"


def _utc_moment(value: Any) -> datetime:
    """ISO 8601 date or date-time; a plain date is its midnight UTC, a time without offset is UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(_MOMENT_HINT) from None
    else:
        raise ValueError(_MOMENT_HINT)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # such as 0001-01-01T00:00:00+02:00, before the first representable instant
        raise ValueError(_MOMENT_HINT) from None


Moment = Annotated[datetime, BeforeValidator(_utc_moment)]
"""An instant, given as an ISO 8601 date or date-time with any offset; kept in UTC."""

FieldErrors = dict[str, str]

_MAX_FIELD_NAME = 100  # an unknown key is echoed back at most this long


def capped(errors: FieldErrors) -> FieldErrors:
    """The first MAX_REPORTED_ERRORS problems, and how many more there are under "payload"."""
    if len(errors) <= MAX_REPORTED_ERRORS:
        return errors
    kept = dict(islice(errors.items(), MAX_REPORTED_ERRORS))
    more = f"{len(errors) - MAX_REPORTED_ERRORS} more problems not listed"
    kept["payload"] = f"{kept['payload']}; {more}" if "payload" in kept else more.capitalize()
    return kept


class InvalidPayload(ValueError):
    """A payload refused before its validator ran over all of it; errors by field, already capped."""

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__("The payload is not valid")
        self.errors = errors


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
class UniqueKey(Generic[P]):
    """A value no two pending actions may share, such as a username: a second pending action with it
    is refused (409 naming the first). The key's name is its kind, so two types that declare a key of
    one name (in the same position: the registry test checks it) hold each other up too."""

    name: str
    """What the value is, in a message's words ("username", "account number")."""
    field: str
    """The payload field (as in JSON) a refusal is reported on."""
    value: Callable[[P], Any]
    """The value from a parsed payload, normalised as the type stores it (an email lower-case)."""

    def stored(self, payload: P) -> str:
        """The value as its column holds it: prefixed with the name, so kinds never clash."""
        return f"{self.name}:{self.value(payload)}"


@dataclass(frozen=True)
class ActionType(Generic[P]):
    name: str
    label: str
    payload_model: type[P]
    summarize: Callable[[AsyncSession, P], Awaitable[str]]
    """One line saying what the request does, in words a checker reads; it may look up current data.
    Run once at submission and stored with the action, so it reads later as it did then."""
    check_current_data: Callable[[AsyncSession, P], Awaitable[FieldErrors]]
    """Conflicts with current data, by field; run at submission and again at execution."""
    apply: Callable[[ExecutionContext, P], Awaitable[dict[str, Any]]]
    """Performs the operation in the caller's transaction; returns a JSON-able result."""
    sample: dict[str, Any]
    """A valid payload, as the API takes it: for the tests, the factories and the OpenAPI examples."""
    form_options: Callable[[AsyncSession], Awaitable[dict[str, Any]]] | None = None
    """Choices the form offers (such as the users an account can belong to)."""
    maker_role: Role = Role.MAKER
    """The role that may submit it: people administration is proposed by admins, not by makers."""
    default_reviewer_role: str = "checker"
    """The reviewer role of its policy until an update_policy sets another (app.workflow.policies)."""

    records: Callable[[P], list[uuid.UUID]] | None = None
    """The existing records (users, accounts, promotions) the action would change: their pages show
    it while it is pending. None: it changes no existing record (it creates one)."""
    amount: Callable[[P], Decimal] | None = None
    """The money it moves: the queue sorts by it and a policy can ask more approvals above a limit."""
    default_step_up: bool = False
    """Whether its policy asks checkers to enter their password to approve, until an update_policy
    sets otherwise."""
    prefill: Callable[[AsyncSession, uuid.UUID], Awaitable[dict[str, Any] | None]] | None = None
    """The form's values for a record (GET /actions/new?actionType=...&record=<id>), as the payload's
    JSON writes them; None when no such record exists."""
    updates: "RecordUpdate | None" = None
    """The one existing record it changes (app.actions.record_updates): its diff and stale check."""

    form_payload: Callable[[AsyncSession, dict[str, Any]], Awaitable[dict[str, Any]]] | None = None
    """The payload a browser form's values stand for, when its fields take something friendlier than
    the payload does (an account's number for its id); values it cannot resolve are left as typed,
    for the payload's own checks to name. None: the form's values are the payload."""
    unique_keys: tuple[UniqueKey[P], ...] = ()
    """Values that no two pending actions share (at most len(PENDING_KEY_COLUMNS)); none: any
    number of pending actions may ask the same."""

    def pending_keys(self, payload: P) -> dict[str, str | None]:
        """The payload's unique keys by column of workflow_actions (None where it has none)."""
        stored = [key.stored(payload) for key in self.unique_keys]
        return dict(
            zip(PENDING_KEY_COLUMNS, stored + [None] * (len(PENDING_KEY_COLUMNS) - len(stored)), strict=True)
        )

    def stored_records(self, payload: P) -> list[uuid.UUID] | None:
        return self.records(payload) if self.records else None

    def stored_amount(self, payload: P) -> Decimal | None:
        return self.amount(payload) if self.amount else None

    async def snapshot(self, session: AsyncSession, payload: P) -> "Snapshot | None":
        """The changed record's version and the values the payload changes, at submission."""
        return await self.updates.snapshot(session, payload) if self.updates else None

    async def options_for_form(self, session: AsyncSession) -> dict[str, Any]:
        return await self.form_options(session) if self.form_options else {}

    async def payload_of_form(self, session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
        return await self.form_payload(session, values) if self.form_payload else values

    @property
    def form_template(self) -> str:
        return f"actions/{self.name}/_fields.html"

    @property
    def detail_template(self) -> str:
        return f"actions/{self.name}/_detail.html"

    def parse(self, raw: Any) -> P:
        """Validate raw input; raises pydantic.ValidationError, or InvalidPayload when it has keys the
        type does not take: those are refused before the validator walks them (thousands of unknown
        keys would each cost an error object), and only the known fields are validated alongside."""
        unknown = self._unknown_keys(raw)
        if not unknown:
            return self.payload_model.model_validate(raw)
        errors: FieldErrors = {}
        try:
            self.payload_model.model_validate({k: v for k, v in raw.items() if k not in unknown})
        except ValidationError as exc:
            errors = self.errors_of(exc)
        # a key with no name at all is reported against the payload: a detail must name a field
        unknown_errors = {(str(key)[:_MAX_FIELD_NAME] or "payload"): "Unknown field" for key in unknown}
        raise InvalidPayload(capped(errors | unknown_errors))

    def _unknown_keys(self, raw: Any) -> list[str]:
        if not isinstance(raw, dict):
            return []
        fields = self.payload_model.model_fields
        known = {name for name in fields} | {info.alias for info in fields.values() if info.alias}
        return [key for key in raw if key not in known]

    def errors_of(self, exc: ValidationError | InvalidPayload) -> FieldErrors:
        if isinstance(exc, InvalidPayload):
            return exc.errors
        return validation_errors(exc, self.payload_model.format_hints)

    async def execute(self, ctx: ExecutionContext, payload: P) -> dict[str, Any]:
        """Re-check against current data, then apply. Raises ActionRefused."""
        conflicts = await self.check_current_data(ctx.session, payload)
        if conflicts:
            field_name, message = next(iter(conflicts.items()))
            raise ActionRefused(message, field=field_name)
        return await self.apply(ctx, payload)


def _choices(ctx: dict[str, Any]) -> str:
    # pydantic lists enum choices as "'a', 'b' or 'c'"
    return ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))


_PLAIN_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: "Required",
    "extra_forbidden": lambda ctx: "Unknown field",
    "string_too_short": lambda ctx: (
        "Required" if ctx.get("min_length") == 1 else f"Use at least {ctx.get('min_length')} characters"
    ),
    "string_too_long": lambda ctx: f"Use at most {ctx.get('max_length')} characters",
    "string_pattern_mismatch": lambda ctx: "Use only the characters and form asked for",
    "string_type": lambda ctx: "Give text",
    "enum": lambda ctx: f"Choose one of: {_choices(ctx)}",
    "literal_error": lambda ctx: f"Choose one of: {_choices(ctx)}",
    "list_type": lambda ctx: "Give a list",
    "too_short": lambda ctx: "Choose at least one",
    "uuid_parsing": lambda ctx: "Choose an existing user",
    "uuid_type": lambda ctx: "Choose an existing user",
    "model_type": lambda ctx: "Give an object with the request's fields",
    "model_attributes_type": lambda ctx: "Give an object with the request's fields",
    "dict_type": lambda ctx: "Give an object with the request's fields",
}
"""Plain words for pydantic's error types, by type; a type not listed falls back to a generic message."""

_DATE_TYPES = re.compile(r"^(date|datetime|time)_")


def _plain_message(error: Any, hints: dict[str, str] | None, loc: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str):
        # a text field with a validator (app.text.Text) reports its length as "items": say characters
        kind = f"string_{kind}"
    if kind == "string_pattern_mismatch" and hints and loc in hints:
        return hints[loc]
    if kind in ("value_error", "assertion_error"):
        # our own validators' messages, written for people already
        message = str(error["msg"])
        return (
            message.split(", ", 1)[1]
            if message.startswith(("Value error, ", "Assertion failed, "))
            else message
        )
    if kind in _PLAIN_MESSAGES:
        return _PLAIN_MESSAGES[kind](ctx)
    if _DATE_TYPES.match(kind):
        return "Give a date such as 2027-01-31"
    if kind.startswith(("int_", "float_", "decimal_", "greater_", "less_", "multiple_")):
        return "Give a number"
    return "Not accepted here: check the value"


def validation_errors(exc: ValidationError, hints: dict[str, str] | None = None) -> FieldErrors:
    """Pydantic errors as {field: message}, one message per field, in plain words (never pydantic's);
    at most MAX_REPORTED_ERRORS of them, and a count of the rest."""
    errors: FieldErrors = {}
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or "payload"
        errors.setdefault(loc, _plain_message(error, hints, loc))
    return capped(errors)
