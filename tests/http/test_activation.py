"""A user created under dual control sets their password through the one-time activation link."""

from urllib.parse import urlsplit

import pytest

from app.settings import get_settings
from tests.factories import activation_link, submit, user_payload
from tests.http.conftest import CSRF_COOKIE, SESSION_COOKIE, csrf_from_page, execute, fetch

pytestmark = pytest.mark.anyio

GOOD = "a long enough passphrase"


@pytest.fixture
async def activation_path(client, maker, checker) -> str:
    action = await submit(
        client,
        maker,
        "create_user",
        user_payload(username="new.starter", email="new.starter@example.com", roles=["checker"]),
    )
    response = await client.post(
        f"/api/workflow/actions/{action['id']}/review", json={"status": "approved"}, headers=checker.headers
    )
    assert response.status_code == 200, response.text
    assert "activationUrl" not in response.json()["data"]["executionResult"]  # not for the checker
    url = activation_link("new.starter@example.com")
    path = urlsplit(url).path
    assert path.startswith("/activate/")
    return path


async def _form(client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_from_page(page.text)


async def test_activation_link_sets_the_password_once(client, db, login, activation_path):
    page = await client.get(activation_path)
    assert page.status_code == 200
    assert f'action="{activation_path}"' in page.text
    assert 'name="password"' in page.text and 'name="confirm"' in page.text
    token = csrf_from_page(page.text)

    short = await client.post(
        activation_path, data={"password": "short", "confirm": "short", "_csrf_token": token}
    )
    assert short.status_code == 422
    assert 'id="password-error" class="error">Use at least 12 characters' in short.text
    assert 'aria-invalid="true"' in short.text

    done = await client.post(activation_path, data={"password": GOOD, "confirm": GOOD, "_csrf_token": token})
    assert done.status_code == 200, done.text
    assert "new.starter" in done.text
    assert "Account activated" in done.text

    assert (await login("new.starter", GOOD)).status_code == 303
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200

    spent = await client.get(activation_path)
    assert spent.status_code == 404
    assert "not valid" in spent.text
    # the token from before login is bound to the anonymous visit: take the one login issued
    fresh = client.cookies.get(CSRF_COOKIE)
    again = await client.post(activation_path, data={"password": GOOD, "confirm": GOOD, "_csrf_token": fresh})
    assert again.status_code == 404

    events = await fetch(db, "SELECT count(*) FROM audit_events WHERE event_type = 'account_activated'")
    assert events[0][0] == 1


async def test_passwords_that_differ_are_refused_inline(client, login, activation_path):
    token = await _form(client, activation_path)
    response = await client.post(
        activation_path, data={"password": GOOD, "confirm": GOOD + "!", "_csrf_token": token}
    )
    assert response.status_code == 422
    assert 'id="confirm-error"' in response.text
    # the link is not spent by a failed attempt, and no password was set
    assert (await client.get(activation_path)).status_code == 200
    assert (await login("new.starter", GOOD)).status_code == 401


async def test_before_activation_the_new_user_cannot_log_in(client, login, activation_path):
    assert (await login("new.starter", "")).status_code == 401
    assert (await login("new.starter", GOOD)).status_code == 401
    assert not client.cookies.get(SESSION_COOKIE)


async def test_activation_needs_the_csrf_token(client, activation_path):
    await client.get(activation_path)
    response = await client.post(activation_path, data={"password": GOOD, "confirm": GOOD})
    assert response.status_code == 403
    assert (await client.get(activation_path)).status_code == 200


async def test_a_wrong_or_expired_link_is_a_404(client, db, activation_path):
    wrong = await client.get(activation_path + "x")
    assert wrong.status_code == 404
    assert "<html" in wrong.text
    await execute(db, "UPDATE activation_tokens SET expires_at = now() - interval '1 second'")
    assert (await client.get(activation_path)).status_code == 404


async def test_the_link_token_is_not_stored_in_clear(client, db, activation_path):
    token = activation_path.rsplit("/", 1)[1]
    rows = await fetch(db, "SELECT token_hash FROM activation_tokens")
    assert len(rows) == 1 and token not in rows[0][0]
    stored = await fetch(db, "SELECT execution_result::text FROM workflow_actions")
    assert token not in stored[0][0]


@pytest.mark.parametrize("public_url", [None, "https://checker.example.com/"])
async def test_activation_links_come_from_the_settings_never_the_request_host(
    client, maker, checker, monkeypatch, public_url
):
    if public_url:
        monkeypatch.setenv("PUBLIC_URL", public_url)
    monkeypatch.setenv("HOST", "0.0.0.0")
    monkeypatch.setenv("PORT", "8123")
    get_settings.cache_clear()
    action = await submit(client, maker, "create_user", user_payload(email="host.check@example.com"))
    response = await client.post(
        f"/api/workflow/actions/{action['id']}/review",
        json={"status": "approved"},
        headers=checker.headers | {"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200, response.text
    expected = "https://checker.example.com" if public_url else "http://localhost:8123"
    assert activation_link("host.check@example.com").startswith(expected + "/activate/")
