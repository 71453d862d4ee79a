"""The original tutorial's three curl flows, through the API with bearer tokens."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import func, select

from app.models import Account, Promotion, User
from app.settings import get_settings
from tests.factories import activation_link

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"


async def create(client, actor, action_type: str, payload: dict) -> dict:
    response = await client.post(
        ACTIONS, json={"actionType": action_type, "payload": payload}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    assert body["data"]["status"] == "pending"
    assert body["data"]["makerId"] == actor.id
    return body["data"]


async def decide(client, actor, action_id: str, status: str, comment: str | None = None) -> dict:
    body = {"status": status, "checkerId": actor.id}
    if comment is not None:
        body["reviewComment"] = comment
    response = await client.post(f"{ACTIONS}/{action_id}/review", json=body, headers=actor.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["success"] is True
    assert answer["data"]["action"]["status"] == status
    assert answer["data"]["action"]["checkerId"] == actor.id
    return answer["data"]


async def create_john(client, maker, checker) -> str:
    action = await create(
        client,
        maker,
        "create_user",
        {"email": "john.doe@example.com", "username": "johndoe", "fullName": "John Doe"},
    )
    data = await decide(client, checker, action["id"], "approved", "Verified identity documents")
    result = data["executionResult"]
    assert result["username"] == "johndoe"
    assert result["activationSentTo"] == "john.doe@example.com"
    assert activation_link("john.doe@example.com").startswith(get_settings().public_base_url + "/activate/")
    return result["userId"]


async def test_flow_a_create_user_then_approve(client, db, maker, checker):
    user_id = await create_john(client, maker, checker)
    async with db.sessions() as session:
        user = (await session.exec(select(User).where(User.username == "johndoe"))).one()
    assert str(user.id) == user_id
    assert user.email == "john.doe@example.com"
    assert user.full_name == "John Doe"
    assert user.roles == ["maker"]
    assert user.password_hash is None  # no known password: the activation link sets it
    pending = (await client.get(f"{ACTIONS}?status=pending", headers=checker.headers)).json()
    assert pending["pagination"]["total"] == 0


async def test_flow_b_create_account_for_that_user(client, db, maker, checker):
    user_id = await create_john(client, maker, checker)
    action = await create(
        client,
        maker,
        "create_account",
        {
            "userId": user_id,
            "accountNumber": "ACC001234567",
            "accountType": "savings",
            "balance": "5000.00",
            "currency": "USD",
        },
    )
    data = await decide(client, checker, action["id"], "approved")
    async with db.sessions() as session:
        account = (await session.exec(select(Account))).one()
    assert data["executionResult"] == {"accountId": str(account.id), "accountNumber": "ACC001234567"}
    assert str(account.user_id) == user_id
    assert account.account_type == "savings"
    assert account.balance == Decimal("5000.00")
    assert account.currency == "USD"


async def test_flow_c_create_promotion_then_reject(client, db, maker, checker):
    action = await create(
        client,
        maker,
        "create_promotion",
        {
            "code": "SUMMER2024",
            "name": "Summer Sale",
            "description": "20% off all items",
            "discountType": "percentage",
            "discountValue": 20,
            "startDate": "2024-06-01",
            "endDate": "2024-08-31",
        },
    )
    data = await decide(client, checker, action["id"], "rejected", "Discount too high for this season")
    assert data["action"]["reviewComment"] == "Discount too high for this season"
    assert data["executionResult"] is None
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Promotion))).one() == 0
    stored = (await client.get(f"{ACTIONS}/{action['id']}", headers=maker.headers)).json()["data"]
    assert stored["status"] == "rejected"
    assert stored["executionResult"] is None


# --- the tutorial's promotion bodies carry ISO 8601 date-times ----------------------------------

TUTORIAL_PROMOTION = {
    "code": "SUMMER2024",
    "name": "Summer Sale",
    "description": "20% off all items",
    "discountType": "percentage",
    "discountValue": 20,
    "startDate": "2024-06-01T00:00:00Z",
    "endDate": "2024-08-31T23:59:59Z",
}


async def test_tutorial_bodies_of_all_three_types_with_date_times_are_approved(client, db, maker, checker):
    user_id = await create_john(client, maker, checker)
    account = await create(
        client,
        maker,
        "create_account",
        {
            "userId": user_id,
            "accountNumber": "ACC001234567",
            "accountType": "savings",
            "balance": 5000.00,
            "currency": "USD",
        },
    )
    await decide(client, checker, account["id"], "approved")
    promotion = await create(client, maker, "create_promotion", TUTORIAL_PROMOTION)
    assert promotion["payload"]["startDate"] == "2024-06-01T00:00:00Z"
    assert promotion["payload"]["endDate"] == "2024-08-31T23:59:59Z"
    assert "2024-08-31 23:59" in promotion["summary"]
    await decide(client, checker, promotion["id"], "approved", "Approved by marketing")
    async with db.sessions() as session:
        stored = (await session.exec(select(Promotion))).one()
    assert stored.start_date == datetime(2024, 6, 1, tzinfo=UTC)
    assert stored.end_date == datetime(2024, 8, 31, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "stored_start", "stored_end"),
    [
        (
            "2027-01-01T09:30:00Z",
            "2027-01-31T18:00:00Z",
            datetime(2027, 1, 1, 9, 30, tzinfo=UTC),
            datetime(2027, 1, 31, 18, tzinfo=UTC),
        ),
        (
            "2027-01-01T09:30:00+02:00",
            "2027-01-01T09:30:00-05:00",
            datetime(2027, 1, 1, 7, 30, tzinfo=UTC),
            datetime(2027, 1, 1, 14, 30, tzinfo=UTC),
        ),
        (
            "2027-01-01",
            "2027-01-02T00:00:00.5+00:00",
            datetime(2027, 1, 1, tzinfo=UTC),
            datetime(2027, 1, 2, 0, 0, 0, 500000, tzinfo=UTC),
        ),
    ],
)
async def test_promotion_times_keep_their_instant(
    client, db, maker, checker, start, end, stored_start, stored_end
):
    body = TUTORIAL_PROMOTION | {"startDate": start, "endDate": end}
    action = await create(client, maker, "create_promotion", body)
    await decide(client, checker, action["id"], "approved")
    async with db.sessions() as session:
        stored = (await session.exec(select(Promotion))).one()
    assert (stored.start_date, stored.end_date) == (stored_start, stored_end)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2027-01-01T09:30:00Z", "2027-01-01T09:30:00Z", "endDate"),
        ("2027-01-01T09:30:00+02:00", "2027-01-01T07:30:00Z", "endDate"),
        ("2027-01-01T09:30:00Z", "2027-01-01T10:30:00+02:00", "endDate"),
        ("0001-01-01T00:00:00+02:00", "2027-01-01", "startDate"),
        ("2027-01-01T25:00:00Z", "2027-01-02", "startDate"),
        ("tomorrow", "2027-01-02", "startDate"),
    ],
)
async def test_promotion_times_out_of_order_or_malformed_get_400(client, maker, start, end, field):
    body = TUTORIAL_PROMOTION | {"startDate": start, "endDate": end}
    response = await client.post(
        ACTIONS, json={"actionType": "create_promotion", "payload": body}, headers=maker.headers
    )
    assert response.status_code == 400, response.text
    details = {detail["field"]: detail["message"] for detail in response.json()["details"]}
    assert field in details, details
    if field == "endDate":
        assert details[field] == "The end date must be after the start date"
