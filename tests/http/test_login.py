"""Login, logout, session rotation, throttling and the redirect to /login."""

import os

import pytest
from litestar.testing import AsyncTestClient

from app.accounts.login import LOGIN_FAILED_MESSAGE
from tests.factories import make_actor
from tests.http.conftest import (
    CSRF_COOKIE,
    HX,
    PASSWORD,
    SESSION_COOKIE,
    csrf_from_page,
    csrf_headers,
    execute,
    fetch,
    use_session_cookie,
)

pytestmark = pytest.mark.anyio


def _session_set_cookie(response) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    return cookies[0]


async def test_good_login_redirects_to_next_with_a_protected_session_cookie(client, login, person):
    ana = await person("maker", "checker")
    response = await login(ana.user.username, next_="/history?status=pending")

    assert response.status_code == 303
    assert response.headers["location"] == "/history?status=pending"
    cookie = _session_set_cookie(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert client.cookies.get(SESSION_COOKIE)
    page = await client.get("/history", follow_redirects=False)
    assert page.status_code == 200
    assert ana.user.full_name in page.text  # the nav names who is logged in


async def test_login_with_a_hash_made_by_the_app(client, db, login):
    ana = await make_actor(db, "maker", username="real-hash", password=PASSWORD)
    assert ana.user.password_hash.startswith("$argon2id$")
    assert (await login("real-hash")).status_code == 303
    assert (await login("real-hash", PASSWORD + "x")).status_code == 401


async def test_username_is_not_case_sensitive_at_login(client, login, person):
    ana = await person("maker")
    response = await login(ana.user.username.upper())
    assert response.status_code == 303


@pytest.mark.parametrize("wrong", ["password", "unknown user", "empty password"])
async def test_bad_login_shows_one_generic_message(client, login, person, wrong):
    ana = await person("maker")
    username = "nobody-here" if wrong == "unknown user" else ana.user.username
    password = {"password": "not the password", "empty password": ""}.get(wrong, PASSWORD)

    response = await login(username, password)

    assert response.status_code == 401
    assert "<html" in response.text
    assert 'id="login-error"' in response.text
    assert LOGIN_FAILED_MESSAGE in response.text
    lowered = response.text.lower()
    for telltale in (
        "unknown user",
        "no such user",
        "user not found",
        "incorrect password",
        "wrong password",
    ):
        assert telltale not in lowered
    assert not client.cookies.get(SESSION_COOKIE)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 303


async def test_wrong_password_and_unknown_user_get_the_same_page(client, login, person):
    ana = await person("maker")
    wrong_password = await login(ana.user.username, "not the password")
    unknown_user = await login("nobody-here", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.text.replace(ana.user.username, "X") == unknown_user.text.replace(
        "nobody-here", "X"
    )


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/queue",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
    ],
)
async def test_next_cannot_send_the_user_to_another_site(client, login, person, target):
    ana = await person("maker")
    response = await login(ana.user.username, next_=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_next_with_a_control_character_does_not_become_protocol_relative(client, login, person):
    # browsers drop tab and newline from URLs: "/\t/evil.example" would be followed as "//evil.example"
    ana = await person("maker")
    response = await login(ana.user.username, next_="/\t/evil.example")
    assert response.status_code == 303
    location = response.headers["location"]
    assert not location.replace("\t", "").replace("\n", "").replace("\r", "").startswith("//")


async def test_login_page_keeps_a_safe_next_only(client):
    page = await client.get("/login", params={"next": "//evil.example"})
    assert 'name="next" value="/"' in page.text
    page = await client.get("/login", params={"next": "/queue"})
    assert 'name="next" value="/queue"' in page.text


async def test_login_page_escapes_the_next_parameter(client):
    page = await client.get("/login", params={"next": '/x"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;" in page.text or "&#34;" in page.text


async def test_login_without_csrf_token_is_refused(client, person):
    ana = await person("maker")
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": ana.user.username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert not client.cookies.get(SESSION_COOKIE)


async def test_session_id_changes_at_login_and_the_old_one_stops_working(client, db, login, person):
    ana, bob = await person("maker"), await person("checker")
    assert (await login(ana.user.username)).status_code == 303
    first = client.cookies.get(SESSION_COOKIE)
    assert first

    assert (await login(bob.user.username)).status_code == 303
    second = client.cookies.get(SESSION_COOKIE)
    assert second and second != first

    rows = await fetch(db, "SELECT id FROM sessions")
    assert [row[0] for row in rows] == [second]

    use_session_cookie(client, first)
    response = await client.get("/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_a_session_id_planted_before_login_is_replaced(client, db, login, person):
    ana = await person("maker")
    planted = "f" * 64
    use_session_cookie(client, planted)

    assert (await login(ana.user.username)).status_code == 303

    issued = client.cookies.get(SESSION_COOKIE)
    assert issued and issued != planted
    assert await fetch(db, "SELECT id FROM sessions WHERE id = :id", id=planted) == []
    # whoever planted the id cannot ride the victim's session with it
    use_session_cookie(client, planted)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 303


async def test_five_failures_lock_the_account_for_15_minutes(client, db, login, person):
    ana = await person("maker")
    for _ in range(5):
        response = await login(ana.user.username, "not the password")
        assert response.status_code == 401

    locked = await login(ana.user.username, PASSWORD)
    assert locked.status_code == 401
    assert LOGIN_FAILED_MESSAGE in locked.text
    assert not client.cookies.get(SESSION_COOKIE)

    rows = await fetch(
        db, "SELECT locked_until - now() FROM users WHERE id = :id AND locked_until > now()", id=ana.user.id
    )
    assert rows, "the account is not locked"
    assert 14 * 60 < rows[0][0].total_seconds() <= 15 * 60

    events = await fetch(
        db, "SELECT event_type, details FROM audit_events WHERE actor_id = :id ORDER BY id", id=ana.user.id
    )
    types = [event_type for event_type, _ in events]
    assert types.count("login_failed") == 6
    assert types.count("account_locked") == 1
    assert types.index("account_locked") < len(types) - 1  # locked at the fifth, before the sixth
    assert events[-1][1].get("locked") is True

    await execute(
        db, "UPDATE users SET locked_until = now() - interval '1 second' WHERE id = :id", id=ana.user.id
    )
    response = await login(ana.user.username, PASSWORD)
    assert response.status_code == 303
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200


async def test_failures_of_an_unknown_user_are_audited_without_locking_anyone(client, db, login):
    for _ in range(6):
        assert (await login("nobody-here", "x")).status_code == 401
    rows = await fetch(db, "SELECT count(*) FROM audit_events WHERE event_type = 'login_failed'")
    assert rows[0][0] == 6


async def test_a_success_resets_the_failure_count(client, db, login, person):
    ana = await person("maker")
    for _ in range(4):
        await login(ana.user.username, "not the password")
    assert (await login(ana.user.username)).status_code == 303
    for _ in range(4):
        await login(ana.user.username, "not the password")
    assert (await login(ana.user.username)).status_code == 303


async def test_logout_ends_the_session(client, db, login, person):
    ana = await person("maker")
    await login(ana.user.username)
    session_id = client.cookies.get(SESSION_COOKIE)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200

    response = await client.post("/logout", headers=csrf_headers(client), follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert await fetch(db, "SELECT id FROM sessions WHERE id = :id", id=session_id) == []
    after = await client.get("/queue", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")
    # replaying the old cookie does not help either
    use_session_cookie(client, session_id)
    assert (await client.get("/queue", follow_redirects=False)).status_code == 303


async def test_logout_needs_the_csrf_token(client, login, person):
    ana = await person("maker")
    await login(ana.user.username)
    assert client.cookies.get(CSRF_COOKIE)
    response = await client.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    assert (await client.get("/queue", follow_redirects=False)).status_code == 200


async def test_unauthenticated_page_redirects_to_login_with_next(client):
    response = await client.get("/queue", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/queue"


async def test_unauthenticated_htmx_request_gets_hx_redirect(client):
    response = await client.get("/queue", headers=HX, follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["hx-redirect"] == "/login?next=/queue"
    assert "<html" not in response.text


async def test_unauthenticated_answers_vary_on_hx_request(client):
    # /queue answers a 303 or a 200 with HX-Redirect depending on HX-Request: caches must know that too
    plain = await client.get("/queue", follow_redirects=False)
    htmx = await client.get("/queue", headers=HX, follow_redirects=False)
    assert "HX-Request" in plain.headers.get("vary", "")
    assert "HX-Request" in htmx.headers.get("vary", "")


async def test_unauthenticated_api_call_gets_json_401(client):
    response = await client.get("/api/workflow/actions")
    assert response.status_code == 401
    assert response.json()["success"] is False


async def test_login_page_escapes_the_typed_username(client, login):
    response = await login('"><script>alert(1)</script>', "whatever")
    assert response.status_code == 401
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


async def test_cookies_are_secure_in_production(db, person):
    from app.main import create_app
    from app.settings import get_settings

    saved = {name: os.environ.get(name) for name in ("APP_ENV", "SECRET_KEY", "PUBLIC_URL")}
    os.environ.update(APP_ENV="production", SECRET_KEY="s" * 64, PUBLIC_URL="https://testserver.local")
    get_settings.cache_clear()
    try:
        app = create_app()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()

    ana = await person("maker")
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as secure_client:
        page = await secure_client.get("/login")
        csrf_cookie = next(c for c in page.headers.get_list("set-cookie") if c.startswith(CSRF_COOKIE))
        assert "secure" in [part.strip().lower() for part in csrf_cookie.split(";")]
        response = await secure_client.post(
            "/login",
            data={
                "username": ana.user.username,
                "password": PASSWORD,
                "next": "/",
                "_csrf_token": csrf_from_page(page.text),
            },
            follow_redirects=False,
        )
        assert response.status_code == 303
        attributes = [part.strip().lower() for part in _session_set_cookie(response).split(";")]
        assert {"secure", "httponly", "samesite=lax"} <= set(attributes)
