import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import col, func, select

from app.actions import REGISTRY
from app.actions.base import ActionRefused
from app.models import Account, LedgerEntry
from app.workflow import policies
from tests.factories import (
    execution_context,
    make_account,
    make_actor,
    policy_change,
    review,
    set_policy,
    submit,
    transfer_payload,
)
from tests.factories import field_errors as errors_for

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["transfer_funds"]
FROM = "0b4f3f7e-9a7c-4c59-8d3a-1f0e2d3c4b5a"
TO = "5c6d7e8f-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
BASE = {"fromAccountId": FROM, "toAccountId": TO, "amount": "250.00", "currency": "EUR", "reference": "Rent"}


def field_errors(raw: dict) -> dict[str, str]:
    return errors_for(ACTION, raw)


async def balances(db, *accounts) -> list[Decimal]:
    async with db.sessions() as session:
        found = {
            a.id: a.balance
            for a in (
                await session.exec(select(Account).where(col(Account.id).in_([x.id for x in accounts])))
            ).all()
        }
    return [found[account.id] for account in accounts]


async def ledger(db) -> list[LedgerEntry]:
    async with db.sessions() as session:
        return list((await session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id)))).all())


@pytest.fixture
async def no_step_up(db):
    """Transfers ask for the checker's password by default; these tests are about the money."""
    await set_policy(db, "transfer_funds", step_up=False)


# --- the payload ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "name", "expected"),
    [
        ({}, "amount", Decimal("250.00")),
        ({"amount": "0.01"}, "amount", Decimal("0.01")),
        ({"amount": 12}, "amount", Decimal("12.00")),
        ({"amount": " 7.5 "}, "amount", Decimal("7.50")),
        ({"reference": "  Invoice 42  "}, "reference", "Invoice 42"),
        ({"reference": "x" * 140}, "reference", "x" * 140),
        ({"fromAccountId": FROM.upper()}, "from_account_id", uuid.UUID(FROM)),
    ],
)
def test_valid_payloads(overrides, name, expected):
    assert getattr(ACTION.parse(BASE | overrides), name) == expected


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "0"}, "amount", "Must be more than 0"),
        ({"amount": "0.00"}, "amount", "Must be more than 0"),
        ({"amount": "-5"}, "amount", "Must not be negative"),
        ({"amount": "1.005"}, "amount", "Give an amount with at most 2 decimal places, such as 1250.00"),
        ({"amount": None}, "amount", "Give an amount such as 1250.00"),
        ({"currency": "eur"}, "currency", "Use a 3-letter ISO code in capitals, such as EUR"),
        ({"reference": ""}, "reference", "Required"),
        ({"reference": "   "}, "reference", "Required"),
        ({"reference": "x" * 141}, "reference", "Use at most 140 characters"),
        ({"reference": "a\x00b"}, "reference", "Must not contain NUL characters"),
        ({"fromAccountId": "ACC123"}, "fromAccountId", "No account has this number or id"),
        ({"toAccountId": 12}, "toAccountId", "No account has this number or id"),
        ({"toAccountId": None}, "toAccountId", "No account has this number or id"),
        ({"fee": "1"}, "fee", "Unknown field"),
    ],
)
def test_invalid_payloads_name_the_field(overrides, field, message):
    assert field_errors(BASE | overrides)[field] == message


@pytest.mark.parametrize("missing", list(BASE))
def test_every_field_is_required(missing):
    raw = {key: value for key, value in BASE.items() if key != missing}
    assert field_errors(raw) == {missing: "Required"}


def test_it_moves_money_between_two_records_and_asks_for_step_up():
    payload = ACTION.parse(BASE)
    assert ACTION.stored_amount(payload) == Decimal("250.00")
    assert ACTION.stored_records(payload) == [uuid.UUID(FROM), uuid.UUID(TO)]
    assert ACTION.default_step_up is True
    assert policies.default_policy("transfer_funds").step_up is True
    assert ACTION.unique_keys == ()


# --- current data -----------------------------------------------------------------------------------


async def test_summary_names_both_accounts_their_holders_and_the_amount(db):
    ana = await make_actor(db, username="ana.lopez")
    bo = await make_actor(db, username="bo.ek")
    source = await make_account(db, ana, number="FROM000001")
    target = await make_account(db, bo, number="TO00000001")
    async with db.sessions() as session:
        summary = await ACTION.summarize(
            session, ACTION.parse(transfer_payload(source, target, amount="1234.5", reference="Rent May"))
        )
    assert summary == "Transfer 1234.50 EUR from FROM000001 (Ana.Lopez) to TO00000001 (Bo.Ek): Rent May"


