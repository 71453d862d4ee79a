import uuid
from decimal import Decimal

import pytest
from sqlmodel import func, select, update

from app.actions import REGISTRY
from app.actions.base import ActionRefused
from app.actions.create_account import AccountType, CreateAccountPayload
from app.models import Account, User
from tests.factories import account_payload, execution_context, make_actor, review, submit
from tests.factories import field_errors as errors_for

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["create_account"]
OWNER = "7d0b9a58-3c1e-4a57-9f0c-2f5f0e1b2c3d"
BASE = {
    "userId": OWNER,
    "accountNumber": "ACC123456",
    "accountType": "savings",
    "balance": "1000.00",
    "currency": "EUR",
}


def field_errors(raw: dict) -> dict[str, str]:
    return errors_for(ACTION, raw)


@pytest.mark.parametrize(
    ("overrides", "name", "expected"),
    [
        ({}, "balance", Decimal("1000.00")),
        ({"balance": "0"}, "balance", Decimal("0.00")),
        ({"balance": "1250.5"}, "balance", Decimal("1250.50")),
        ({"balance": 100}, "balance", Decimal("100.00")),
        ({"balance": 10.25}, "balance", Decimal("10.25")),
        ({"balance": " 7.10 "}, "balance", Decimal("7.10")),
        ({"balance": "9999999999999999.99"}, "balance", Decimal("9999999999999999.99")),
        ({"accountType": "checking"}, "account_type", AccountType.CHECKING),
        ({"accountType": "investment"}, "account_type", AccountType.INVESTMENT),
        ({"accountNumber": "ABC123"}, "account_number", "ABC123"),
        ({"accountNumber": "A" * 34}, "account_number", "A" * 34),
        ({"accountNumber": " ACC999999 "}, "account_number", "ACC999999"),
        ({"currency": "USD"}, "currency", "USD"),
        ({"userId": OWNER.upper()}, "user_id", uuid.UUID(OWNER)),
    ],
)
def test_valid_payloads(overrides, name, expected):
    payload = ACTION.parse(BASE | overrides)
    assert isinstance(payload, CreateAccountPayload)
    assert getattr(payload, name) == expected


def test_balance_is_stored_as_a_two_place_string():
    assert ACTION.parse(BASE | {"balance": 5}).to_json()["balance"] == "5.00"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"balance": "-1"}, "balance", "Must not be negative"),
        ({"balance": "-0.01"}, "balance", "Must not be negative"),
        ({"balance": "1.234"}, "balance", "Give an amount with at most 2 decimal places, such as 1250.00"),
        ({"balance": "abc"}, "balance", "Give an amount with at most 2 decimal places, such as 1250.00"),
        ({"balance": "1e5"}, "balance", "Give an amount with at most 2 decimal places, such as 1250.00"),
        ({"balance": ""}, "balance", "Give an amount with at most 2 decimal places, such as 1250.00"),
        ({"balance": "NaN"}, "balance", "Give an amount with at most 2 decimal places, such as 1250.00"),
        (
            {"balance": "10000000000000000"},
            "balance",
            "Give an amount with at most 2 decimal places, such as 1250.00",
        ),
        ({"balance": True}, "balance", "Give an amount such as 1250.00"),
        ({"balance": None}, "balance", "Give an amount such as 1250.00"),
        ({"balance": [1]}, "balance", "Give an amount such as 1250.00"),
        ({"currency": "eur"}, "currency", "Use a 3-letter ISO code in capitals, such as EUR"),
        ({"currency": "EURO"}, "currency", "Use a 3-letter ISO code in capitals, such as EUR"),
        ({"currency": "E1R"}, "currency", "Use a 3-letter ISO code in capitals, such as EUR"),
        ({"accountNumber": "acc123456"}, "accountNumber", "Use 6 to 34 capital letters or digits"),
        ({"accountNumber": "AB123"}, "accountNumber", "Use 6 to 34 capital letters or digits"),
        ({"accountNumber": "A" * 35}, "accountNumber", "Use 6 to 34 capital letters or digits"),
        ({"accountNumber": "ACC-123456"}, "accountNumber", "Use 6 to 34 capital letters or digits"),
        ({"accountType": "loan"}, "accountType", None),
        ({"accountType": "Savings"}, "accountType", None),
        ({"userId": "not-a-uuid"}, "userId", None),
        ({"userId": 12}, "userId", None),
        ({"overdraft": "100"}, "overdraft", "Unknown field"),
    ],
)
def test_invalid_payloads_name_the_field(overrides, field, message):
    errors = field_errors(BASE | overrides)
    assert field in errors, errors
    if message is not None:
        assert errors[field] == message


