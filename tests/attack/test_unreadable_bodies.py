"""A body that cannot be read at all (not JSON, NaN, a lone surrogate, not UTF-8, nested too deeply) is
refused with 400 and details naming the body, like every other refusal of bad input; found by the
payload fuzzing (test_payload_fuzz), which gave these a 400 without any details."""

import pytest

from tests.factories import Actor

pytestmark = pytest.mark.anyio

UNREADABLE = {
    "not JSON": b"{not json",
    "cut short": b'{"actionType": "create_user",',
    "NaN": b'{"actionType": "create_promotion", "payload": {"discountValue": NaN}}',
    "Infinity": b'{"actionType": "create_promotion", "payload": {"discountValue": Infinity}}',
    "lone surrogate": b'{"actionType": "create_user", "payload": {"fullName": "\\ud800"}}',
    "not UTF-8": b'{"actionType": "create_user", "payload": {"fullName": "\xff\xfe"}}',
    "nested too deeply": b'{"actionType": "create_user", "payload": {"fullName": '
    + b"[" * 5000
    + b"]" * 5000
    + b"}}",
}


@pytest.mark.parametrize("content", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_an_unreadable_submission_is_refused_with_details_naming_the_body(
    client, maker: Actor, content
):
    headers = maker.headers | {"Content-Type": "application/json"}
    response = await client.post("/api/workflow/actions", content=content, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["error"]
    assert [detail["field"] for detail in body.get("details", [])] == ["body"], body
    assert body["details"][0]["message"]


@pytest.mark.parametrize("content", [b'{"status": "approved", "reviewComment": NaN}', b"\xff"])
async def test_an_unreadable_review_is_refused_with_details_naming_the_body(client, checker: Actor, content):
    headers = checker.headers | {"Content-Type": "application/json"}
    action_id = "7d0b9a58-3c1e-4a57-9f0c-2f5f0e1b2c3d"
    response = await client.post(
        f"/api/workflow/actions/{action_id}/review", content=content, headers=headers
    )
    assert response.status_code == 400
    assert [detail["field"] for detail in response.json().get("details", [])] == ["body"]
