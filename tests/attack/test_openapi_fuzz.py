"""schemathesis against the served OpenAPI description: no 5xx, and every answer matches the schema.

It runs over real HTTP against a server process, authenticated with the bearer token of a user who is
both maker and checker, so that it gets past authentication on every documented route; some of the
generated requests name actions that exist, so that reads and reviews reach real rows. Both kinds of
data are generated: schema-valid ("positive") and schema-breaking ("negative", which must get a 4xx).
"""

from typing import Any

import httpx
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
    "GET /api/workflow/actions",
    "POST /api/workflow/actions",
    "GET /api/workflow/actions/{action_id}",
    "POST /api/workflow/actions/{action_id}/review",
]
"""Every operation the schema documents (test_every_documented_operation_is_fuzzed holds the two together).

schemathesis's own pytest loader (from_fixture) does not run under pytest 9, hence one test per label.
"""
WITHOUT_INPUT = {"GET /health"}
"""Operations that take no parameters or body, so that no schema-breaking request exists for them."""
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
CASES = [
    pytest.param(label, mode, id=f"{label} {mode.value}")
    for label in OPERATIONS
    for mode in MODES
    if mode is schemathesis.GenerationMode.POSITIVE or label not in WITHOUT_INPUT
]
NOT_CHECKED = [positive_data_acceptance]
"""A schema-valid request may still be refused with 400: a payload's rules depend on its actionType and on
current data (a username already taken, an end date before the start), which a JSON schema cannot say.
The refusal must still be a documented 4xx with the documented envelope, which the other checks hold."""


@pytest.fixture(scope="module")
def fuzzer(database_url: str) -> Actor:
    return actor_now(database_url, "maker", "checker")


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
