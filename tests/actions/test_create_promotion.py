import datetime
from decimal import Decimal

import pytest
from sqlmodel import func, select

from app.actions import REGISTRY
from app.actions.base import ActionRefused
from app.actions.create_promotion import CreatePromotionPayload, DiscountType
from app.models import Promotion
from tests.factories import execution_context, promotion_payload, review, same_key_as_before_the_rule, submit
from tests.factories import field_errors as errors_for

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["create_promotion"]
BASE = {
    "code": "SPRING10",
    "name": "Spring sale",
    "description": "Ten percent off",
    "discountType": "percentage",
    "discountValue": "10",
    "startDate": "2027-03-01",
    "endDate": "2027-03-31",
}


def field_errors(raw: dict) -> dict[str, str]:
    return errors_for(ACTION, raw)


@pytest.mark.parametrize(
    ("overrides", "name", "expected"),
    [
        ({}, "discount_value", Decimal("10.00")),
        ({"code": " spring-10_x "}, "code", "SPRING-10_X"),
        ({"code": "ABC"}, "code", "ABC"),
        ({"description": "   "}, "description", None),
        ({"description": None}, "description", None),
        ({"discountValue": "100"}, "discount_value", Decimal("100.00")),
        ({"discountValue": "0.01"}, "discount_value", Decimal("0.01")),
        ({"discountType": "fixed", "discountValue": "150.50"}, "discount_value", Decimal("150.50")),
        (
            {"discountType": "fixed", "discountValue": "9999999999.99"},
            "discount_value",
            Decimal("9999999999.99"),
        ),
        ({"discountType": "fixed"}, "discount_type", DiscountType.FIXED),
        ({"endDate": "2027-03-02"}, "end_date", datetime.datetime(2027, 3, 2, tzinfo=datetime.UTC)),
        ({"startDate": "2027-03-01"}, "start_date", datetime.datetime(2027, 3, 1, tzinfo=datetime.UTC)),
        (
            {"startDate": "2027-03-01T09:30:00+02:00"},
            "start_date",
            datetime.datetime(2027, 3, 1, 7, 30, tzinfo=datetime.UTC),
        ),
        (
            {"startDate": "2027-03-01T09:30"},
            "start_date",
            datetime.datetime(2027, 3, 1, 9, 30, tzinfo=datetime.UTC),
        ),
    ],
)
def test_valid_payloads(overrides, name, expected):
    payload = ACTION.parse(BASE | overrides)
    assert isinstance(payload, CreatePromotionPayload)
    assert getattr(payload, name) == expected


def test_description_is_optional():
    raw = {key: value for key, value in BASE.items() if key != "description"}
    assert ACTION.parse(raw).description is None


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"discountValue": "100.01"}, "discountValue", "A percentage discount can be at most 100"),
        ({"discountValue": "0"}, "discountValue", "Must be greater than 0"),
        ({"discountValue": "-5"}, "discountValue", "Must not be negative"),
        ({"discountValue": "5.555"}, "discountValue", None),
        ({"discountValue": "ten"}, "discountValue", None),
        (
            {"discountType": "fixed", "discountValue": "10000000000"},
            "discountValue",
            "Must be at most 9999999999.99",
        ),
        ({"discountType": "bogo"}, "discountType", None),
        ({"code": "AB"}, "code", "Use 3 to 50 letters, digits, dashes or underscores"),
        ({"code": "A" * 51}, "code", "Use 3 to 50 letters, digits, dashes or underscores"),
        ({"code": "SPRING 10"}, "code", "Use 3 to 50 letters, digits, dashes or underscores"),
        ({"code": "SPRING!"}, "code", "Use 3 to 50 letters, digits, dashes or underscores"),
        ({"code": 123}, "code", None),
        ({"name": ""}, "name", None),
        ({"name": "x" * 201}, "name", None),
        ({"description": "x" * 2001}, "description", None),
        ({"endDate": "2027-03-01"}, "endDate", "The end date must be after the start date"),
        ({"endDate": "2027-02-01"}, "endDate", "The end date must be after the start date"),
        ({"startDate": "2027-02-30"}, "startDate", None),
        ({"startDate": "next week"}, "startDate", None),
        ({"endDate": "2027/03/31"}, "endDate", None),
        ({"endDate": 1806000000}, "endDate", None),
        ({"endDate": "2027-03-01T00:00:00+01:00"}, "endDate", "The end date must be after the start date"),
        ({"usageLimit": 5}, "usageLimit", "Unknown field"),
    ],
)
def test_invalid_payloads_name_the_field(overrides, field, message):
    errors = field_errors(BASE | overrides)
    assert field in errors, errors
    assert errors[field]
    if message is not None:
        assert errors[field] == message


