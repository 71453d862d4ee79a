import hashlib
from datetime import timedelta

import pytest
from sqlmodel import func, select, update

from app.actions import REGISTRY
from app.actions.base import ActionRefused
from app.actions.create_user import ACTIVATION_TTL, CreateUserPayload
from app.models import ActivationToken, OutboundEmail, Role, User, utcnow
from app.settings import get_settings
from tests.factories import execution_context, make_actor, review, submit, user_payload
from tests.factories import field_errors as errors_for

pytestmark = pytest.mark.anyio

ACTION = REGISTRY["create_user"]
BASE = {"email": "ana@example.com", "username": "ana", "fullName": "Ana Lopez"}


def field_errors(raw: dict) -> dict[str, str]:
    return errors_for(ACTION, raw)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {},
            {"email": "ana@example.com", "username": "ana", "full_name": "Ana Lopez", "roles": [Role.MAKER]},
        ),
        ({"email": "  Ana@Example.COM "}, {"email": "ana@example.com"}),
        ({"username": " Ana.Lopez-1_x "}, {"username": "ana.lopez-1_x"}),
        ({"username": "a" * 50}, {"username": "a" * 50}),
        ({"username": "0ab"}, {"username": "0ab"}),
        ({"fullName": "  Ana  "}, {"full_name": "Ana"}),
        ({"roles": ["checker"]}, {"roles": [Role.CHECKER]}),
        ({"roles": ["admin", "maker", "maker"]}, {"roles": [Role.MAKER, Role.ADMIN]}),
        ({"full_name": "By field name"}, {"full_name": "By field name"}),
    ],
)
def test_valid_payloads_are_normalised(overrides, expected):
    raw = BASE | overrides
    if "full_name" in overrides:
        raw.pop("fullName")
    payload = ACTION.parse(raw)
    assert isinstance(payload, CreateUserPayload)
    for name, value in expected.items():
        assert getattr(payload, name) == value


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": "space in@example.com"}, "email"),
        ({"email": "a@" + "b" * 250 + ".com"}, "email"),
        ({"email": 42}, "email"),
        ({"username": "ab"}, "username"),
        ({"username": "a" * 51}, "username"),
        ({"username": "-ana"}, "username"),
        ({"username": "ana lopez"}, "username"),
        ({"username": "ana@home"}, "username"),
        ({"username": ""}, "username"),
        ({"username": 123}, "username"),
        ({"fullName": ""}, "fullName"),
        ({"fullName": "   "}, "fullName"),
        ({"fullName": "x" * 201}, "fullName"),
        ({"fullName": "nul\x00char"}, "fullName"),
        ({"roles": []}, "roles"),
        ({"roles": "maker"}, "roles"),
        ({"roles": ["root"]}, "roles.0"),
        ({"password": "secret-secret"}, "password"),
    ],
)
def test_invalid_payloads_name_the_field(overrides, field):
    raw = {key: value for key, value in (BASE | overrides).items() if value is not None}
    errors = field_errors(raw)
    assert field in errors, errors
    assert errors[field]


@pytest.mark.parametrize("missing", ["email", "username", "fullName"])
def test_missing_fields_are_required(missing):
    raw = {key: value for key, value in BASE.items() if key != missing}
    assert field_errors(raw) == {missing: "Required"}


def test_unknown_field_message():
    assert field_errors(BASE | {"isAdmin": True}) == {"isAdmin": "Unknown field"}


def test_bad_email_uses_the_plain_words_hint():
    assert field_errors(BASE | {"email": "nope"}) == {
        "email": "Give an email address such as ana@example.com"
    }


def test_payload_json_is_camel_case():
    assert ACTION.parse(BASE).to_json() == {
        "email": "ana@example.com",
        "username": "ana",
        "fullName": "Ana Lopez",
        "roles": ["maker"],
    }


async def test_summary_names_the_user_and_roles(db):
    async with db.sessions() as session:
        summary = await ACTION.summarize(session, ACTION.parse(BASE | {"roles": ["maker", "checker"]}))
    assert summary == "Create user ana (Ana Lopez, ana@example.com) as maker, checker"


