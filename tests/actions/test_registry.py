from pathlib import Path

import pytest

from app.actions import REGISTRY, get_action_type
from app.actions.base import ActionType, Payload

HERE = Path(__file__).parent

TEMPLATES = HERE.parents[2] / "templates"


def test_the_tutorial_types_are_registered():
    assert {"create_user", "create_account", "create_promotion"} <= set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_is_complete(name):
    action_type = REGISTRY[name]
    assert isinstance(action_type, ActionType)
    assert action_type.name == name
    assert get_action_type(name) is action_type
    assert action_type.label.strip()
    assert issubclass(action_type.payload_model, Payload)
    assert callable(action_type.summarize)
    assert callable(action_type.check_current_data)
    assert callable(action_type.apply)
    assert action_type.form_template == f"actions/{name}/_fields.html"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_has_its_own_test_module(name):
    assert (HERE / f"test_{name}.py").is_file(), f"write tests/unit/actions/test_{name}.py"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_has_its_templates(name):
    action_type = REGISTRY[name]
    for template in (action_type.form_template, action_type.detail_template):
        assert (TEMPLATES / template).is_file(), f"write templates/{template}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_carries_a_valid_sample(name):
    action_type = REGISTRY[name]
    parsed = action_type.parse(action_type.sample)
    assert action_type.parse(parsed.to_json()) == parsed


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_refuses_unknown_fields(name):
    action_type = REGISTRY[name]
    with pytest.raises(ValueError) as caught:
        action_type.parse(action_type.sample | {"surprise": 1})
    assert action_type.errors_of(caught.value)["surprise"] == "Unknown field"


def test_unknown_type_is_none():
    assert get_action_type("transfer_everything") is None
