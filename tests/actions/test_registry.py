import pytest

from app.actions import REGISTRY, get_action_type
from app.actions.base import ActionType, Payload
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
