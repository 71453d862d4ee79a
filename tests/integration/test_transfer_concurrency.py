"""Transfers under concurrency, through the HTTP app on the test's event loop (gathered requests
really overlap, see conftest): balances are conserved and never negative, every approval either
executes or is refused cleanly for funds, no deadlock reaches a caller; and the account rows are
locked in one order, whichever way the money goes."""

import asyncio
import random
import time
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.models import ActionStatus
from app.workflow import service
from tests.factories import make_account, make_actor, review, set_policy, submit, transfer_payload

pytestmark = pytest.mark.anyio

TRANSFERS = 200
CHECKERS = 6
IN_FLIGHT = 24
"""Requests at once: below the app's pool size, so none waits for a connection, only for locks."""
OPENING = [Decimal("1000.00"), Decimal("1000.00"), Decimal("300.00"), Decimal("40.00")]


@pytest.fixture
def in_flight(monkeypatch):
    """Counts the reviews the service handles at once, to prove the approvals overlapped."""
    state = {"now": 0, "max": 0}
    original = service.review_action

    async def counting(**kwargs):
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            return await original(**kwargs)
        finally:
            state["now"] -= 1

    monkeypatch.setattr(service, "review_action", counting)
    return state


async def rows(db, statement: str, **params):
    async with db.engine.connect() as conn:
        return (await conn.execute(text(statement), params)).all()


async def submit_all(db, maker, payloads) -> list[str]:
    """Submitted through the service in one transaction: the race under test is the approvals'."""
    async with db.sessions() as session, session.begin():
        return [
            str(
                (
                    await service.submit_action(
                        session=session, maker=maker.user, action_type="transfer_funds", raw_payload=payload
                    )
                ).id
            )
            for payload in payloads
        ]


async def test_concurrent_transfers_conserve_money_and_never_deadlock(live_client, db, maker, in_flight):
    await set_policy(db, "transfer_funds", step_up=False)
    checkers = [await make_actor(db, "checker") for _ in range(CHECKERS)]
    accounts = [await make_account(db, maker, balance=str(opening)) for opening in OPENING]
    chance = random.Random(10)
    payloads = []
    for _ in range(TRANSFERS):
        source, target = chance.sample(accounts, 2)
        # small enough that the poorest accounts can pass one at submission, large enough to run dry
        amount = Decimal(chance.randint(1, 4000)) / 100
        payloads.append(transfer_payload(source, target, amount=str(amount), reference="race"))
    action_ids = await submit_all(db, maker, payloads)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def approve(index: int, action_id: str):
        async with gate:
            return await review(live_client, checkers[index % CHECKERS], action_id)

    started = time.monotonic()
    responses = await asyncio.gather(*(approve(i, a) for i, a in enumerate(action_ids)))
    elapsed = time.monotonic() - started

    assert in_flight["max"] > 1, "the approvals did not overlap"
    executed = [a for a, r in zip(action_ids, responses, strict=True) if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    for response in refused:
        assert response.status_code == 409, response.text
        assert response.json()["error"].startswith("The action cannot be executed: Insufficient funds"), (
            response.text
        )
    assert executed, "no transfer executed"
    print(f"{len(executed)} executed, {len(refused)} refused for funds, in {elapsed:.1f} s")

    balances = dict(await rows(db, "SELECT id, balance FROM accounts"))
    assert sum(balances.values()) == sum(OPENING)
    assert all(balance >= 0 for balance in balances.values()), balances
    moved = dict(await rows(db, "SELECT account_id, sum(amount) FROM ledger_entries GROUP BY account_id"))
    for account, opening in zip(accounts, OPENING, strict=True):
        assert balances[account.id] - opening == moved.get(account.id, Decimal("0")), account.account_number
    legs = await rows(db, "SELECT action_id, count(*), sum(amount) FROM ledger_entries GROUP BY action_id")
    assert sorted(str(leg[0]) for leg in legs) == sorted(executed)
    assert all(leg[1] == 2 and leg[2] == 0 for leg in legs)
    statuses = dict(await rows(db, "SELECT id::text, status FROM workflow_actions"))
    assert sorted(a for a, status in statuses.items() if status == ActionStatus.APPROVED) == sorted(executed)
    assert sum(1 for status in statuses.values() if status == ActionStatus.PENDING) == len(refused)
    # the ledger's balance_after is each account's running balance, leg by leg
    for account, opening in zip(accounts, OPENING, strict=True):
        running = opening
        for amount, after in await rows(
            db,
            "SELECT amount, balance_after FROM ledger_entries WHERE account_id = :id ORDER BY id",
            id=account.id,
        ):
            running += amount
            assert after == running


async def wait_for_a_lock_wait(db, deadline_seconds: float = 10) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        waiting = await rows(
            db,
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()",
        )
        if waiting[0][0]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the approval never waited for the held account")


@pytest.mark.parametrize("lower_pays", [True, False])
async def test_the_account_with_the_lower_id_is_locked_first(live_client, db, maker, checker, lower_pays):
    """With the lower-id account held elsewhere, an approval waits for it without having locked the
    other account, whichever of the two pays: two transfers in opposite directions cannot each hold
    one account while waiting for the other."""
    await set_policy(db, "transfer_funds", step_up=False)
    first, second = await make_account(db, maker), await make_account(db, maker)
    lower, higher = sorted([first, second], key=lambda account: account.id)
    source, target = (lower, higher) if lower_pays else (higher, lower)
    action = await submit(live_client, maker, "transfer_funds", transfer_payload(source, target))

    async with db.engine.connect() as holder:
        await holder.execute(text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE"), {"id": lower.id})
        approval = asyncio.create_task(review(live_client, checker, action["id"]))
        await wait_for_a_lock_wait(db)
        # the higher-id account is still free: the approval asked for the lower one first
        async with db.engine.connect() as probe:
            free = await probe.execute(
                text("SELECT 1 FROM accounts WHERE id = :id FOR UPDATE NOWAIT"), {"id": higher.id}
            )
            assert free.scalar_one() == 1
            await probe.rollback()
        await holder.rollback()
    response = await asyncio.wait_for(approval, timeout=10)
    assert response.status_code == 200, response.text
