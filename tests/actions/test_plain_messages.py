"""Validation messages a person reads under a field: plain words, never the validator's own text."""

import re
import uuid

import pytest
from litestar.datastructures import FormMultiDict

from app.actions import REGISTRY
from app.workflow.inputs import payload_from_form
from tests.factories import field_errors

USER = {"email": "ana@example.com", "username": "ana", "fullName": "Ana Lopez"}
ACCOUNT = {
    "userId": str(uuid.uuid4()),
    "accountNumber": "ACC123456",
    "accountType": "savings",
    "balance": "10.00",
    "currency": "EUR",
}
PROMOTION = {
    "code": "SPRING10",
    "name": "Spring",
    "discountType": "percentage",
    "discountValue": "10",
    "startDate": "2027-03-01",
    "endDate": "2027-03-31",
}
VALIDATOR_WORDS = re.compile(
    r"should|Input|String|Value error|payload|UUID|Decimal|valid (date|datetime|list)"
)


@pytest.mark.parametrize(
    ("action_type", "raw", "field", "expected"),
    [
        ("create_user", USER | {"username": "ab"}, "username", "Use at least 3 characters"),
        ("create_user", USER | {"username": "a" * 51}, "username", "Use at most 50 characters"),
        ("create_user", USER | {"fullName": "x" * 201}, "fullName", "Use at most 200 characters"),
        ("create_user", USER | {"fullName": "   "}, "fullName", "Required"),
        ("create_user", USER | {"username": 123}, "username", "Give text"),
        ("create_user", USER | {"roles": []}, "roles", "Choose at least one role"),
        ("create_user", USER | {"roles": ["root"]}, "roles.0", "Choose one of: maker, checker, admin"),
        ("create_user", USER | {"roles": "maker"}, "roles", "Give a list"),
        ("create_account", ACCOUNT | {"userId": "not-a-uuid"}, "userId", "Choose an existing user"),
        (
            "create_account",
            ACCOUNT | {"accountType": "loan"},
            "accountType",
            "Choose one of: savings, checking, investment",
        ),
        (
            "create_promotion",
            PROMOTION | {"discountType": "bogo"},
            "discountType",
            "Choose one of: percentage, fixed",
        ),
        (
            "create_promotion",
            PROMOTION | {"startDate": "next week"},
            "startDate",
            "Give a date such as 2027-03-01 or a date and time such as 2027-03-01T09:30:00Z",
        ),
        (
            "create_promotion",
            PROMOTION | {"startDate": "2027-02-30"},
            "startDate",
            "Give a date such as 2027-03-01 or a date and time such as 2027-03-01T09:30:00Z",
        ),
        ("create_promotion", PROMOTION | {"name": ""}, "name", "Required"),
        (
            "create_promotion",
            PROMOTION | {"description": "x" * 2001},
            "description",
            "Use at most 2000 characters",
        ),
    ],
)
def test_validator_errors_become_plain_messages(action_type, raw, field, expected):
    errors = field_errors(REGISTRY[action_type], raw)
    assert errors.get(field) == expected, errors


@pytest.mark.parametrize(
    ("action_type", "base"),
    [("create_user", USER), ("create_account", ACCOUNT), ("create_promotion", PROMOTION)],
)
@pytest.mark.parametrize("bad", ["", "x" * 3000, 12, True, None, [], {}, "2027-99-99", "-1"])
def test_no_message_shows_validator_wording(action_type, base, bad):
    for field in base:
        try:
            errors = field_errors(REGISTRY[action_type], base | {field: bad})
        except AssertionError:
            continue  # this value is valid for this field
        for message in errors.values():
            assert not VALIDATOR_WORDS.search(message), f"{field}={bad!r}: {message}"


def test_a_form_with_no_role_ticked_asks_for_one_instead_of_defaulting():
    form = FormMultiDict([("actionType", "create_user"), ("username", "ana"), ("fullName", "Ana")])
    raw = payload_from_form(REGISTRY["create_user"], form)
    assert raw["roles"] == []
    assert field_errors(REGISTRY["create_user"], raw | {"email": "ana@example.com"}) == {
        "roles": "Choose at least one role"
    }