async def conflicts(db, raw) -> dict[str, str]:
    async with db.sessions() as session:
        return await ACTION.check_current_data(session, ACTION.parse(raw))


async def test_current_data_accepts_a_covered_transfer(db, maker):
    source = await make_account(db, maker, balance="10.00")
    target = await make_account(db, maker, balance="0.00")
    assert await conflicts(db, transfer_payload(source, target, amount="10.00")) == {}


async def test_current_data_refusals_name_the_field(db, maker):
    source = await make_account(db, maker, balance="50.00", number="SRC0000001")
    target = await make_account(db, maker, number="DST0000001")
    usd = await make_account(db, maker, currency="USD", number="USD0000001")
    frozen = await make_account(db, maker, status="frozen", number="FRZ0000001")
    closed = await make_account(db, maker, status="closed", number="CLS0000001")
    unknown = str(uuid.uuid4())
    cases = [
        (transfer_payload(source, source), {"toAccountId": "Choose an account other than the one paying"}),
        (
            transfer_payload(source, target, fromAccountId=unknown),
            {"fromAccountId": "No account has this id"},
        ),
        (transfer_payload(source, target, toAccountId=unknown), {"toAccountId": "No account has this id"}),
        (
            transfer_payload(source, usd),
            {"toAccountId": "Account USD0000001 holds USD, not EUR"},
        ),
        (
            transfer_payload(usd, source, currency="USD"),
            {"toAccountId": "Account SRC0000001 holds EUR, not USD"},
        ),
        (
            transfer_payload(frozen, target),
            {"fromAccountId": "Account FRZ0000001 is frozen: it neither sends nor receives"},
        ),
        (
            transfer_payload(source, closed),
            {"toAccountId": "Account CLS0000001 is closed: it neither sends nor receives"},
        ),
        (
            transfer_payload(source, target, amount="50.01"),
            {"amount": "Insufficient funds: account SRC0000001 holds 50.00 EUR"},
        ),
    ]
    for raw, expected in cases:
        assert await conflicts(db, raw) == expected, raw


# --- execution --------------------------------------------------------------------------------------


async def test_execute_moves_the_money_and_writes_a_ledger_entry_per_leg(db, maker, checker):
    source = await make_account(db, maker, balance="100.00", number="SRC0000002")
    target = await make_account(db, checker, balance="5.00", number="DST0000002")
    payload = ACTION.parse(transfer_payload(source, target, amount="30.25", reference="Invoice 7"))
    async with db.sessions() as session, session.begin():
        ctx = execution_context(session, maker, checker)
        # the ledger names its action: a real one, as the approval's transaction has
        await session.exec(
            text(
                "INSERT INTO workflow_actions (id, action_type, payload, summary, maker_id, status, version,"
                " approvals, required_approvals, policy_version, created_at, updated_at, expires_at)"
                " VALUES (:id, 'transfer_funds', '{}', 's', :maker, 'pending', 1, 0, 1, 0, now(), now(),"
                " now() + interval '1 hour')"
            ).bindparams(id=ctx.action_id, maker=maker.user.id)
        )
        result = await ACTION.execute(ctx, payload)
    assert await balances(db, source, target) == [Decimal("69.75"), Decimal("35.25")]
    entries = await ledger(db)
    assert [
        (
            e.account_id,
            e.counterparty_account_id,
            e.amount,
            e.balance_after,
            e.currency,
            e.reference,
            e.action_id,
        )
        for e in entries
    ] == [
        (source.id, target.id, Decimal("-30.25"), Decimal("69.75"), "EUR", "Invoice 7", ctx.action_id),
        (target.id, source.id, Decimal("30.25"), Decimal("35.25"), "EUR", "Invoice 7", ctx.action_id),
    ]
    assert result == {
        "fromAccountId": str(source.id),
        "fromAccountNumber": "SRC0000002",
        "fromBalance": "69.75",
        "toAccountId": str(target.id),
        "toAccountNumber": "DST0000002",
        "toBalance": "35.25",
        "amount": "30.25",
        "currency": "EUR",
        "ledgerEntryIds": [entries[0].id, entries[1].id],
    }


