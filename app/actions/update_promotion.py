"""update_promotion: change a promotion's name, description, discount, dates or whether it is active.

Only the fields given are stored, and only those change, so two pending changes to one promotion do
not undo each other (the second to be approved is refused as stale all the same: its checker saw
the promotion as it was before the first). The promotion as it would be after the change must pass
create_promotion's rules (a percentage at most 100, the end after the start).
"""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions.base import (
    ActionRefused,
    ActionType,
    Amount,
    ExecutionContext,
    FieldErrors,
    Moment,
    Payload,
    validation_errors,
)
from app.actions.create_promotion import CreatePromotionPayload, DiscountType
from app.actions.record_updates import RecordUpdate, Values
from app.models import Promotion, utcnow
from app.text import Text

NO_PROMOTION = "Choose an existing promotion"
NOTHING_CHANGES = "Nothing would change: the promotion already has these values"
_MOMENT = TypeAdapter(Moment)
_AMOUNT = TypeAdapter(Amount)
_FIELDS = {
    "name": ("name", "name"),
    "description": ("description", "description"),
    "discountType": ("discount_type", "discount_type"),
    "discountValue": ("discount_value", "discount_value"),
    "startDate": ("start_date", "start_date"),
    "endDate": ("end_date", "end_date"),
    "active": ("active", "is_active"),
}
"""Payload field (as in JSON): its attribute on the payload, and the promotions column it changes."""
_LABELS = {
    "name": "name",
    "description": "description",
    "discountType": "discount type",
    "discountValue": "discount value",
    "startDate": "start date",
    "endDate": "end date",
    "active": "status",
}


class UpdatePromotionPayload(Payload):
    promotion_id: uuid.UUID
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[Text, Field(max_length=2000)] | None = None
    """An empty description removes it."""
    discount_type: DiscountType | None = None
    discount_value: Amount | None = None
    start_date: Moment | None = None
    end_date: Moment | None = None
    active: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Only the fields that change: a stored request says what it changes and nothing else."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    # create_promotion's own rules, for the fields given here; check_current_data applies them to
    # the promotion as it would be (an end date given alone must still come after the start)
    @field_validator("discount_value")
    @classmethod
    def _within_bounds(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        return None if value is None else CreatePromotionPayload._within_bounds(value, info)

    @field_validator("end_date")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        return None if value is None else CreatePromotionPayload._after_start(value, info)

    @model_validator(mode="after")
    def _changes_something(self) -> "UpdatePromotionPayload":
        if all(getattr(self, attribute) is None for attribute, _ in _FIELDS.values()):
            raise ValueError("Give at least one of " + ", ".join(_FIELDS))
        return self


def current(promotion: Promotion) -> Values:
    """The promotion's fields as the payload writes them (a missing description as "")."""
    return {
        "name": promotion.name,
        "description": promotion.description or "",
        "discountType": promotion.discount_type,
        "discountValue": _AMOUNT.dump_python(promotion.discount_value, mode="json"),
        "startDate": _MOMENT.dump_python(promotion.start_date, mode="json"),
        "endDate": _MOMENT.dump_python(promotion.end_date, mode="json"),
        "active": promotion.is_active,
    }


UPDATES = RecordUpdate(
    model=Promotion,
    id_field="promotionId",
    noun="promotion",
    current=current,
    key=lambda promotion: promotion.code,
    find_by_key=lambda text: Promotion.code == text.upper(),
    key_label="Promotion code",
)


async def prefill(session: AsyncSession, promotion_id: uuid.UUID) -> Values | None:
    """The form's values: a date at midnight UTC as the day alone, as the form takes it."""
    values = await UPDATES.prefill(session, promotion_id)
    if values is None:
        return None
    for name in ("startDate", "endDate"):
        if values[name].endswith("T00:00:00Z"):
            values[name] = values[name][:10]
    return values


async def _promotion(session: AsyncSession, payload: UpdatePromotionPayload) -> Promotion | None:
    return await session.get(Promotion, payload.promotion_id, populate_existing=True)


def _problems(promotion: Promotion | None, payload: UpdatePromotionPayload) -> FieldErrors:
    if promotion is None:
        return {"promotionId": NO_PROMOTION}
    changed = UPDATES.changed(promotion, payload.to_json())
    if not changed:
        return {"promotionId": NOTHING_CHANGES}
    after = current(promotion) | payload.to_json() | {"code": promotion.code}
    after.pop("promotionId")
    after.pop("active")
    try:
        CreatePromotionPayload.model_validate(after)
    except ValidationError as exc:
        return validation_errors(exc, CreatePromotionPayload.format_hints)
    return {}


def _words(field: str, value: Any) -> str:
    if value in (None, ""):
        return "(none)"
    if field in ("startDate", "endDate") and isinstance(value, str):
        return value.replace("T00:00:00Z", "").replace("T", " ").replace("Z", " UTC")
    if field == "active":
        return "active" if value else "inactive"
    return str(value)


async def summarize(session: AsyncSession, payload: UpdatePromotionPayload) -> str:
    promotion = await _promotion(session, payload)
    if promotion is None:
        return f"Update promotion {payload.promotion_id}"
    proposed = payload.to_json()
    described = "; ".join(
        f"{_LABELS[field]} {_words(field, before)} → {_words(field, proposed[field])}"
        for field, before in UPDATES.changed(promotion, proposed).items()
    )
    return f"Update promotion {promotion.code} ({promotion.name}): {described or 'no change'}"


async def check_current_data(session: AsyncSession, payload: UpdatePromotionPayload) -> FieldErrors:
    return _problems(await _promotion(session, payload), payload)


async def apply(ctx: ExecutionContext, payload: UpdatePromotionPayload) -> dict[str, Any]:
    promotion = await ctx.session.get(
        Promotion, payload.promotion_id, with_for_update=True, populate_existing=True
    )
    problems = _problems(promotion, payload)
    if promotion is None or problems:
        field, message = next(iter(problems.items()))
        raise ActionRefused(message, field=field)
    changed = UPDATES.changed(promotion, payload.to_json())
    for field in changed:
        attribute, column = _FIELDS[field]
        value = getattr(payload, attribute)
        if field == "description":
            value = value or None
        elif field == "discountType":
            value = value.value
        setattr(promotion, column, value)
    promotion.updated_at = utcnow()
    ctx.session.add(promotion)
    await ctx.session.flush()
    return {"promotionId": str(promotion.id), "code": promotion.code, "changed": ", ".join(changed)}


ACTION = ActionType(
    name="update_promotion",
    label="Update promotion",
    payload_model=UpdatePromotionPayload,
    summarize=summarize,
    sample={
        "promotionId": "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b",
        "name": "Spring sale, extended",
        "endDate": "2027-04-30",
    },
    check_current_data=check_current_data,
    apply=apply,
    records=UPDATES.records,
    prefill=prefill,
    updates=UPDATES,
)
