"""No duplicate pending requests (issue 9 item 7): a second pending action with one of the keys of a
pending one (a username, an email, an account number, a promotion code, the user of an activation
link) is refused with 409 naming the pending one; the key is free again once that one is decided."""

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from app.workflow import service
from tests.factories import (
    Actor,
    account_payload,
    make_actor,
    promotion_payload,
    review,
    submit,
    user_payload,
)

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"

Case = tuple[str, dict[str, Any], dict[str, Any], str, str]
"""(type, first payload, second payload with the same key spelt another way, field, key as shown)."""


def _cases(maker: Actor) -> dict[str, Case]:
    first_user = user_payload(username="dup-ana", email="dup-ana@example.com")
    return {
        "username": (
            "create_user",
            first_user,
            user_payload(username="  DUP-Ana "),
            "username",
            "dup-ana",
        ),
        "email": (
            "create_user",
            first_user,
            user_payload(email="Dup-ANA@Example.com"),
            "email",
            "dup-ana@example.com",
        ),
        "account number": (
            "create_account",
            account_payload(maker.id, accountNumber="DUPACC123"),
            account_payload(maker.id, accountNumber="DUPACC123", balance="5.00"),
            "accountNumber",
            "DUPACC123",
        ),
        "promotion code": (
            "create_promotion",
            promotion_payload(code="DUP-SPRING"),
            promotion_payload(code=" dup-spring ", name="Another name"),
            "code",
            "DUP-SPRING",
        ),
    }


async def _post(client, actor: Actor, action_type: str, payload: dict[str, Any]):
    return await client.post(
        ACTIONS, json={"actionType": action_type, "payload": payload}, headers=actor.headers
    )


async def _pending_count(db) -> int:
    async with db.engine.connect() as conn:
        return (
            await conn.execute(text("SELECT count(*) FROM workflow_actions WHERE status = 'pending'"))
        ).scalar()


@pytest.mark.parametrize("case", ["username", "email", "account number", "promotion code"])
async def test_a_second_pending_request_with_the_same_key_is_a_409_naming_the_first(client, db, maker, case):
    other_maker = await make_actor(db, "maker")
    action_type, first, second, field, key = _cases(maker)[case]
    pending = await submit(client, maker, action_type, first)

    response = await _post(client, other_maker, action_type, second)

    assert response.status_code == 409, response.text
    body = response.json()
    assert body["success"] is False
    assert body["pendingActionId"] == pending["id"]
    assert pending["id"] in body["error"]
    [detail] = body["details"]
    assert detail["field"] == field
    assert key in detail["message"] and pending["id"] in detail["message"]
    assert await _pending_count(db) == 1


async def test_a_second_pending_activation_link_for_one_user_is_a_409(client, db):
    admin, other_admin = await make_actor(db, "admin"), await make_actor(db, "admin")
    not_activated = await make_actor(db, "maker")
    pending = await submit(client, admin, "resend_activation", {"userId": not_activated.id})

    response = await _post(client, other_admin, "resend_activation", {"userId": not_activated.id.upper()})

    assert response.status_code == 409, response.text
    assert response.json()["pendingActionId"] == pending["id"]
    assert response.json()["details"][0]["field"] == "userId"


async def test_both_keys_of_a_user_are_reported_when_both_are_pending(client, db, maker):
    by_username = await submit(client, maker, "create_user", user_payload(username="both-keys"))
    by_email = await submit(client, maker, "create_user", user_payload(email="both-keys@example.com"))

    response = await _post(
        client, maker, "create_user", user_payload(username="both-keys", email="both-keys@example.com")
    )

    assert response.status_code == 409, response.text
    details = {detail["field"]: detail["message"] for detail in response.json()["details"]}
    assert by_username["id"] in details["username"]
    assert by_email["id"] in details["email"]
    assert response.json()["pendingActionId"] in {by_username["id"], by_email["id"]}


async def _reject(client, checker: Actor, action: dict[str, Any]) -> None:
    response = await review(client, checker, action["id"], "rejected", "Not now")
    assert response.status_code == 200, response.text


