"""People through the JSON API (issue 9 item 8, issue 8 item 10): the admin's users and undelivered
mail, and every user's own API tokens; each route authorised on the server."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.mail import MAX_ATTEMPTS
from tests.factories import make_actor, submit

pytestmark = pytest.mark.anyio

USERS, OUTBOX, TOKENS = "/api/admin/users", "/api/admin/outbox", "/api/account/tokens"


async def _rows(db, statement: str, **params):
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


@pytest.fixture
async def admin(db):
    return await make_actor(db, "admin")


@pytest.mark.parametrize("path", [USERS, OUTBOX])
async def test_admin_lists_are_for_admins_only(client, db, maker, checker, path):
    assert (await client.get(path)).status_code == 401
    for actor in (maker, checker):
        response = await client.get(path, headers=actor.headers)
        assert response.status_code == 403, response.text
        assert response.json()["success"] is False


async def test_users_list_roles_status_last_login_and_pending_changes(client, db, admin, maker):
    waiting = await make_actor(db, "checker")
    gone = await make_actor(db, "maker")
    await _rows(
        db, "UPDATE users SET password_hash = 'set' WHERE id IN (:a, :b)", a=admin.user.id, b=maker.user.id
    )
    await _rows(db, "UPDATE users SET is_active = false WHERE id = :id", id=gone.user.id)
    await _rows(
        db, "UPDATE users SET last_login_at = '2026-11-20T08:00:00Z' WHERE id = :id", id=maker.user.id
    )
    change = await submit(client, admin, "update_user", {"userId": maker.id, "roles": ["maker", "checker"]})
    resend = await submit(client, admin, "resend_activation", {"userId": waiting.id})

    response = await client.get(USERS, headers=admin.headers)

    assert response.status_code == 200, response.text
    by_name = {user["username"]: user for user in response.json()["data"]}
    assert {name: user["status"] for name, user in by_name.items()} == {
        admin.user.username: "active",
        maker.user.username: "active",
        waiting.user.username: "awaiting activation",
        gone.user.username: "inactive",
    }
    mine = by_name[maker.user.username]
    assert mine["roles"] == ["maker"]
    assert mine["lastLoginAt"].startswith("2026-11-20T08:00:00")
    assert by_name[waiting.user.username]["lastLoginAt"] is None
    assert mine["pendingActions"] == [
        {"id": change["id"], "actionType": "update_user", "summary": change["summary"]}
    ]
    assert [a["id"] for a in by_name[waiting.user.username]["pendingActions"]] == [resend["id"]]
    assert by_name[gone.user.username]["pendingActions"] == []


async def test_outbox_lists_only_mail_that_failed_five_times_with_its_recipient(client, db, admin):
    waiting = await make_actor(db, "maker")
    for address, attempts, sent in [
        (waiting.user.email, MAX_ATTEMPTS, False),
        ("nobody@elsewhere.example", MAX_ATTEMPTS, False),
        ("retrying@elsewhere.example", MAX_ATTEMPTS - 1, False),
        ("delivered@elsewhere.example", MAX_ATTEMPTS, True),
    ]:
        await _rows(
            db,
            "INSERT INTO outbound_emails (id, to_address, subject, body, attempts, last_error,"
            " created_at, sent_at) VALUES (:id, :to, 'Activate your account', 'secret link', :attempts,"
            " 'Connection refused', now(), CASE WHEN :sent THEN now() END)",
            id=uuid.uuid4(),
            to=address,
            attempts=attempts,
            sent=sent,
        )

    response = await client.get(OUTBOX, headers=admin.headers)

    assert response.status_code == 200, response.text
    data = {item["toAddress"]: item for item in response.json()["data"]}
    assert set(data) == {waiting.user.email, "nobody@elsewhere.example"}
    failed = data[waiting.user.email]
    assert (failed["attempts"], failed["lastError"], failed["subject"]) == (
        5,
        "Connection refused",
        "Activate your account",
    )
    assert failed["user"]["id"] == waiting.id
    assert failed["user"]["status"] == "awaiting activation"
    assert data["nobody@elsewhere.example"]["user"] is None
    assert "secret link" not in response.text  # a body may hold a one-time link: never listed


async def test_a_user_creates_lists_and_revokes_their_own_tokens(client, db, maker):
    created = await client.post(TOKENS, json={"name": "  nightly report "}, headers=maker.headers)
    assert created.status_code == 201, created.text
    token = created.json()["data"]
    assert token["name"] == "nightly report"
    assert token["token"].startswith("mc_")
    new_headers = {"Authorization": f"Bearer {token['token']}"}

    assert (await client.get("/api/workflow/actions", headers=new_headers)).status_code == 200
    listed = (await client.get(TOKENS, headers=new_headers)).json()["data"]
    assert [t["name"] for t in listed] == ["nightly report", "test"]
    assert listed[0]["lastUsedAt"] is not None
    assert token["token"] not in str(listed)  # shown once, at creation

    revoked = await client.post(f"{TOKENS}/{token['id']}/revoke", headers=maker.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["data"]["revokedAt"] is not None
    assert (await client.get("/api/workflow/actions", headers=new_headers)).status_code == 401
    events = await _rows(
        db, "SELECT event_type FROM audit_events WHERE actor_id = :id ORDER BY id", id=maker.user.id
    )
    assert [e for (e,) in events] == ["api_token_created", "api_token_revoked"]


async def test_another_users_tokens_are_neither_listed_nor_revocable(client, db, maker, checker):
    theirs = (await _rows(db, "SELECT id FROM api_tokens WHERE user_id = :id", id=checker.user.id))[0][0]
    listed = (await client.get(TOKENS, headers=maker.headers)).json()["data"]
    assert str(theirs) not in str(listed)
    for token_id in (theirs, uuid.uuid4(), "not-a-uuid"):
        response = await client.post(f"{TOKENS}/{token_id}/revoke", headers=maker.headers)
        assert response.status_code == 404, response.text
    assert (await client.get("/api/workflow/actions", headers=checker.headers)).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
        ({"name": "a", "admin": True}, None),
    ],
)
async def test_a_bad_token_request_is_a_400(client, db, maker, body, field):
    response = await client.post(TOKENS, json=body, headers=maker.headers)
    assert response.status_code == 400, response.text
    if field:
        assert field in {detail["field"] for detail in response.json().get("details", [])}
    assert await _rows(db, "SELECT count(*) FROM api_tokens WHERE user_id = :id", id=maker.user.id) == [(1,)]


async def test_token_use_is_noted_at_most_once_a_minute(client, db, maker):
    await client.get(TOKENS, headers=maker.headers)
    [(first,)] = await _rows(db, "SELECT last_used_at FROM api_tokens WHERE user_id = :id", id=maker.user.id)
    assert first is not None
    await client.get(TOKENS, headers=maker.headers)
    assert await _rows(db, "SELECT last_used_at FROM api_tokens WHERE user_id = :id", id=maker.user.id) == [
        (first,)
    ]
    await _rows(
        db,
        "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE user_id = :id",
        id=maker.user.id,
    )
    await client.get(TOKENS, headers=maker.headers)
    [(later,)] = await _rows(db, "SELECT last_used_at FROM api_tokens WHERE user_id = :id", id=maker.user.id)
    assert later > first


async def test_outbox_says_when_a_later_message_to_the_address_was_delivered(client, db, admin):
    waiting = await make_actor(db, "maker")
    for attempts, age, sent in [(MAX_ATTEMPTS, timedelta(hours=2), False), (1, timedelta(hours=1), True)]:
        await _rows(
            db,
            "INSERT INTO outbound_emails (id, to_address, subject, attempts, created_at, sent_at)"
            " VALUES (:id, :to, 'Activate your account', :attempts, CAST(:created AS timestamptz),"
            " CASE WHEN :sent THEN now() END)",
            id=uuid.uuid4(),
            to=waiting.user.email,
            attempts=attempts,
            created=datetime.now(UTC) - age,
            sent=sent,
        )
    [failed] = (await client.get(OUTBOX, headers=admin.headers)).json()["data"]
    assert failed["attempts"] == MAX_ATTEMPTS
    assert failed["deliveredLater"] is not None


@pytest.mark.parametrize("path", [USERS, OUTBOX, TOKENS])
async def test_a_deactivated_users_token_opens_no_people_route(client, db, path):
    admin = await make_actor(db, "admin", "maker")
    await _rows(db, "UPDATE users SET is_active = false WHERE id = :id", id=admin.user.id)
    assert (await client.get(path, headers=admin.headers)).status_code == 401