async def test_execute_creates_the_user_and_an_activation_token(db, maker, checker, monkeypatch):
    monkeypatch.setenv("PUBLIC_URL", "https://mc.example/")
    get_settings.cache_clear()
    payload = ACTION.parse(BASE | {"roles": ["maker", "checker"]})
    async with db.sessions() as session, session.begin():
        ctx = execution_context(session, maker, checker)
        before = utcnow()
        result = await ACTION.execute(ctx, payload)
    async with db.sessions() as session:
        mail = (await session.exec(select(OutboundEmail))).one()
    assert mail.to_address == "ana@example.com"
    assert mail.sent_at is None  # queued with the change; sent once it commits
    url = next(word for word in mail.body.split() if "/activate/" in word)
    assert url.startswith("https://mc.example/activate/")
    token = url.rsplit("/", 1)[1]
    assert token not in str(result)
    assert result["activationSentTo"] == "ana@example.com"
    async with db.sessions() as session:
        user = (await session.exec(select(User).where(User.username == "ana"))).one()
        activation = (
            await session.exec(select(ActivationToken).where(ActivationToken.user_id == user.id))
        ).one()
    assert result["userId"] == str(user.id)
    assert result["username"] == "ana"
    assert user.email == "ana@example.com"
    assert user.full_name == "Ana Lopez"
    assert user.roles == ["maker", "checker"]
    assert user.password_hash is None
    assert user.is_active
    assert activation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert activation.used_at is None
    assert before + ACTIVATION_TTL - timedelta(minutes=1) < activation.expires_at
    assert activation.expires_at < utcnow() + ACTIVATION_TTL + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("holder", "holder_email", "field"), [("ana", None, "username"), ("bob", "ANA@example.com", "email")]
)
async def test_execute_refuses_a_taken_username_or_email(db, maker, checker, holder, holder_email, field):
    await make_actor(db, "maker", username=holder)
    if holder_email:
        async with db.sessions() as session, session.begin():
            await session.exec(update(User).where(User.username == holder).values(email=holder_email))
    payload = ACTION.parse(BASE)
    async with db.sessions() as session, session.begin():
        ctx = execution_context(session, maker, checker)
        with pytest.raises(ActionRefused) as refused:
            await ACTION.execute(ctx, payload)
        count = (await session.exec(select(func.count()).select_from(User))).one()
        mails = (await session.exec(select(func.count()).select_from(OutboundEmail))).one()
    assert refused.value.field == field
    assert "already" in refused.value.message
    assert count == 3  # maker, checker and the holder of the name: nobody new
    assert mails == 0


async def test_submission_refuses_a_username_taken_already(client, db, maker):
    await make_actor(db, "maker", username="taken-name")
    response = await client.post(
        "/api/workflow/actions",
        json={"actionType": "create_user", "payload": user_payload(username="Taken-Name")},
        headers=maker.headers,
    )
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "The payload conflicts with current data",
        "details": [{"field": "username", "message": "The username taken-name is already taken"}],
    }


async def test_submission_refuses_an_email_in_use_whatever_its_case(client, db, maker):
    await make_actor(db, "maker", username="holder")
    response = await client.post(
        "/api/workflow/actions",
        json={"actionType": "create_user", "payload": user_payload(email="HOLDER@test.example")},
        headers=maker.headers,
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "email", "message": "The email holder@test.example is already in use"}
    ]


async def test_approval_through_the_api_executes_once(client, db, maker, checker):
    action = await submit(client, maker, "create_user", user_payload(username="via-api", roles=["checker"]))
    assert action["payload"]["username"] == "via-api"
    response = await review(client, checker, action["id"])
    assert response.status_code == 200, response.text
    result = response.json()["data"]["executionResult"]
    async with db.sessions() as session:
        user = (await session.exec(select(User).where(User.username == "via-api"))).one()
    assert result["userId"] == str(user.id)
    assert user.roles == ["checker"]
    stored = (await client.get(f"/api/workflow/actions/{action['id']}", headers=maker.headers)).json()["data"]
    assert stored["executionResult"]["userId"] == str(user.id)
    assert "activationUrl" not in stored["executionResult"]  # only the new user's mail holds the link


async def test_email_taken_since_submission_refuses_the_approval(client, db, maker, checker):
    action = await submit(client, maker, "create_user", user_payload(email="late@example.com"))
    async with db.sessions() as session, session.begin():
        await session.exec(update(User).where(User.id == checker.user.id).values(email="late@example.com"))
    response = await review(client, checker, action["id"])
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "The action cannot be executed: The email late@example.com is already in use",
    }
    stored = (await client.get(f"/api/workflow/actions/{action['id']}", headers=maker.headers)).json()["data"]
    assert stored["status"] == "pending"
    assert stored["error"] == "The email late@example.com is already in use"
