from pathlib import Path

import pytest

from app.actions import REGISTRY, get_action_type
from app.actions.base import ActionType, Payload

HERE = Path(__file__).parent

SAMPLES = {
    "create_user": {"email": "ana@example.com", "username": "ana", "fullName": "Ana"},
    "create_account": {
        "userId": "7d0b9a58-3c1e-4a57-9f0c-2f5f0e1b2c3d",
        "accountNumber": "ACC123456",
        "accountType": "savings",
        "balance": "1.00",
        "currency": "EUR",
    },
    "create_promotion": {
        "code": "ABC",
        "name": "A",
        "discountType": "fixed",
        "discountValue": "1",
        "startDate": "2027-01-01",
        "endDate": "2027-01-02",
    },
}


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
def test_registered_type_has_a_sample_here_that_it_summarises(name):
    assert name in SAMPLES, f"add a valid sample payload for {name} to SAMPLES"
    action_type = REGISTRY[name]
    summary = action_type.summarize(action_type.parse(SAMPLES[name]))
    assert isinstance(summary, str)
    assert summary.strip()
    assert "\n" not in summary
    assert action_type.summary_of(action_type.parse(SAMPLES[name]).to_json()) == summary


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_registered_type_refuses_unknown_fields(name):
    action_type = REGISTRY[name]
    with pytest.raises(ValueError) as caught:
        action_type.parse(SAMPLES.get(name, {}) | {"surprise": 1})
    assert action_type.errors_of(caught.value)["surprise"] == "Unknown field"


def test_unknown_type_is_none():
    assert get_action_type("transfer_everything") is None
