"""Step-up re-authentication through the JSON API: approving an action whose pinned policy has step_up
needs the reviewer's current password in the same request. Without it, or wrong, 403 naming the
password field; a wrong one counts as a failed login; the approval's audit event records the step-up.
The password is checked before the review's transaction and row lock, and never stored or echoed."""

import uuid

import asyncpg
import pytest
from sqlalchemy import text

from app.accounts import passwords
from tests.factories import make_actor, promotion_payload, review, set_policy, submit

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"
PASSWORD = "checker step-up secret"


@pytest.fixture
async def stepping_checker(db):
    return await make_actor(db, "checker", password=PASSWORD)


@pytest.fixture
async def step_up_action(client, db, maker):
    """A pending create_promotion pinned to a policy version that asks for the password."""
    await set_policy(db, "create_promotion", step_up=True)
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert action["policyVersion"] == 1
    return action


async def approve(client, actor, action_id, **extra):
    return await client.post(
        f"{ACTIONS}/{action_id}/review", json={"status": "approved", **extra}, headers=actor.headers
    )


async def fetch_rows(db, sql: str, **params):
    async with db.engine.connect() as conn:
        return (await conn.execute(text(sql), params)).all()


def password_detail(response) -> str:
    details = {d["field"]: d["message"] for d in response.json().get("details") or []}
    return details.get("password", "")


async def test_approving_without_the_password_is_refused_and_leaves_it_pending(
    client, db, step_up_action, stepping_checker
):
    response = await approve(client, stepping_checker, step_up_action["id"])

    assert response.status_code == 403, response.text
    assert password_detail(response) == "Enter your password to approve"
    rows = await fetch_rows(
        db, "SELECT status, approvals FROM workflow_actions WHERE id = :id", id=step_up_action["id"]
    )
    assert rows == [("pending", 0)]
    reviews = await fetch_rows(db, "SELECT count(*) FROM action_reviews")
    assert reviews == [(0,)]


async def test_a_wrong_password_is_refused_and_counted_as_a_failed_login(
    client, db, step_up_action, stepping_checker
):
    response = await approve(client, stepping_checker, step_up_action["id"], password="not my password")

    assert response.status_code == 403, response.text
    assert password_detail(response) == "The password is not right"
    assert "not my password" not in response.text
    rows = await fetch_rows(db, "SELECT failed_logins FROM users WHERE id = :id", id=stepping_checker.id)
    assert rows == [(1,)]
    events = await fetch_rows(
        db,
        "SELECT details::text FROM audit_events WHERE event_type = 'login_failed' AND actor_id = :id",
        id=stepping_checker.id,
    )
    assert len(events) == 1 and '"stepUp": true' in events[0][0]
    assert "not my password" not in events[0][0]
    status = await fetch_rows(
        db, "SELECT status FROM workflow_actions WHERE id = :id", id=step_up_action["id"]
    )
    assert status == [("pending",)]


async def test_five_wrong_passwords_lock_the_account_and_then_even_the_right_one_is_refused(
    client, db, step_up_action, stepping_checker
):
    for _ in range(5):
        response = await approve(client, stepping_checker, step_up_action["id"], password="guess")
        assert response.status_code == 403

    locked = await fetch_rows(
        db, "SELECT locked_until > now() FROM users WHERE id = :id", id=stepping_checker.id
    )
    assert locked == [(True,)]
    response = await approve(client, stepping_checker, step_up_action["id"], password=PASSWORD)
    assert response.status_code == 403
    assert "locked" in password_detail(response)


async def test_the_right_password_approves_and_the_audit_records_the_step_up(
    client, db, step_up_action, stepping_checker
):
    response = await approve(client, stepping_checker, step_up_action["id"], password=PASSWORD)

    assert response.status_code == 200, response.text
    assert response.json()["data"]["action"]["status"] == "approved"
    assert PASSWORD not in response.text
    events = await fetch_rows(
        db,
        "SELECT details->>'stepUp' FROM audit_events"
        " WHERE action_id = :id AND event_type = 'action_approved'",
        id=step_up_action["id"],
    )
    assert events == [("true",)]
    stored = await fetch_rows(
        db, "SELECT count(*) FROM audit_events WHERE details::text LIKE :p", p=f"%{PASSWORD}%"
    )
    assert stored == [(0,)]


