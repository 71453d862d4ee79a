"""The rules shared across action types and the CLI: identity, NUL-free text, the "already taken" check."""

import typing

import pytest
from pydantic import BaseModel, ValidationError
from sqlmodel import select

from app.accounts import identity
from app.accounts.identity import identity_conflicts, identity_problems, parse_roles
from app.actions import REGISTRY
from app.actions.create_user import CreateUserPayload
from app.db import exists
from app.errors import InvalidInput
from app.models import Promotion, User
from app.text import NUL_REFUSED, Text
from app.workflow.schemas import ReviewIn
from tests.factories import make_actor

pytestmark = pytest.mark.anyio


def test_the_create_user_payload_takes_its_identity_fields_from_the_accounts_module():
    hints = typing.get_type_hints(CreateUserPayload, include_extras=True)
    assert hints["username"] is identity.Username
    assert hints["email"] is identity.Email
    assert hints["full_name"] is identity.FullName
    assert CreateUserPayload.format_hints == identity.FORMAT_HINTS


@pytest.mark.parametrize(
    ("username", "email", "full_name", "problems"),
    [
        (" Ana.Lopez ", "ANA@example.com", "Ana", {}),
        ("-ana", "ana@example.com", None, {"username": identity.USERNAME_HINT}),
        ("ana", "ana@", None, {"email": identity.EMAIL_HINT}),
        ("ana\x00", "ana@example.com", None, {"username": NUL_REFUSED}),
        ("ana", "ana@example.com", "x" * 201, {"fullName": "Use at most 200 characters"}),
    ],
)
def test_identity_problems_apply_the_payload_rules(username, email, full_name, problems):
    assert identity_problems(username, email, full_name) == problems
    # the create_user action refuses exactly the same
    raw = {"username": username, "email": email, "fullName": full_name or "Someone"}
    assert field_errors_or_none(raw) == (problems or None)


def field_errors_or_none(raw: dict) -> dict[str, str] | None:
    kind = REGISTRY["create_user"]
    try:
        kind.parse(raw)
    except ValidationError as exc:
        return kind.errors_of(exc)
    return None


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("maker", ["maker"]),
        ("Checker, maker,maker", ["maker", "checker"]),
        ("admin,checker", ["checker", "admin"]),
    ],
)
def test_parse_roles_orders_and_deduplicates(text, roles):
    assert parse_roles(text) == roles


@pytest.mark.parametrize("text", ["", " , ", "root", "maker,root"])
def test_parse_roles_refuses_unknown_or_none(text):
    with pytest.raises(InvalidInput):
        parse_roles(text)


async def test_identity_conflicts_and_exists(db):
    await make_actor(db, "maker", username="rex")
    async with db.sessions() as session:
        rex = (await session.exec(select(User).where(User.username == "rex"))).one()
        assert await exists(session, User.username == "rex")
        assert not await exists(session, User.username == "nobody")
        assert not await exists(session, Promotion.code == "ANY")
        assert await identity_conflicts(session, username=" REX ", email="new@example.com") == {
            "username": "The username rex is already taken"
        }
        assert await identity_conflicts(session, username="new", email=rex.email.upper()) == {
            "email": f"The email {rex.email} is already in use"
        }
        assert await identity_conflicts(session, username="new", email="new@example.com") == {}


def _field_types(model: type[BaseModel]) -> dict[str, str]:
    """Each field's annotation and metadata, as text."""
    return {name: f"{info.annotation!r} {info.metadata!r}" for name, info in model.model_fields.items()}


@pytest.mark.parametrize("model", [kind.payload_model for kind in REGISTRY.values()] + [ReviewIn])
def test_every_text_field_refuses_nul(model):
    text_fields = {name: shape for name, shape in _field_types(model).items() if "str" in shape}
    for name, shape in text_fields.items():
        assert "_refuse_nul" in shape, f"{model.__name__}.{name} is not app.text.Text: {shape}"


def test_the_text_field_check_sees_text_fields():
    """A payload of ids only (resend_activation) has no text field; the tutorial's types do."""
    for name in ("create_user", "create_account", "create_promotion"):
        assert any("str" in shape for shape in _field_types(REGISTRY[name].payload_model).values())


def test_text_refuses_nul_first():
    class Sample(BaseModel):
        value: Text

    with pytest.raises(ValueError, match=NUL_REFUSED):
        Sample(value="a\x00b")
    assert Sample(value="ab").value == "ab"