async def test_execute_refuses_short_funds_and_changes_nothing(db, maker, checker):
    source = await make_account(db, maker, balance="10.00", number="SRC0000003")
    target = await make_account(db, maker, balance="0.00")
    payload = ACTION.parse(transfer_payload(source, target, amount="10.01"))
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(execution_context(session, maker, checker), payload)
    assert refused.value.field == "amount"
    assert refused.value.message == "Insufficient funds: account SRC0000003 holds 10.00 EUR"
    assert await balances(db, source, target) == [Decimal("10.00"), Decimal("0.00")]
    assert await ledger(db) == []


async def test_apply_rechecks_on_the_locked_rows(db, maker, checker):
    """apply alone (past check_current_data, as when the data changed in between) still refuses."""
    source = await make_account(db, maker, balance="10.00", number="SRC0000004")
    target = await make_account(db, maker, status="frozen", number="DST0000004")
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.apply(
                execution_context(session, maker, checker), ACTION.parse(transfer_payload(source, target))
            )
    assert refused.value.message == "Account DST0000004 is frozen: it neither sends nor receives"
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.apply(
                execution_context(session, maker, checker),
                ACTION.parse(transfer_payload(target, source, amount="99.00")),
            )
    assert "frozen" in refused.value.message


async def test_a_balance_may_not_go_below_zero_in_the_database(db, maker):
    account = await make_account(db, maker, balance="1.00")
    with pytest.raises(Exception, match="ck_accounts_balance_not_negative"):
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE accounts SET balance = -0.01 WHERE id = :id"), {"id": account.id})


async def test_a_credit_past_the_largest_balance_is_refused(db, maker, checker):
    source = await make_account(db, maker, balance="10.00")
    target = await make_account(db, maker, balance="9999999999999999.99", number="FULL000001")
    payload = ACTION.parse(transfer_payload(source, target, amount="0.01"))
    async with db.sessions() as session, session.begin():
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(execution_context(session, maker, checker), payload)
    assert (
        refused.value.message
        == "Account FULL000001 cannot hold more: its balance would pass 9999999999999999.99"
    )


# --- through the API --------------------------------------------------------------------------------


async def test_approval_through_the_api_moves_the_money(client, db, maker, checker, no_step_up):
    source = await make_account(db, maker, balance="100.00")
    target = await make_account(db, maker, balance="0.00")
    action = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount=40))
    assert action["payload"]["amount"] == "40.00"
    assert action["requiredApprovals"] == 1
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["executionResult"]["fromBalance"] == "60.00"
    assert await balances(db, source, target) == [Decimal("60.00"), Decimal("40.00")]


async def test_submission_refuses_an_overdraft_with_the_field(client, db, maker):
    source = await make_account(db, maker, balance="5.00", number="SRC0000005")
    target = await make_account(db, maker)
    response = await client.post(
        "/api/workflow/actions",
        json={"actionType": "transfer_funds", "payload": transfer_payload(source, target)},
        headers=maker.headers,
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "amount", "message": "Insufficient funds: account SRC0000005 holds 5.00 EUR"}
    ]


async def test_funds_spent_since_submission_refuse_the_approval_with_409(
    client, db, maker, checker, no_step_up
):
    source = await make_account(db, maker, balance="50.00", number="SRC0000006")
    target = await make_account(db, maker)
    first = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount="40.00"))
    second = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount="40.00"))
    assert (await review(client, checker, first["id"])).status_code == 200
    refused = await review(client, checker, second["id"])
    assert refused.status_code == 409
    assert refused.json() == {
        "success": False,
        "error": "The action cannot be executed: Insufficient funds: account SRC0000006 holds 10.00 EUR",
    }
    stored = (await client.get(f"/api/workflow/actions/{second['id']}", headers=maker.headers)).json()["data"]
    assert stored["status"] == "pending"
    assert await balances(db, source, target) == [Decimal("10.00"), Decimal("140.00")]


async def test_an_account_frozen_since_submission_refuses_the_approval(
    client, db, maker, checker, no_step_up
):
    source = await make_account(db, maker, balance="50.00")
    target = await make_account(db, maker, number="DST0000007")
    action = await submit(client, maker, "transfer_funds", transfer_payload(source, target))
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE accounts SET status = 'frozen' WHERE id = :id"), {"id": target.id})
    refused = await review(client, checker, action["id"])
    assert refused.status_code == 409
    assert "DST0000007 is frozen" in refused.json()["error"]
    assert await balances(db, source, target) == [Decimal("50.00"), Decimal("100.00")]


