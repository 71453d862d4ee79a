"""schemathesis against the served OpenAPI description: no 5xx, and every answer matches the schema.

It runs over real HTTP against a server process, authenticated with the bearer token of a user who is
both maker and checker, so that it gets past authentication on every documented route; some of the
generated requests name actions that exist, so that reads and reviews reach real rows. Both kinds of
data are generated: schema-valid ("positive") and schema-breaking ("negative", which must get a 4xx).
"""

from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.attack.conftest import actor_now
from tests.factories import Actor, promotion_payload
from tests.servers import AppServer

EXAMPLES_PER_OPERATION = 40
OPERATIONS = [
    "GET /health",
    "GET /ready",
    "GET /api/workflow/actions",
    "GET /api/workflow/actions.csv",
    "POST /api/workflow/actions",
    "GET /api/workflow/actions/{action_id}",
    "POST /api/workflow/actions/{action_id}/review",
    "POST /api/workflow/actions/{action_id}/cancel",
    "POST /api/workflow/actions/{action_id}/resubmit",
    "POST /api/workflow/actions/bulk-review/precheck",
    "POST /api/workflow/actions/bulk-review",
    "GET /api/workflow/action-types",
    "GET /api/workflow/action-types/{name}",
    "GET /api/admin/users",
    "GET /api/admin/outbox",
    "GET /api/account/tokens",
    "POST /api/account/tokens",
    "POST /api/account/tokens/{token_id}/revoke",
    "GET /api/records/accounts",
    "GET /api/records/accounts/{account_id}",
    "GET /api/records/accounts/{account_id}/ledger",
    "GET /api/records/users",
    "GET /api/records/users/{user_id}",
    "GET /api/records/promotions",
    "GET /api/records/promotions/{promotion_id}",
]
"""Every operation the schema documents (test_every_documented_operation_is_fuzzed holds the two together).

schemathesis's own pytest loader (from_fixture) does not run under pytest 9, hence one test per label.
"""
WITHOUT_NEGATIVE = {
    "GET /health",
    "GET /ready",
    "GET /api/workflow/action-types",
    "GET /api/workflow/action-types/{name}",  # any text is a valid name: no negative case exists
    "GET /api/admin/users",
    "GET /api/admin/outbox",
    "GET /api/account/tokens",
    "POST /api/account/tokens/{token_id}/revoke",
}
"""Operations no request can break the schema of: no parameters or body, or only a free-form path part."""
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
CASES = [
    pytest.param(label, mode, id=f"{label} {mode.value}")
    for label in OPERATIONS
    for mode in MODES
    if mode is schemathesis.GenerationMode.POSITIVE or label not in WITHOUT_NEGATIVE
]
NOT_CHECKED = [positive_data_acceptance]
"""A schema-valid request may still be refused with 400: a payload's rules depend on its actionType and on
current data (a username already taken, an end date before the start), which a JSON schema cannot say.
The refusal must still be a documented 4xx with the documented envelope, which the other checks hold."""


@pytest.fixture(scope="module")
def fuzzer(database_url: str) -> Actor:
    return actor_now(database_url, "maker", "checker", "admin")


@pytest.fixture(scope="module")
def existing_action_ids(attack_server: AppServer, database_url: str) -> list[str]:
    """Actions of another maker, so that generated reads and reviews also hit real rows."""
    maker = actor_now(database_url, "maker")
    ids = []
    with httpx.Client(base_url=attack_server.url, headers=maker.headers, timeout=10) as http:
        for _ in range(5):
            body = {"actionType": "create_promotion", "payload": promotion_payload()}
            response = http.post("/api/workflow/actions", json=body)
            assert response.status_code == 201, response.text
            ids.append(response.json()["data"]["id"])
    return ids


@pytest.fixture(scope="module")
def api_schema(attack_server: AppServer) -> Any:
    return schemathesis.openapi.from_url(f"{attack_server.url}/schema/openapi.json")


