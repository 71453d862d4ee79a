"""update_user (issue 9 item 8): an admin proposes, a checker approves; only the given fields change;
deactivating ends the user's sessions and API tokens and cancels their pending actions."""

import uuid

import pytest
from sqlalchemy import text

from app.actions import REGISTRY
from app.actions.update_user import UpdateUserPayload
from app.models import Role
from tests.factories import field_errors as errors_for
from tests.factories import make_actor, promotion_payload, review, submit

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["update_user"]
ACTIONS = "/api/workflow/actions"


async def _rows(db, statement: str, **params):
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


def test_only_the_fields_given_are_set():
    user_id = uuid.uuid4()
    payload = ACTION.parse({"userId": str(user_id), "roles": ["checker", "maker", "checker"]})
    assert isinstance(payload, UpdateUserPayload)
    assert (payload.user_id, payload.full_name, payload.roles, payload.active) == (
        user_id,
        None,
        [Role.MAKER, Role.CHECKER],
        None,
    )
    assert ACTION.parse({"userId": str(user_id), "active": "false"}).active is False


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c"}, "payload", "Give at least one of fullName"),
        ({"userId": "nope", "active": True}, "userId", "Choose an existing user"),
        ({"fullName": "X"}, "userId", "Required"),
        (
            {"userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "roles": []},
            "roles",
            "Choose at least one role",
        ),
        ({"userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "roles": ["root"]}, "roles.0", "Choose one of"),
        ({"userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "fullName": ""}, "fullName", "Required"),
        ({"userId": "0b6f7a52-3a1c-4f8e-9d2b-5c4e3f2a1b0c", "active": "maybe"}, "active", ""),
    ],
)
def test_invalid_payloads_name_the_field(raw, field, message):
    errors = errors_for(ACTION, raw)
    assert field in errors
    assert errors[field].startswith(message)


async def test_a_maker_cannot_propose_it_an_admin_can(client, db, maker):
    target = await make_actor(db, "maker")
    body = {"actionType": "update_user", "payload": {"userId": target.id, "fullName": "Renamed"}}
    refused = await client.post(ACTIONS, json=body, headers=maker.headers)
    assert refused.status_code == 403
    assert refused.json()["error"] == "Submitting update_user needs the admin role"
    admin = await make_actor(db, "admin")
    accepted = await client.post(ACTIONS, json=body, headers=admin.headers)
    assert accepted.status_code == 201, accepted.text
    name, username = target.user.full_name, target.user.username
    assert (
        accepted.json()["data"]["summary"] == f"Update user {username} ({name}): full name {name} → Renamed"
    )


async def test_submission_refuses_an_unknown_user_and_a_change_that_changes_nothing(client, db):
    admin = await make_actor(db, "admin")
    target = await make_actor(db, "maker")
    for payload, message in [
        ({"userId": str(uuid.uuid4()), "active": False}, "Choose an existing user"),
        ({"userId": target.id, "roles": ["maker"], "active": True}, "Nothing would change"),
    ]:
        response = await client.post(
            ACTIONS, json={"actionType": "update_user", "payload": payload}, headers=admin.headers
        )
        assert response.status_code == 400, response.text
        [detail] = response.json()["details"]
        assert detail["field"] == "userId"
        assert detail["message"].startswith(message)


async def test_approval_changes_name_and_roles_and_nothing_else(client, db, checker):
    admin = await make_actor(db, "admin")
    target = await make_actor(db, "maker")
    action = await submit(
        client,
        admin,
        "update_user",
        {"userId": target.id, "fullName": "Ana Nova", "roles": ["checker", "maker"]},
    )
    assert await _rows(db, "SELECT full_name, roles FROM users WHERE id = :id", id=target.user.id) == [
        (target.user.full_name, ["maker"])
    ]  # pending: nothing changed yet
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["executionResult"]["changed"] == "fullName, roles"
    assert await _rows(
        db, "SELECT full_name, roles, is_active FROM users WHERE id = :id", id=target.user.id
    ) == [("Ana Nova", ["maker", "checker"], True)]
    # the token still works: only deactivation ends access
    assert (await client.get(ACTIONS, headers=target.headers)).status_code == 200


async def test_approving_a_deactivation_ends_sessions_and_tokens_and_cancels_pending_actions(
    client, db, checker
):
    admin = await make_actor(db, "admin")
    target = await make_actor(db, "maker")
    theirs = await submit(client, target, "create_promotion", promotion_payload())
    await _rows(
        db,
        "INSERT INTO sessions (id, user_id, data, created_at, expires_at)"
        " VALUES ('abc123', :id, '\\x7b7d', now(), now() + interval '1 hour')",
        id=target.user.id,
    )
    action = await submit(client, admin, "update_user", {"userId": target.id, "active": False})
    assert "deactivate" in action["summary"]

    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["executionResult"]["cancelledActions"] == 1
    assert await _rows(db, "SELECT is_active FROM users WHERE id = :id", id=target.user.id) == [(False,)]
    assert await _rows(db, "SELECT count(*) FROM sessions WHERE user_id = :id", id=target.user.id) == [(0,)]
    assert await _rows(
        db, "SELECT count(*) FROM api_tokens WHERE user_id = :id AND revoked_at IS NULL", id=target.user.id
    ) == [(0,)]
    assert await _rows(db, "SELECT status FROM workflow_actions WHERE id = :id", id=theirs["id"]) == [
        ("cancelled",)
    ]
    assert (await client.get(ACTIONS, headers=target.headers)).status_code == 401
    events = await _rows(db, "SELECT actor_id FROM audit_events WHERE event_type = 'user_disabled'")
    assert events == [(checker.user.id,)]

    # reactivated, the user logs in afresh: the revoked token stays revoked
    again = await submit(client, admin, "update_user", {"userId": target.id, "active": True})
    assert (await review(client, checker, again["id"])).status_code == 200
    assert await _rows(db, "SELECT is_active FROM users WHERE id = :id", id=target.user.id) == [(True,)]
    assert (await client.get(ACTIONS, headers=target.headers)).status_code == 401


async def test_the_subject_of_a_change_cannot_approve_it(client, db):
    admin = await make_actor(db, "admin")
    subject = await make_actor(db, "checker")
    action = await submit(client, admin, "update_user", {"userId": subject.id, "roles": ["checker", "admin"]})
    response = await review(client, subject, action["id"])
    assert response.status_code == 409
    assert "approved by someone else" in response.json()["error"]
    assert await _rows(db, "SELECT roles FROM users WHERE id = :id", id=subject.user.id) == [(["checker"],)]
    assert await _rows(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action["id"]) == [
        ("pending",)
    ]


async def test_an_admin_cannot_deactivate_themselves(client, db, checker):
    admin = await make_actor(db, "admin")
    await make_actor(db, "admin")  # another admin remains, so the last-admin rule does not apply
    action = await submit(client, admin, "update_user", {"userId": admin.id, "active": False})
    response = await review(client, checker, action["id"])
    assert response.status_code == 409
    assert "cannot deactivate themselves" in response.json()["error"]
    assert await _rows(db, "SELECT is_active FROM users WHERE id = :id", id=admin.user.id) == [(True,)]


async def test_the_last_active_admin_keeps_the_role(client, db):
    admin = await make_actor(db, "admin")
    other = await make_actor(db, "admin", "checker")
    payloads = [{"userId": other.id, "roles": ["checker"]}, {"userId": other.id, "active": False}]
    for payload in payloads:
        response = await client.post(
            ACTIONS, json={"actionType": "update_user", "payload": payload}, headers=admin.headers
        )
        assert response.status_code == 201, response.text  # another active admin remains
    await _rows(db, "UPDATE users SET is_active = false WHERE id = :id", id=admin.user.id)
    async with db.sessions() as session:
        found = [await ACTION.check_current_data(session, ACTION.parse(payload)) for payload in payloads]
    assert found == [
        {"roles": "This is the last active admin: keep one"},
        {"active": "This is the last active admin: keep one"},
    ]
