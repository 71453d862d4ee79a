"""Issue 8 item 10: the CSRF token is bound to its session and replaced at login, logout expires the
session cookie, and production responses carry Strict-Transport-Security."""

import pytest
from litestar.testing import AsyncTestClient

from app.settings import get_settings
from tests.factories import promotion_payload
from tests.http.conftest import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    csrf_headers,
    fetch,
    use_session_cookie,
)

pytestmark = pytest.mark.anyio


def _body() -> dict:
    return {"actionType": "create_promotion", "payload": promotion_payload()}


def _use_csrf_cookie(client, value: str) -> None:
    """Make the client hold exactly this CSRF cookie, as a browser would after a planted or kept cookie."""
    for cookie in [c for c in client.cookies.jar if c.name == CSRF_COOKIE]:
        client.cookies.delete(CSRF_COOKIE, domain=cookie.domain, path=cookie.path)
    client.cookies.set(CSRF_COOKIE, value, domain="testserver.local")


def _set_cookies(response, name: str) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith(name + "=")]


async def _actions(db) -> int:
    return (await fetch(db, "SELECT count(*) FROM workflow_actions"))[0][0]


async def test_login_issues_a_new_token_and_the_one_from_before_stops_working(client, db, login, person):
    ana = await person("maker")
    await client.get("/login")
    before = client.cookies.get(CSRF_COOKIE)

    response = await login(ana.user.username)

    assert response.status_code == 303
    issued = _set_cookies(response, CSRF_COOKIE)
    assert len(issued) == 1 and before not in issued[0]
    # an attacker who fixed the cookie before login (or kept the page's token) gets nowhere after it
    _use_csrf_cookie(client, before)
    refused = await client.post("/api/workflow/actions", json=_body(), headers={CSRF_HEADER: before})
    assert refused.status_code == 403, refused.text
    assert await _actions(db) == 0
    # and the next page hands out a token that works
    await client.get("/actions/new")
    accepted = await client.post("/api/workflow/actions", json=_body(), headers=csrf_headers(client))
    assert accepted.status_code == 201, accepted.text


async def test_one_sessions_token_does_not_work_for_another_session(client, db, login, person):
    ana, bob = await person("maker"), await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/actions/new")
    anas_session, anas_token = client.cookies.get(SESSION_COOKIE), client.cookies.get(CSRF_COOKIE)
    client.cookies.clear()
    assert (await login(bob.user.username)).status_code == 303
    bobs_session = client.cookies.get(SESSION_COOKIE)
    assert bobs_session != anas_session

    # a valid cookie-and-header pair, but minted for ana's session, sent with bob's
    _use_csrf_cookie(client, anas_token)
    refused = await client.post("/api/workflow/actions", json=_body(), headers={CSRF_HEADER: anas_token})
    assert refused.status_code == 403, refused.text
    assert await _actions(db) == 0
    # with ana's own session the same pair is good
    use_session_cookie(client, anas_session)
    accepted = await client.post("/api/workflow/actions", json=_body(), headers={CSRF_HEADER: anas_token})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["data"]["makerId"] == ana.id


async def test_logout_expires_the_session_cookie(client, login, person):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/")

    response = await client.post("/logout", headers=csrf_headers(client), follow_redirects=False)

    assert response.status_code == 303
    [deletion] = _set_cookies(response, SESSION_COOKIE)
    attributes = [part.strip().lower() for part in deletion.split(";")]
    assert "max-age=0" in attributes, deletion
    assert not any(a.startswith("max-age=") and a != "max-age=0" for a in attributes), deletion
    assert not client.cookies.get(SESSION_COOKIE)


async def _production_app(monkeypatch):
    from app.main import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.setenv("PUBLIC_URL", "https://testserver.local")
    get_settings.cache_clear()
    return create_app()


async def test_production_responses_carry_hsts(db, monkeypatch):
    app = await _production_app(monkeypatch)
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as secure:
        for path in (
            "/login",
            "/health",
            "/static/css/app.css",
            "/queue",
            "/no-such-page",
            "/api/workflow/actions",
        ):
            response = await secure.get(path, follow_redirects=False)
            assert (
                response.headers.get("strict-transport-security") == "max-age=31536000; includeSubDomains"
            ), path


async def test_development_responses_carry_no_hsts(client):
    assert "strict-transport-security" not in (await client.get("/login")).headers


async def test_static_files_leave_the_signed_in_token_alone(client, login, person):
    # the session layer skips static files: a token judged there would look foreign and be replaced,
    # and the page's token would stop matching the cookie (found by the browser tests)
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    await client.get("/actions/new")
    token = client.cookies.get(CSRF_COOKIE)
    static = await client.get("/static/css/app.css")
    assert static.status_code == 200
    assert _set_cookies(static, CSRF_COOKIE) == []
    accepted = await client.post("/api/workflow/actions", json=_body(), headers={CSRF_HEADER: token})
    assert accepted.status_code == 201, accepted.text
