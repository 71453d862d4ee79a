"""create_promotion: publish a discount code valid between two instants (ISO 8601 dates or date-times)."""

import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidationInfo, field_validator
from sqlalchemy import bindparam, insert, select
from sqlalchemy import exists as sql_exists
from sqlmodel.ext.asyncio.session import AsyncSession

from app.actions.base import ActionType, Amount, ExecutionContext, FieldErrors, Moment, Payload, UniqueKey
from app.db import DriverStatement, driver_connection
from app.models import Promotion
from app.text import Text

MAX_DISCOUNT_VALUE = Decimal("9999999999.99")
"""The largest value promotions.discount_value (NUMERIC(12, 2)) can hold."""


class DiscountType(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class CreatePromotionPayload(Payload):
    code: Annotated[Text, Field(pattern=r"^[A-Z0-9_-]{3,50}$")]
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    description: Annotated[Text | None, Field(max_length=2000)] = None
    discount_type: DiscountType
    discount_value: Amount
    start_date: Moment
    end_date: Moment

    format_hints: ClassVar[dict[str, str]] = {
        "code": "Use 3 to 50 letters, digits, dashes or underscores",
    }

    @field_validator("code", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("description", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("discount_value")
    @classmethod
    def _within_bounds(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if value <= 0:
            raise ValueError("Must be greater than 0")
        if value > MAX_DISCOUNT_VALUE:
            raise ValueError(f"Must be at most {MAX_DISCOUNT_VALUE}")
        if info.data.get("discount_type") is DiscountType.PERCENTAGE and value > 100:
            raise ValueError("A percentage discount can be at most 100")
        return value

    @field_validator("end_date")
    @classmethod
    def _after_start(cls, value: datetime.datetime, info: ValidationInfo) -> datetime.datetime:
        start = info.data.get("start_date")
        if start is not None and value <= start:
            raise ValueError("The end date must be after the start date")
        return value


async def summarize(session: AsyncSession, payload: CreatePromotionPayload) -> str:
    amount = (
        f"{payload.discount_value}%"
        if payload.discount_type is DiscountType.PERCENTAGE
        else f"{payload.discount_value} off"
    )
    return (
        f"Promotion {payload.code} ({payload.name}): {amount}, "
        f"{_utc_text(payload.start_date)} to {_utc_text(payload.end_date)}"
    )


def _utc_text(moment: datetime.datetime) -> str:
    """'2027-03-01 09:30 UTC' (seconds only when there are some)."""
    shape = "%Y-%m-%d %H:%M:%S" if moment.second or moment.microsecond else "%Y-%m-%d %H:%M"
    return f"{moment.strftime(shape)} UTC"


# prepared statements: a submission and an approval each run one of these (app.db.DriverStatement)
_PROMOTIONS = Promotion.__table__
_CODE_TAKEN = DriverStatement.of(
    select(sql_exists().where(_PROMOTIONS.c.code == bindparam("code")))  # type: ignore[arg-type]
)
_INSERT = DriverStatement.of(insert(_PROMOTIONS).values({c.name: bindparam(c.name) for c in _PROMOTIONS.c}))


async def check_current_data(session: AsyncSession, payload: CreatePromotionPayload) -> FieldErrors:
    taken = await _CODE_TAKEN.fetchval(await driver_connection(session), code=payload.code)
    return {"code": f"The code {payload.code} is already in use"} if taken else {}


async def apply(ctx: ExecutionContext, payload: CreatePromotionPayload) -> dict[str, Any]:
    # the model gives the defaults (id, flags, times); one prepared INSERT stores it
    promotion = Promotion(
        code=payload.code,
        name=payload.name,
        description=payload.description,
        discount_type=payload.discount_type.value,
        discount_value=payload.discount_value,
        start_date=payload.start_date,
        end_date=payload.end_date,
    )
    await _INSERT.fetchval(await driver_connection(ctx.session), **promotion.model_dump())
    return {"promotionId": str(promotion.id), "code": promotion.code}


ACTION = ActionType(
    name="create_promotion",
    label="Create promotion",
    payload_model=CreatePromotionPayload,
    summarize=summarize,
    sample={
        "code": "SPRING-10",
        "name": "Spring sale",
        "description": "Ten percent off",
        "discountType": "percentage",
        "discountValue": "10",
        "startDate": "2027-03-01",
        "endDate": "2027-03-31",
    },
    check_current_data=check_current_data,
    apply=apply,
    # the payload upper-cases the code: spring-10 and SPRING-10 are one code
    unique_keys=(UniqueKey("promotion code", "code", lambda payload: payload.code),),
)