async def adopt_policy(client, db, action_type: str, **settings) -> dict:
    """Propose and approve an update_policy through the API (two admins)."""
    proposer, approver = await make_actor(db, "admin"), await make_actor(db, "admin")
    current = await client.get(f"/api/workflow/action-types/{action_type}", headers=proposer.headers)
    base = current.json()["data"]["policy"]["version"]
    change = await submit(client, proposer, "update_policy", policy_change(action_type, base, **settings))
    response = await review(client, approver, change["id"])
    assert response.status_code == 200, response.text
    return response.json()["data"]["executionResult"]


async def test_a_transfer_above_the_policy_limit_needs_two_approvals(client, db, maker, no_step_up):
    await make_actor(db, "checker")
    await make_actor(db, "checker")
    adopted = await adopt_policy(
        client, db, "transfer_funds", largeAmount="10000.00", largeAmountApprovals=2, stepUp=False
    )
    assert adopted["largeAmount"] == "10000.00" and adopted["largeAmountApprovals"] == 2
    source = await make_account(db, maker, balance="50000.00")
    target = await make_account(db, maker, balance="0.00")
    large = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount="10000.01"))
    limit = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount="10000.00"))
    assert (large["requiredApprovals"], limit["requiredApprovals"]) == (2, 1)
    first, second = await make_actor(db, "checker"), await make_actor(db, "checker")
    once = await review(client, first, large["id"])
    assert once.json()["message"] == "Approval recorded; more approvals are needed"
    assert await balances(db, source) == [Decimal("50000.00")]
    twice = await review(client, second, large["id"])
    assert twice.json()["data"]["action"]["status"] == "approved"
    assert (await review(client, first, limit["id"])).json()["data"]["action"]["status"] == "approved"
    assert await balances(db, source, target) == [Decimal("29999.99"), Decimal("20000.01")]


async def test_transfer_actions_list_their_accounts_and_amount(client, db, maker):
    source = await make_account(db, maker, balance="50.00")
    target = await make_account(db, maker)
    action = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount="12.34"))
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT record_ids, amount FROM workflow_actions WHERE id = :id"), {"id": action["id"]}
            )
        ).one()
    assert row.record_ids == [source.id, target.id]
    assert row.amount == Decimal("12.34")
    async with db.sessions() as session:
        count = (await session.exec(select(func.count()).select_from(LedgerEntry))).one()
    assert count == 0


async def test_a_resubmission_above_the_limit_needs_the_large_amount_approvals(client, db, maker, checker):
    """The amount, the accounts and the approvals needed follow the new version: a small transfer
    sent back cannot come back large under the small one's single approval."""
    await set_policy(db, "transfer_funds", step_up=False, large_amount=100, large_amount_approvals=2)
    source = await make_account(db, maker, balance="1000.00")
    target, other = await make_account(db, maker), await make_account(db, maker)
    action = await submit(client, maker, "transfer_funds", transfer_payload(source, target, amount="10.00"))
    assert action["requiredApprovals"] == 1
    await review(client, checker, action["id"], "changes_requested", "Make it the whole invoice")
    response = await client.post(
        f"/api/workflow/actions/{action['id']}/resubmit",
        json={"payload": transfer_payload(source, other, amount="500.00")},
        headers=maker.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["requiredApprovals"] == 2
    async with db.engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT record_ids, amount FROM workflow_actions WHERE id = :id"), {"id": action["id"]}
            )
        ).one()
    assert (row.record_ids, row.amount) == ([source.id, other.id], Decimal("500.00"))
    once = await review(client, await make_actor(db, "checker"), action["id"])
    assert once.json()["message"] == "Approval recorded; more approvals are needed"


async def test_the_api_documents_and_shows_the_policy_settings_for_money(client, db, maker):
    await set_policy(db, "transfer_funds", large_amount=10000, large_amount_approvals=2, step_up=True)
    policy = (await client.get("/api/workflow/action-types/transfer_funds", headers=maker.headers)).json()
    assert {k: policy["data"]["policy"][k] for k in ("stepUp", "largeAmount", "largeAmountApprovals")} == {
        "stepUp": True,
        "largeAmount": "10000.00",
        "largeAmountApprovals": 2,
    }
    schema = (await client.get("/schema/openapi.json")).json()
    documented = schema["components"]["schemas"]["PolicyOut"]["properties"]
    assert {"stepUp", "largeAmount", "largeAmountApprovals"} <= set(documented)
