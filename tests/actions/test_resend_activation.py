"""resend_activation (issue 8 item 10): an admin proposes a fresh activation link for a user who has not
activated yet; a checker's approval spends every earlier link and mails the new one to the stored address."""

import uuid

import pytest
from sqlalchemy import text

from app.actions import REGISTRY
from tests.factories import activation_link, issue_activation, make_actor, review, submit, user_payload
from tests.factories import field_errors as errors_for

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["resend_activation"]
ACTIONS = "/api/workflow/actions"


async def _rows(db, statement: str, **params):
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


def test_the_payload_names_a_user():
    assert errors_for(ACTION, {}) == {"userId": "Required"}
    assert errors_for(ACTION, {"userId": "ana"}) == {"userId": "Choose an existing user"}
    user_id = uuid.uuid4()
    assert ACTION.parse({"userId": str(user_id)}).user_id == user_id


async def _created_user(client, maker, checker) -> dict:
    action = await submit(client, maker, "create_user", user_payload())
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    return response.json()["data"]["executionResult"]


async def test_approval_spends_the_old_link_and_mails_a_new_one_to_the_stored_address(
    client, db, maker, checker
):
    created = await _created_user(client, maker, checker)
    old_link = activation_link(created["activationSentTo"])
    admin = await make_actor(db, "admin")
    action = await submit(client, admin, "resend_activation", {"userId": created["userId"]})
    assert action["summary"].endswith(f"at {created['activationSentTo']}")
    old_path = "/" + old_link.split("/", 3)[3]
    assert (await client.get(old_path)).status_code == 200  # pending: the old link still works

    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    result = response.json()["data"]["executionResult"]
    assert result["activationSentTo"] == created["activationSentTo"]
    new_link = activation_link(created["activationSentTo"])
    assert new_link != old_link
    new_path = "/" + new_link.split("/", 3)[3]
    assert (await client.get(old_path)).status_code == 404
    assert (await client.get(new_path)).status_code == 200
    mails = await _rows(
        db, "SELECT count(*) FROM outbound_emails WHERE to_address = :to", to=created["activationSentTo"]
    )
    assert mails == [(2,)]


async def test_only_an_admin_proposes_it(client, db, maker, checker):
    created = await _created_user(client, maker, checker)
    body = {"actionType": "resend_activation", "payload": {"userId": created["userId"]}}
    for actor in (maker, checker):
        assert (await client.post(ACTIONS, json=body, headers=actor.headers)).status_code == 403


@pytest.mark.parametrize("state", ["activated", "deactivated", "unknown"])
async def test_only_for_a_user_not_yet_activated(client, db, state):
    admin = await make_actor(db, "admin")
    user = await make_actor(db, "maker")
    user_id = user.id
    if state == "activated":
        await _rows(db, "UPDATE users SET password_hash = 'x' WHERE id = :id", id=user.user.id)
    elif state == "deactivated":
        await _rows(db, "UPDATE users SET is_active = false WHERE id = :id", id=user.user.id)
    else:
        user_id = str(uuid.uuid4())
    response = await client.post(
        ACTIONS,
        json={"actionType": "resend_activation", "payload": {"userId": user_id}},
        headers=admin.headers,
    )
    assert response.status_code == 400, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == "userId"


async def test_a_user_who_activated_meanwhile_is_refused_at_approval(client, db, checker):
    admin = await make_actor(db, "admin")
    user = await make_actor(db, "maker")
    await issue_activation(db, user.user)
    action = await submit(client, admin, "resend_activation", {"userId": user.id})
    await _rows(db, "UPDATE users SET password_hash = 'x' WHERE id = :id", id=user.user.id)
    response = await review(client, checker, action["id"])
    assert response.status_code == 409
    assert "activated their account already" in response.json()["error"]
    assert await _rows(db, "SELECT count(*) FROM outbound_emails") == [(0,)]