@pytest.mark.parametrize("missing", list(BASE))
def test_every_field_is_required(missing):
    raw = {key: value for key, value in BASE.items() if key != missing}
    assert field_errors(raw) == {missing: "Required"}


async def test_summary_names_the_holder(db):
    holder = await make_actor(db, username="holder.bo")
    async with db.sessions() as session:
        summary = await ACTION.summarize(session, ACTION.parse(BASE | {"userId": str(holder.user.id)}))
        unknown = await ACTION.summarize(session, ACTION.parse(BASE))
    assert summary == (
        "Open savings account ACC123456 for Holder.Bo (holder.bo, holder.bo@test.example) with 1000.00 EUR"
    )
    assert unknown == f"Open savings account ACC123456 for user {OWNER} with 1000.00 EUR"


async def test_execute_opens_the_account(db, maker, checker):
    payload = ACTION.parse(BASE | {"userId": maker.id, "balance": "250.5", "accountType": "checking"})
    async with db.sessions() as session, session.begin():
        result = await ACTION.execute(execution_context(session, maker, checker), payload)
    async with db.sessions() as session:
        account = (await session.exec(select(Account))).one()
    assert result == {"accountId": str(account.id), "accountNumber": "ACC123456"}
    assert account.user_id == maker.user.id
    assert account.account_type == "checking"
    assert account.balance == Decimal("250.50")
    assert account.currency == "EUR"
    assert account.status == "active"


async def test_execute_refuses_an_unknown_owner(db, maker, checker):
    payload = ACTION.parse(BASE | {"userId": str(uuid.uuid4())})
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(execution_context(session, maker, checker), payload)
    assert refused.value.field == "userId"
    assert refused.value.message == "No user has this id"


async def test_execute_refuses_a_disabled_owner(db, maker, checker):
    async with db.sessions() as session, session.begin():
        await session.exec(update(User).where(User.id == maker.user.id).values(is_active=False))
    payload = ACTION.parse(BASE | {"userId": maker.id})
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(execution_context(session, maker, checker), payload)
        count = (await session.exec(select(func.count()).select_from(Account))).one()
    assert refused.value.field == "userId"
    assert refused.value.message == f"The user {maker.user.username} is disabled"
    assert count == 0


async def test_execute_refuses_an_account_number_in_use(db, maker, checker):
    payload = ACTION.parse(BASE | {"userId": maker.id})
    async with db.sessions() as session, session.begin():
        await ACTION.execute(execution_context(session, maker, checker), payload)
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(execution_context(session, maker, checker), payload)
        count = (await session.exec(select(func.count()).select_from(Account))).one()
    assert refused.value.field == "accountNumber"
    assert refused.value.message == "The account number ACC123456 is already in use"
    assert count == 1


async def test_submission_refuses_an_unknown_owner(client, maker):
    response = await client.post(
        "/api/workflow/actions",
        json={"actionType": "create_account", "payload": account_payload(str(uuid.uuid4()))},
        headers=maker.headers,
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "The payload conflicts with current data",
        "details": [{"field": "userId", "message": "No user has this id"}],
    }


async def test_approval_through_the_api_opens_the_account(client, db, maker, checker):
    action = await submit(client, maker, "create_account", account_payload(maker.id, balance=99.5))
    assert action["payload"]["balance"] == "99.50"
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    async with db.sessions() as session:
        account = (await session.exec(select(Account))).one()
    assert response.json()["data"]["executionResult"] == {
        "accountId": str(account.id),
        "accountNumber": action["payload"]["accountNumber"],
    }
    assert account.balance == Decimal("99.50")


async def test_owner_disabled_since_submission_refuses_the_approval(client, db, maker, checker):
    owner = await make_actor(
        db, "maker"
    )  # not the maker: a disabled maker's action is refused before execution
    action = await submit(client, maker, "create_account", account_payload(owner.id))
    async with db.sessions() as session, session.begin():
        await session.exec(update(User).where(User.id == owner.user.id).values(is_active=False))
    response = await review(client, checker, action["id"])
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": f"The action cannot be executed: The user {owner.user.username} is disabled",
    }
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Account))).one() == 0


async def test_account_number_taken_since_submission_refuses_the_approval(client, db, maker, checker):
    payload = account_payload(maker.id)
    pending = await submit(client, maker, "create_account", payload)
    # a second pending request for the number is refused at submission: the account comes another way
    async with db.sessions() as session, session.begin():
        session.add(
            Account(
                user_id=maker.user.id,
                account_number=payload["accountNumber"],
                account_type="savings",
                balance=Decimal("0.00"),
                currency="EUR",
            )
        )
    response = await review(client, checker, pending["id"])
    assert response.status_code == 409
    assert payload["accountNumber"] in response.json()["error"]
    async with db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(Account))).one() == 1
