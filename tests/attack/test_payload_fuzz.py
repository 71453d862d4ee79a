"""Generated payloads for every registered action type, through the API: each is either accepted (and
then valid by the type's own rules, and its approval executes it or is refused with 409) or refused
with 400 and per-field details, each one the type's model gives. Never a 500.

The values start from each type's own `sample`, so a new type is covered once it is registered:
near-valid ones (the sample's text with characters added around it, case changed, blanks, NUL,
unicode), and junk (wrong types, huge strings, lone surrogates, nested objects, NaN). It runs over
HTTP against a server process, as hypothesis drives synchronous tests.
"""

import json
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.actions import REGISTRY
from app.actions.base import ActionType, InvalidPayload
from tests.attack.conftest import actor_now
from tests.factories import Actor
from tests.servers import AppServer

EXAMPLES_PER_TYPE = 100
SUBMIT = "/api/workflow/actions"

# --- the values -------------------------------------------------------------------------------------

ODD_CHARACTERS = st.sampled_from(
    [
        " ",
        "\t",
        "\n",
        "\x00",
        ".",
        "@",
        "<",
        ">",
        '"',
        "'",
        "-",
        "_",
        "é",
        "ß",
        "İ",
        "\u200b",
        "\u202e",
        "😀",
        "\ufeff",
    ]
)
NEAR_CHARACTERS = st.one_of(st.characters(codec="ascii", categories=["L", "N"]), ODD_CHARACTERS)

JUNK_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
NOT_JSON = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),  # lone surrogates
)
"""Values json.dumps writes but JSON does not allow: the whole body is unreadable then."""
JUNK = st.one_of(
    JUNK_LEAVES,
    # huge strings: far past every field's limit, while the body stays under the API's body limit
    st.integers(min_value=1_000, max_value=8_000).map(lambda n: "x" * n),
    st.recursive(
        JUNK_LEAVES,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    ),
)


def _near_text(sample: str) -> st.SearchStrategy[str]:
    """The sample's text with a little added around it, its case changed, or blanked: mostly still valid."""
    affix = st.text(NEAR_CHARACTERS, max_size=4)
    return st.one_of(
        st.tuples(affix, affix).map(lambda ends: f"{ends[0]}{sample}{ends[1]}"),
        st.sampled_from([sample.upper(), sample.lower(), sample.title(), f"  {sample}  ", "", "   "]),
        st.tuples(st.integers(0, len(sample)), ODD_CHARACTERS).map(
            lambda cut: sample[: cut[0]] + cut[1] + sample[cut[0] :]
        ),
        st.integers(0, len(sample)).map(lambda cut: sample[:cut] + "\x00" + sample[cut:]),
        st.integers(1, 500).map(lambda n: sample * n),
    )


def _same_shape(sample: str) -> st.SearchStrategy[str]:
    """The sample with a few ASCII letters and digits replaced by others of their kind (a digit by a digit,
    a capital by a capital): often as valid as the sample, and new, so that unique fields do not clash."""
    positions = [i for i, c in enumerate(sample) if c.isascii() and c.isalnum()]
    if not positions or _is_date(sample):  # a date changed so is seldom a date, or not after the start
        return st.just(sample)
    change = st.tuples(st.sampled_from(positions), st.integers(0, 25))
    return st.lists(change, min_size=1, max_size=4).map(lambda c: _replaced(sample, c))


def _replaced(sample: str, changes: list[tuple[int, int]]) -> str:
    characters = list(sample)
    for position, n in changes:
        old = characters[position]
        base = "0" if old.isdigit() else "A" if old.isupper() else "a"
        characters[position] = chr(ord(base) + n % (10 if old.isdigit() else 26))
    return "".join(characters)


def _well_typed(sample: Any, user_ids: list[str]) -> st.SearchStrategy[Any]:
    """A value of the sample's shape: the sample itself or a variant of it; an id is an existing user's."""
    if isinstance(sample, str):
        return st.sampled_from(user_ids) if _is_uuid(sample) else _same_shape(sample)
    if isinstance(sample, list):
        return st.lists(st.sampled_from(sample), min_size=1, max_size=3) if sample else st.just(sample)
    return st.just(sample)


