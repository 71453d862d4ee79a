"""One mailbox, one identity (issue 8 item 2): create_user takes a bare address only, stores it in one
spelling, refuses another user's mailbox however it is written, and shows the checker where the link goes."""

import pytest
from sqlalchemy import text

from tests.factories import make_actor, review, submit, user_payload

pytestmark = pytest.mark.anyio

ACTIONS = "/api/workflow/actions"
BARE_EMAIL_HINT = "Give the address alone, such as ana@example.com: no name, angle brackets or quotes"
TRAILING_DOT_HINT = "Remove the dot at the end of the address"
EMAIL_HINT = "Give an email address such as ana@example.com"


async def _rows(db, statement: str, **params):
    async with db.engine.begin() as conn:
        result = await conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("<victim@demo.example>", BARE_EMAIL_HINT),
        ('"Jane"<victim@demo.example>', BARE_EMAIL_HINT),
        ("Jane <victim@demo.example>", BARE_EMAIL_HINT),
        ("victim(comment)@demo.example", BARE_EMAIL_HINT),
        ('"victim"@demo.example', BARE_EMAIL_HINT),
        ("victim@demo.example.", TRAILING_DOT_HINT),
        ("victim@demo..example", EMAIL_HINT),
        ("victim @demo.example", EMAIL_HINT),
        ("vic\ttim@demo.example", EMAIL_HINT),
        (".victim@demo.example", EMAIL_HINT),
        ("vic..tim@demo.example", EMAIL_HINT),
        ("victim@[127.0.0.1]", EMAIL_HINT),
        ("victim@-demo.example", EMAIL_HINT),
        ("victim@demo", EMAIL_HINT),
        ("victim@demo.example,other@demo.example", EMAIL_HINT),
    ],
)
async def test_an_address_that_is_not_bare_is_a_400_naming_the_email_field(client, db, maker, email, message):
    response = await client.post(
        ACTIONS,
        json={"actionType": "create_user", "payload": user_payload(email=email)},
        headers=maker.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["details"] == [{"field": "email", "message": message}]
    assert await _rows(db, "SELECT id FROM workflow_actions") == []


async def test_the_address_is_stored_in_one_spelling(client, db, maker, checker):
    action = await submit(
        client, maker, "create_user", user_payload(username="ana.l", email="  Ana.Lopez+HR@Example.COM ")
    )
    assert action["payload"]["email"] == "ana.lopez+hr@example.com"
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    assert await _rows(db, "SELECT email FROM users WHERE username = 'ana.l'") == [
        ("ana.lopez+hr@example.com",)
    ]


async def test_another_users_mailbox_in_other_case_is_refused_at_submission(client, db, maker):
    existing = await make_actor(db, "checker", username="victim")  # victim@test.example
    response = await client.post(
        ACTIONS,
        json={"actionType": "create_user", "payload": user_payload(email=" VICTIM@Test.Example")},
        headers=maker.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["details"] == [
        {"field": "email", "message": f"The email {existing.user.email} is already in use"}
    ]


async def test_another_users_mailbox_taken_meanwhile_is_refused_at_execution(client, db, maker, checker):
    action = await submit(
        client, maker, "create_user", user_payload(username="late", email="late@example.com")
    )
    await make_actor(db, "maker", username="late.other")
    await _rows(db, "UPDATE users SET email = 'late@example.com' WHERE username = 'late.other'")

    response = await review(client, checker, action["id"])

    assert response.status_code == 409, response.text
    assert "already in use" in response.json()["error"]
    assert await _rows(db, "SELECT username FROM users WHERE email = 'late@example.com'") == [("late.other",)]
    assert await _rows(db, "SELECT status FROM workflow_actions") == [("pending",)]
    assert await _rows(db, "SELECT id FROM outbound_emails") == []


async def test_a_look_alike_stored_before_these_rules_is_refused_at_execution(client, db, maker, checker):
    # a pending action submitted under the old, looser rules: it reaches the maker's own mailbox
    action = await submit(client, maker, "create_user", user_payload(username="sneaky"))
    sneaky = f"<{maker.user.email}>"
    await _rows(
        db,
        "UPDATE workflow_actions SET payload = jsonb_set(payload, '{email}', to_jsonb(CAST(:email AS text)))",
        email=sneaky,
    )

    response = await review(client, checker, action["id"])

    assert response.status_code == 409, response.text
    assert await _rows(db, "SELECT id FROM users WHERE username = 'sneaky'") == []
    assert await _rows(db, "SELECT id FROM outbound_emails") == []