def test_every_documented_operation_is_fuzzed(api_schema: Any) -> None:
    documented = {result.ok().label for result in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_the_api_answers_as_documented_and_never_with_a_5xx(
    label: str,
    mode: schemathesis.GenerationMode,
    api_schema: Any,
    fuzzer: Actor,
    existing_action_ids: list[str],
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, f"the schema does not document {label}"

    # the token is fixed, not generated: a schema-breaking request must break the request, not its credential
    cases = operation.as_strategy(generation_mode=mode, headers=fuzzer.headers)

    @given(case=cases, pick=st.integers(min_value=0, max_value=9))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answers_as_documented(case: Any, pick: int) -> None:
        # half the time, an action that exists (another maker's, so that the fuzzer may review it)
        positive = mode is schemathesis.GenerationMode.POSITIVE
        if positive and "action_id" in (case.path_parameters or {}) and pick < len(existing_action_ids):
            case.path_parameters["action_id"] = existing_action_ids[pick]
        case.call_and_validate(headers=fuzzer.headers, excluded_checks=NOT_CHECKED)

    answers_as_documented()


# --- what the fuzzing found, kept as plain cases ------------------------------------------------------


def _decided_action(attack_server: AppServer, database_url: str, checker: Actor) -> str:
    maker = actor_now(database_url, "maker")
    with httpx.Client(base_url=attack_server.url, timeout=10) as http:
        body = {"actionType": "create_promotion", "payload": promotion_payload()}
        action_id = http.post("/api/workflow/actions", json=body, headers=maker.headers).json()["data"]["id"]
        decided = http.post(
            f"/api/workflow/actions/{action_id}/review", json={"status": "approved"}, headers=checker.headers
        )
        assert decided.status_code == 200, decided.text
    return action_id


FOUND = {
    # errors were documented as Litestar's {status_code, detail}, and 401/403/404/409 not at all
    "an id that is not a UUID": ("GET /api/workflow/actions/{action_id}", {"path": {"action_id": "x"}}, 400),
    "a payload the type refuses": (
        "POST /api/workflow/actions",
        {"body": {"actionType": "create_user", "payload": {}}},
        400,
    ),
    "an unknown action type": (
        "POST /api/workflow/actions",
        {"body": {"actionType": "x", "payload": {}}},
        400,
    ),
    "a review of a decided action": (
        "POST /api/workflow/actions/{action_id}/review",
        {"decided": True, "body": {"status": "approved"}},
        409,
    ),
    "a filter left empty": ("GET /api/workflow/actions", {"query": {"makerId": "", "status": ""}}, 200),
    # /health was described as needing the bearer token
    "/health without a credential": ("GET /health", {"anonymous": True}, 200),
}


def _documented_query_value(api_schema: Any, label: str, name: str, value: str) -> bool:
    """Whether the description allows this value of this query parameter (formats such as uuid checked)."""
    method, path = label.split(" ", 1)
    parameters = api_schema.raw_schema["paths"][path][method.lower()]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == name and p["in"] == "query")
    # jsonschema_rs comes with schemathesis, which validates with it too
    return jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value)


@pytest.mark.parametrize(("label", "given_", "status"), FOUND.values(), ids=FOUND.keys())
def test_what_the_fuzzing_found_is_answered_as_documented(
    label: str,
    given_: dict[str, Any],
    status: int,
    api_schema: Any,
    fuzzer: Actor,
    attack_server,
    database_url,
) -> None:
    operation = api_schema.find_operation_by_label(label)
    path = given_.get("path", {})
    if given_.get("decided"):
        path = {"action_id": _decided_action(attack_server, database_url, fuzzer)}
    body = given_.get("body", schemathesis.core.NOT_SET)
    if body is not schemathesis.core.NOT_SET:
        case = operation.Case(path_parameters=path, query=given_.get("query"), body=body)
    else:
        case = operation.Case(path_parameters=path, query=given_.get("query"))
    for name, value in (given_.get("query") or {}).items():
        assert _documented_query_value(api_schema, label, name, value), f"{name}={value!r} is not documented"
    headers = {} if given_.get("anonymous") else fuzzer.headers
    response = case.call(headers=headers)
    assert response.status_code == status, response.text
    case.validate_response(response, headers=headers, excluded_checks=NOT_CHECKED)