@pytest.mark.parametrize("missing", ["code", "name", "discountType", "discountValue", "startDate", "endDate"])
def test_required_fields(missing):
    raw = {key: value for key, value in BASE.items() if key != missing}
    assert field_errors(raw) == {missing: "Required"}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "Promotion SPRING10 (Spring sale): 10.00%, 2027-03-01 00:00 UTC to 2027-03-31 00:00 UTC"),
        (
            {"discountType": "fixed", "discountValue": "5"},
            "Promotion SPRING10 (Spring sale): 5.00 off, 2027-03-01 00:00 UTC to 2027-03-31 00:00 UTC",
        ),
        (
            {"startDate": "2027-03-01T09:30:00+02:00", "endDate": "2027-03-31T23:59:59Z"},
            "Promotion SPRING10 (Spring sale): 10.00%, 2027-03-01 07:30 UTC to 2027-03-31 23:59:59 UTC",
        ),
    ],
)
async def test_summary(db, overrides, expected):
    async with db.sessions() as session:
        assert await ACTION.summarize(session, ACTION.parse(BASE | overrides)) == expected


async def test_execute_creates_the_promotion(db, maker, checker):
    payload = ACTION.parse(BASE | {"code": "spring10", "discountType": "fixed", "discountValue": "12.5"})
    async with db.sessions() as session, session.begin():
        result = await ACTION.execute(execution_context(session, maker, checker), payload)
    async with db.sessions() as session:
        promotion = (await session.exec(select(Promotion))).one()
    assert result == {"promotionId": str(promotion.id), "code": "SPRING10"}
    assert promotion.name == "Spring sale"
    assert promotion.description == "Ten percent off"
    assert promotion.discount_type == "fixed"
    assert promotion.discount_value == Decimal("12.50")
    assert promotion.start_date == datetime.datetime(2027, 3, 1, tzinfo=datetime.UTC)
    assert promotion.end_date == datetime.datetime(2027, 3, 31, tzinfo=datetime.UTC)
    assert promotion.is_active


async def test_execute_refuses_a_code_in_use(db, maker, checker):
    payload = ACTION.parse(BASE)
    async with db.sessions() as session, session.begin():
        await ACTION.execute(execution_context(session, maker, checker), payload)
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(execution_context(session, maker, checker), payload)
        count = (await session.exec(select(func.count()).select_from(Promotion))).one()
    assert refused.value.field == "code"
    assert refused.value.message == "The code SPRING10 is already in use"
    assert count == 1


async def test_approval_through_the_api_creates_the_promotion(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload(code="api-promo"))
    assert action["payload"]["code"] == "API-PROMO"
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    async with db.sessions() as session:
        promotion = (await session.exec(select(Promotion))).one()
    assert response.json()["data"]["executionResult"] == {
        "promotionId": str(promotion.id),
        "code": "API-PROMO",
    }


async def test_the_largest_fixed_discount_fits_the_database(client, db, maker, checker):
    action = await submit(
        client,
        maker,
        "create_promotion",
        promotion_payload(discountType="fixed", discountValue="9999999999.99"),
    )
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    async with db.sessions() as session:
        assert (await session.exec(select(Promotion.discount_value))).one() == Decimal("9999999999.99")


async def test_code_taken_since_submission_refuses_the_approval(client, db, maker, checker):
    payload = promotion_payload(code="ONCE-ONLY")
    first = await submit(client, maker, "create_promotion", payload)
    second = await submit(client, maker, "create_promotion", promotion_payload())
    await same_key_as_before_the_rule(db, second, code="ONCE-ONLY")
    assert (await review(client, checker, first["id"])).status_code == 200
    response = await review(client, checker, second["id"])
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "The action cannot be executed: The code ONCE-ONLY is already in use",
    }
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Promotion))).one() == 1