async def _cancel(db, action: dict[str, Any]) -> None:
    # disabling a maker cancels their pending actions (the only way an action is cancelled here)
    async with db.sessions() as session, session.begin():
        await service.cancel_pending_actions_of(session=session, maker_id=action["makerId"], reason="test")


@pytest.mark.parametrize("case", ["username", "email", "account number", "promotion code"])
@pytest.mark.parametrize("decide", ["rejected", "cancelled"])
async def test_the_key_is_free_again_once_the_pending_one_is_decided(
    client, db, maker, checker, case, decide
):
    action_type, first, second, _, _ = _cases(maker)[case]
    pending = await submit(client, maker, action_type, first)
    if decide == "rejected":
        await _reject(client, checker, pending)
    else:
        await _cancel(db, pending)

    again = await submit(client, maker, action_type, second)

    assert again["status"] == "pending"
    assert again["id"] != pending["id"]


async def test_different_keys_are_not_held_up(client, db, maker):
    for payload in (user_payload(), user_payload(), user_payload()):
        await submit(client, maker, "create_user", payload)
    await submit(client, maker, "create_promotion", promotion_payload(code="DIFF-ONE"))
    await submit(client, maker, "create_promotion", promotion_payload(code="DIFF-TWO"))
    await submit(client, maker, "create_account", account_payload(maker.id, accountNumber="DIFFACC1"))
    await submit(client, maker, "create_account", account_payload(maker.id, accountNumber="DIFFACC2"))
    # a username and an email are keys of different kinds: the same text in each does not clash
    await submit(client, maker, "create_user", user_payload(username="kinds"))
    await submit(client, maker, "create_user", user_payload(email="kinds@example.com"))
    assert await _pending_count(db) == 9


async def test_a_type_without_keys_takes_any_number_of_pending_requests(client, db):
    admin = await make_actor(db, "admin")
    target = await make_actor(db, "maker")
    for name in ("First Name", "Second Name"):
        await submit(client, admin, "update_user", {"userId": target.id, "fullName": name})
    assert await _pending_count(db) == 2


async def test_a_pending_key_is_not_taken_by_the_decided_ones(client, db, maker, checker):
    """Many decided actions with one key leave it free: only the pending one counts."""
    for _ in range(3):
        pending = await submit(client, maker, "create_promotion", promotion_payload(code="MANY-TIMES"))
        await _reject(client, checker, pending)
    last = await submit(client, maker, "create_promotion", promotion_payload(code="MANY-TIMES"))
    response = await _post(client, maker, "create_promotion", promotion_payload(code="MANY-TIMES"))
    assert response.status_code == 409
    assert response.json()["pendingActionId"] == last["id"]


async def test_the_openapi_description_documents_the_409(client):
    schema = (await client.get("/schema/openapi.json")).json()
    answers = schema["paths"]["/api/workflow/actions"]["post"]["responses"]
    content = answers["409"]["content"]["application/json"]["schema"]
    if "$ref" in content:
        content = schema["components"]["schemas"][content["$ref"].rsplit("/", 1)[1]]
    assert {"error", "details", "pendingActionId"} <= set(content["properties"])


async def test_a_key_freed_between_the_refusal_and_the_look_up_is_taken_on_a_second_try(
    client, db, maker, monkeypatch
):
    """The insert found the key held; before the holder could be named it was decided: try again."""
    pending = await submit(client, maker, "create_promotion", promotion_payload(code="FREED-MEANWHILE"))
    real = service._PENDING_HOLDERS

    class DecidedFirst:
        async def fetch(self, connection, **keys):
            # the submission's own connection: the API submits in autocommit mode, so this commits
            await connection.execute(
                "UPDATE workflow_actions SET status = 'rejected' WHERE id = $1", uuid.UUID(pending["id"])
            )
            return await real.fetch(connection, **keys)

    monkeypatch.setattr(service, "_PENDING_HOLDERS", DecidedFirst())

    again = await submit(client, maker, "create_promotion", promotion_payload(code="FREED-MEANWHILE"))

    assert again["id"] != pending["id"]
    assert await _pending_count(db) == 1