async def test_rejecting_and_sending_back_need_no_password(
    client, db, maker, step_up_action, stepping_checker
):
    response = await review(client, stepping_checker, step_up_action["id"], "rejected", "No")
    assert response.status_code == 200, response.text

    other = await submit(client, maker, "create_promotion", promotion_payload())
    response = await review(client, stepping_checker, other["id"], "changes_requested", "Change it")
    assert response.status_code == 200, response.text


async def test_a_policy_without_step_up_approves_without_a_password(client, db, maker, checker):
    action = await submit(client, maker, "create_promotion", promotion_payload())

    response = await review(client, checker, action["id"])

    assert response.status_code == 200, response.text
    events = await fetch_rows(
        db,
        "SELECT details ? 'stepUp' FROM audit_events"
        " WHERE action_id = :id AND event_type = 'action_approved'",
        id=action["id"],
    )
    assert events == [(False,)]


async def test_the_type_default_step_up_applies_to_actions_under_the_defaults(
    client, db, maker, stepping_checker, monkeypatch
):
    from dataclasses import replace

    from app.actions import REGISTRY

    monkeypatch.setitem(
        REGISTRY, "create_promotion", replace(REGISTRY["create_promotion"], default_step_up=True)
    )
    action = await submit(client, maker, "create_promotion", promotion_payload())
    assert action["policyVersion"] == 0

    refused = await approve(client, stepping_checker, action["id"])
    assert refused.status_code == 403
    assert password_detail(refused) == "Enter your password to approve"
    accepted = await approve(client, stepping_checker, action["id"], password=PASSWORD)
    assert accepted.status_code == 200, accepted.text


async def test_the_password_is_verified_outside_any_transaction_and_row_lock(
    client, db, database_url, step_up_action, stepping_checker, monkeypatch
):
    """While the (slow) verification runs, nothing of the request is idle in a transaction, and the
    action's row can be locked by someone else at once."""
    seen = {}
    original = passwords.verify_password_async

    async def observing(password_hash, password):
        # a connection of its own: the app runs on the test client's event loop, not the test's
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                locked = await conn.fetch(
                    "SELECT id FROM workflow_actions WHERE id = $1 FOR UPDATE NOWAIT",
                    uuid.UUID(step_up_action["id"]),
                )
                seen["lockable"] = locked != []
            seen["idle_in_transaction"] = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return await original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password_async", observing)

    response = await approve(client, stepping_checker, step_up_action["id"], password=PASSWORD)

    assert response.status_code == 200, response.text
    assert seen == {"lockable": True, "idle_in_transaction": 0}


async def test_the_verification_runs_on_the_argon2_threads(
    client, db, step_up_action, stepping_checker, monkeypatch
):
    threads = []
    original = passwords.verify_password

    def recording(password_hash, password):
        import threading

        threads.append(threading.current_thread().name)
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", recording)
    response = await approve(client, stepping_checker, step_up_action["id"], password=PASSWORD)

    assert response.status_code == 200, response.text
    assert threads and all(name.startswith("argon2") for name in threads)


async def test_a_too_long_password_is_a_400_naming_the_field(client, step_up_action, stepping_checker):
    response = await approve(client, stepping_checker, step_up_action["id"], password="x" * 300)

    assert response.status_code == 400
    assert "password" in {d["field"] for d in response.json()["details"]}
    assert "x" * 300 not in response.text


async def test_the_password_is_never_logged(client, step_up_action, stepping_checker, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    await approve(client, stepping_checker, step_up_action["id"], password="a secret guess")
    await approve(client, stepping_checker, step_up_action["id"], password=PASSWORD)

    assert "a secret guess" not in caplog.text
    assert PASSWORD not in caplog.text


async def test_a_wrong_password_spends_the_addresses_login_budget(client, step_up_action, stepping_checker):
    from app.accounts.throttle import LoginThrottle

    throttle = LoginThrottle(budget=1)
    client.app.state.login_throttle = throttle

    wrong = await approve(client, stepping_checker, step_up_action["id"], password="guess")
    assert wrong.status_code == 403
    assert throttle.remembered == 1

    # the address's budget is spent: even the right password waits, as a login would
    throttled = await approve(client, stepping_checker, step_up_action["id"], password=PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed logins" in throttled.json()["error"]