def _near_value(sample: Any, user_ids: list[str]) -> st.SearchStrategy[Any]:
    if isinstance(sample, str):
        if _is_uuid(sample):  # an id: one that exists, one that does not, or one mangled
            return st.one_of(st.sampled_from(user_ids), st.uuids().map(str), _near_text(sample))
        if _is_number(sample):
            numbers = st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, places=3)
            return st.one_of(numbers.map(str), numbers.map(float), st.integers(), _near_text(sample))
        return _near_text(sample)
    if isinstance(sample, list):
        items = [_near_value(item, user_ids) for item in sample] or [JUNK]
        return st.lists(st.one_of(st.sampled_from(sample or [None]), *items), max_size=4)
    return st.just(sample)


def _choices_by_field(kind: ActionType) -> dict[str, list[str]]:
    """The allowed values of the payload's enum fields, by their JSON name."""
    return {
        info.alias or name: [member.value for member in info.annotation]
        for name, info in kind.payload_model.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, Enum)
    }


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _odd_value(draw: st.DrawFn, sample: Any, user_ids: list[str]) -> Any:
    """A near-valid value (mostly), junk, or a value JSON cannot carry."""
    chosen = draw(st.integers(0, 9))
    if chosen == 0:
        return draw(NOT_JSON)
    if chosen == 1 and isinstance(sample, str):
        return sample + "\x00"  # PostgreSQL cannot store NUL: it must be refused at the edge
    return draw(JUNK if chosen <= 3 else _near_value(sample, user_ids))


@st.composite
def payloads(draw: st.DrawFn, kind: ActionType, user_ids: list[str]) -> Any:
    """A payload for this type: well-typed; or so but for one field (odd, left out, or one added);
    or odd throughout; or not even an object."""
    shape = draw(st.integers(0, 19))
    if shape == 19:
        return draw(JUNK)
    choices = _choices_by_field(kind)
    payload = {
        field: draw(st.sampled_from(choices[field]) if field in choices else _well_typed(sample, user_ids))
        for field, sample in kind.sample.items()
    }
    if shape < 8:  # well-typed throughout: most are accepted
        return payload
    if shape < 17:  # one field odd, so that the answer must name that field alone
        field = draw(st.sampled_from([*kind.sample, None]))
        if field is None:
            payload[draw(st.text(max_size=12))] = draw(JUNK)
        elif draw(st.integers(0, 9)) == 0:
            del payload[field]
        else:
            payload[field] = _odd_value(draw, kind.sample[field], user_ids)
        return payload
    return {  # odd throughout, some fields left out
        field: _odd_value(draw, sample, user_ids)
        for field, sample in kind.sample.items()
        if draw(st.integers(0, 9)) > 0
    }


# --- the oracle -------------------------------------------------------------------------------------


def _model_verdict(kind: ActionType, payload: Any) -> dict[str, str] | None:
    """The per-field errors the type's model gives for the payload, or None when it accepts it."""
    try:
        kind.parse(payload)
    except (ValidationError, InvalidPayload) as exc:
        return kind.errors_of(exc)
    return None


def _is_json(text: str) -> bool:
    """Whether text is JSON as the standard has it: no NaN or Infinity, no lone surrogate."""
    try:
        value = json.loads(text, parse_constant=_refuse)
        json.dumps(value, ensure_ascii=False).encode()
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def _refuse(constant: str) -> Any:
    raise ValueError(constant)


def _payload_fields(kind: ActionType) -> set[str]:
    return {info.alias or name for name, info in kind.payload_model.model_fields.items()}


def _assert_refusal_names_fields(body: dict[str, Any]) -> dict[str, str]:
    assert body["success"] is False and body["error"], body
    details = body.get("details")
    assert isinstance(details, list) and details, f"a 400 without per-field details: {body}"
    for detail in details:
        assert detail["field"] and detail["message"], body
    return {detail["field"]: detail["message"] for detail in details}


