import pytest

from app.settings import get_settings
from tests.factories import activation_link, submit, user_payload

pytestmark = pytest.mark.anyio


async def test_health_answers_without_authentication(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_maker_submits_and_checker_approves(client, maker, checker):
    action = await submit(
        client, maker, "create_user", user_payload(username="smoke1", email="smoke1@example.com")
    )
    response = await client.post(
        f"/api/workflow/actions/{action['id']}/review", json={"status": "approved"}, headers=checker.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"]["action"]["status"] == "approved"
    assert body["data"]["executionResult"]["activationSentTo"] == "smoke1@example.com"
    assert activation_link("smoke1@example.com").startswith(get_settings().public_base_url + "/activate/")
