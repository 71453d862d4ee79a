import pytest

from app.actions import REGISTRY, get_action_type
from app.actions.base import ActionType, Payload
from app.models import PENDING_KEY_COLUMNS
from app.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates"
TYPE_TESTS = PROJECT_ROOT / "tests" / "actions"
"""Where each type's own test module lives (README, "Adding an action type")."""


def test_the_tutorial_types_are_registered():
    assert {"create_user", "create_account", "create_promotion"} <= set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_is_complete(name):
    kind = REGISTRY[name]
    assert isinstance(kind, ActionType)
    assert kind.name == name
    assert get_action_type(name) is kind
    assert kind.label.strip()
    assert issubclass(kind.payload_model, Payload)
    assert callable(kind.summarize)
    assert callable(kind.check_current_data)
    assert callable(kind.apply)
    assert kind.form_template == f"actions/{name}/_fields.html"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_has_its_own_test_module(name):
    assert (TYPE_TESTS / f"test_{name}.py").is_file(), f"write tests/actions/test_{name}.py"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_has_its_templates(name):
    kind = REGISTRY[name]
    for template in (kind.form_template, kind.detail_template):
        assert (TEMPLATES / template).is_file(), f"write templates/{template}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_carries_a_valid_sample(name):
    kind = REGISTRY[name]
    parsed = kind.parse(kind.sample)
    assert kind.parse(parsed.to_json()) == parsed


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_refuses_unknown_fields(name):
    kind = REGISTRY[name]
    with pytest.raises(ValueError) as caught:
        kind.parse(kind.sample | {"surprise": 1})
    assert kind.errors_of(caught.value)["surprise"] == "Unknown field"


def test_unknown_type_is_none():
    assert get_action_type("transfer_everything") is None


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_has_room_for_its_unique_keys_and_reports_them_on_its_fields(name):
    kind = REGISTRY[name]
    assert len(kind.unique_keys) <= len(PENDING_KEY_COLUMNS)
    payload = kind.parse(kind.sample)
    fields = set(payload.to_json())
    for key in kind.unique_keys:
        assert key.field in fields, f"{name}'s key {key.name} names no field of its payload"
        assert key.stored(payload).startswith(f"{key.name}:")


def test_a_key_of_one_name_sits_in_one_column_whatever_the_type():
    """The index compares a column with itself: two types' emails clash only in the same column."""
    columns: dict[str, set[int]] = {}
    for kind in REGISTRY.values():
        for position, key in enumerate(kind.unique_keys):
            columns.setdefault(key.name, set()).add(position)
    assert all(len(positions) == 1 for positions in columns.values()), columns


def test_the_declared_keys():
    declared = {name: [key.name for key in kind.unique_keys] for name, kind in REGISTRY.items()}
    assert declared == {
        "create_user": ["username", "email"],
        "create_account": ["account number"],
        "create_promotion": ["promotion code"],
        "resend_activation": ["activation link of user"],
        "update_user": [],
        "transfer_funds": [],  # any number of transfers may wait; funds are checked at execution
        "update_policy": [],  # a change made against a replaced version is refused instead (baseVersion)
        # none: a change made against an older version of its record is refused as stale instead
        "update_account_status": [],
        "update_promotion": [],
        "close_account": [],
    }


def test_keys_are_stored_as_the_type_normalises_them():
    user = REGISTRY["create_user"].parse(
        {"username": " Ana.Lopez ", "email": "Ana@Example.COM", "fullName": "Ana", "roles": ["maker"]}
    )
    assert REGISTRY["create_user"].pending_keys(user) == {
        "unique_key_1": "username:ana.lopez",
        "unique_key_2": "email:ana@example.com",
    }
    promotion = REGISTRY["create_promotion"].parse(
        REGISTRY["create_promotion"].sample | {"code": " spring-10 "}
    )
    assert REGISTRY["create_promotion"].pending_keys(promotion) == {
        "unique_key_1": "promotion code:SPRING-10",
        "unique_key_2": None,
    }