def _submit_and_judge(
    http: httpx.Client, kind: ActionType, payload: Any, maker: Actor, checker: Actor
) -> None:
    # sent as written (json.dumps lets NaN and lone surrogates through, as a careless client would)
    body = json.dumps({"actionType": kind.name, "payload": payload})
    headers = maker.headers | {"Content-Type": "application/json"}
    response = http.post(SUBMIT, content=body, headers=headers)
    assert response.status_code in (201, 400, 409), f"{response.status_code}: {response.text[:500]}"
    event(f"submission answered {response.status_code}")
    if not _is_json(body):
        assert response.status_code == 400
        assert set(_assert_refusal_names_fields(response.json())) == {"body"}
        return
    verdict = _model_verdict(kind, payload) if isinstance(payload, dict) else {"payload": "Give an object"}
    if response.status_code == 409:
        # a valid payload whose key (a username, a code) an earlier example's pending request holds
        answer = response.json()
        assert verdict is None and "pendingActionId" in answer, answer
        assert set(_assert_refusal_names_fields(answer)) <= _payload_fields(kind), answer
        return
    if response.status_code == 400:
        details = _assert_refusal_names_fields(response.json())
        if verdict is not None and isinstance(payload, dict):
            # all of it, or (should the API cut a long list short) a part, never anything else
            assert details.items() <= verdict.items(), f"the API reports {details}, the model {verdict}"
        elif verdict is None:
            # the model accepts it: only current data may refuse it, by the payload's own fields
            assert set(details) <= _payload_fields(kind), details
        return
    assert verdict is None, f"accepted although the type's model refuses it: {verdict}"
    stored = response.json()["data"]["payload"]
    assert stored == kind.parse(payload).to_json(), "the stored payload is the parsed one"
    assert kind.parse(stored).to_json() == stored, "the stored payload is valid by the type's own rules"
    action_id = response.json()["data"]["id"]
    decided = http.post(f"{SUBMIT}/{action_id}/review", json={"status": "approved"}, headers=checker.headers)
    assert decided.status_code in (200, 409), f"{decided.status_code}: {decided.text[:500]}"
    event(f"approval answered {decided.status_code}")


# --- the tests --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maker(database_url: str) -> Actor:
    """Maker and admin: some types are proposed by admins (people administration)."""
    return actor_now(database_url, "maker", "admin")


@pytest.fixture(scope="module")
def subjects(database_url: str) -> list[str]:
    """The users that generated payloads name (never the maker or the checker, whom an approved
    update_user could deactivate)."""
    return [actor_now(database_url, "maker").id for _ in range(2)]


@pytest.fixture(scope="module")
def checker(database_url: str) -> Actor:
    return actor_now(database_url, "checker")


@pytest.fixture(scope="module")
def http(attack_server: AppServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=attack_server.url, timeout=30) as client:
        yield client


FUZZ = settings(
    max_examples=EXAMPLES_PER_TYPE,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.mark.parametrize("type_name", sorted(REGISTRY))
def test_a_generated_payload_is_accepted_and_valid_or_refused_field_by_field(
    type_name: str, http: httpx.Client, maker: Actor, checker: Actor, subjects: list[str]
) -> None:
    kind = REGISTRY[type_name]

    @FUZZ
    @given(payload=payloads(kind, subjects))
    def judged(payload: Any) -> None:
        _submit_and_judge(http, kind, payload, maker, checker)

    judged()


# --- what the fuzzing found, kept as plain cases ------------------------------------------------------


def test_a_key_without_a_name_is_reported_against_the_payload(http: httpx.Client, maker: Actor) -> None:
    # the early refusal of unknown keys named this one "", a detail naming no field
    payload = REGISTRY["create_promotion"].sample | {"": 1}
    response = http.post(
        SUBMIT, json={"actionType": "create_promotion", "payload": payload}, headers=maker.headers
    )
    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "payload", "message": "Unknown field"}]
