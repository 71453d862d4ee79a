"""update_promotion (issue 10 item 2): only the fields given are stored and changed; the promotion as
it would be after the change passes create_promotion's rules."""

import uuid

import pytest

from app.actions import REGISTRY
from tests.factories import field_errors, review, submit
from tests.records import make_promotion, row

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["update_promotion"]
ACTIONS = "/api/workflow/actions"
SOME_ID = "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"promotionId": SOME_ID}, "payload", "Give at least one of"),
        (
            {"promotionId": SOME_ID, "discountType": "percentage", "discountValue": "120"},
            "discountValue",
            "A percentage discount can be at most 100",
        ),
        ({"promotionId": SOME_ID, "discountValue": "0"}, "discountValue", "Must be greater than 0"),
        (
            {"promotionId": SOME_ID, "startDate": "2027-05-01", "endDate": "2027-04-01"},
            "endDate",
            "The end date must be after",
        ),
        ({"promotionId": SOME_ID, "name": ""}, "name", "Required"),
        ({"promotionId": SOME_ID, "code": "NEW"}, "code", "Unknown field"),
    ],
)
def test_invalid_payloads_name_the_field(raw, field, message):
    assert field_errors(ACTION, raw)[field].startswith(message)


def test_only_the_fields_given_are_stored():
    payload = ACTION.parse({"promotionId": SOME_ID, "endDate": "2027-04-30", "active": False})
    assert payload.to_json() == {"promotionId": SOME_ID, "endDate": "2027-04-30T00:00:00Z", "active": False}


async def test_an_update_changes_only_its_fields(client, db, maker, checker):
    promotion = await make_promotion(db)
    action = await submit(
        client,
        maker,
        "update_promotion",
        {
            "promotionId": str(promotion.id),
            "name": "Spring sale, extended",
            "endDate": "2027-04-30",
            "discountValue": "10",
        },
    )
    # the discount value is what it is already: stored as given, not in the diff, not changed
    assert action["payload"] == {
        "promotionId": str(promotion.id),
        "name": "Spring sale, extended",
        "endDate": "2027-04-30T00:00:00Z",
        "discountValue": "10.00",
    }
    assert action["changes"] == [
        {"field": "name", "before": "Spring sale", "after": "Spring sale, extended"},
        {"field": "endDate", "before": "2027-03-31T00:00:00Z", "after": "2027-04-30T00:00:00Z"},
    ]
    assert action["summary"] == (
        f"Update promotion {promotion.code} (Spring sale): name Spring sale → Spring sale, extended; "
        "end date 2027-03-31 → 2027-04-30"
    )
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["executionResult"]["changed"] == "name, endDate"
    after = await row(
        db,
        "SELECT name, description, discount_value, end_date, version FROM promotions WHERE id = :id",
        id=promotion.id,
    )
    assert (
        after.name,
        after.description,
        str(after.discount_value),
        after.end_date.date().isoformat(),
        after.version,
    ) == ("Spring sale, extended", "Ten percent off", "10.00", "2027-04-30", 2)


async def test_the_promotion_after_the_change_must_pass_the_creation_rules(client, db, maker):
    promotion = await make_promotion(db)
    for payload, field, message in [
        ({"endDate": "2027-02-01"}, "endDate", "The end date must be after the start date"),
        ({"discountValue": "150"}, "discountValue", "A percentage discount can be at most 100"),
        ({"name": "Spring sale"}, "promotionId", "Nothing would change"),
    ]:
        response = await client.post(
            ACTIONS,
            json={"actionType": "update_promotion", "payload": {"promotionId": str(promotion.id)} | payload},
            headers=maker.headers,
        )
        assert response.status_code == 400, response.text
        [detail] = response.json()["details"]
        assert (detail["field"], detail["message"][: len(message)]) == (field, message)


async def test_an_empty_description_removes_it_and_an_unknown_promotion_is_refused(
    client, db, maker, checker
):
    promotion = await make_promotion(db)
    action = await submit(
        client,
        maker,
        "update_promotion",
        {"promotionId": str(promotion.id), "description": "", "active": False},
    )
    assert action["changes"] == [
        {"field": "description", "before": "Ten percent off", "after": ""},
        {"field": "active", "before": True, "after": False},
    ]
    assert (await review(client, checker, action["id"])).status_code == 200
    after = await row(db, "SELECT description, is_active FROM promotions WHERE id = :id", id=promotion.id)
    assert (after.description, after.is_active) == (None, False)
    unknown = await client.post(
        ACTIONS,
        json={"actionType": "update_promotion", "payload": {"promotionId": str(uuid.uuid4()), "name": "X"}},
        headers=maker.headers,
    )
    assert unknown.status_code == 400
    assert unknown.json()["details"] == [{"field": "promotionId", "message": "Choose an existing promotion"}]
