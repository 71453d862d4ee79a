"""Hostile input and framing: bad review comments, NUL usernames, undecodable bodies, forged
Authorization headers, and the security headers every response carries."""

import re

import pytest

from app.accounts.login import LOGIN_FAILED_MESSAGE
from tests.factories import issue_activation, make_actor, promotion_payload, submit
from tests.http.conftest import (
    CSRF_COOKIE,
    HX,
    PASSWORD,
    SESSION_COOKIE,
    csrf_from_page,
    csrf_headers,
    fetch,
    row_html,
)

pytestmark = pytest.mark.anyio


async def _status(db, action_id: str) -> str:
    rows = await fetch(db, "SELECT status FROM workflow_actions WHERE id = :id", id=action_id)
    return rows[0][0]


async def _count(db, table: str) -> int:
    return (await fetch(db, f"SELECT count(*) FROM {table}"))[0][0]


@pytest.fixture
async def pending(client, maker) -> dict:
    return await submit(client, maker, "create_promotion", promotion_payload())


@pytest.fixture
async def checker_session(client, login, person):
    bob = await person("checker")
    assert (await login(bob.user.username)).status_code == 303
    return bob


# --- the UI review form is checked like the API's ---------------------------------------------


async def test_ui_review_with_a_too_long_comment_is_refused_in_the_row(client, db, pending, checker_session):
    response = await client.post(
        f"/actions/{pending['id']}/review",
        data={"decision": "approved", "comment": "x" * 2001},
        headers={**csrf_headers(client), **HX},
    )
    assert response.status_code == 422, response.text
    assert "<html" not in response.text
    row = row_html(response.text, pending["id"])
    assert row, response.text
    assert re.search(r'<p class="error" role="alert"[^>]*>The comment is not valid', row)
    assert "at most 2000 characters" in row
    # the row still offers the decision, with the typed comment kept (cut to the limit)
    assert 'name="decision" value="approved"' in row
    assert 'value="' + "x" * 2000 + '"' in row
    assert "x" * 2001 not in row
    assert await _status(db, pending["id"]) == "pending"
    assert await _count(db, "action_reviews") == 0


async def test_ui_review_with_a_comment_of_exactly_2000_characters_is_accepted(
    client, db, pending, checker_session
):
    response = await client.post(
        f"/actions/{pending['id']}/review",
        data={"decision": "rejected", "comment": "y" * 2000},
        headers={**csrf_headers(client), **HX},
    )
    assert response.status_code == 200, response.text
    assert await _status(db, pending["id"]) == "rejected"


@pytest.mark.parametrize("decision", ["approved", "rejected"])
async def test_ui_review_with_a_nul_in_the_comment_is_a_422_not_a_500(
    client, db, pending, checker_session, decision
):
    response = await client.post(
        f"/actions/{pending['id']}/review",
        data={"decision": decision, "comment": "looks\x00fine"},
        headers={**csrf_headers(client), **HX},
    )
    assert response.status_code == 422, response.text
    row = row_html(response.text, pending["id"])
    assert re.search(
        r'<p class="error" role="alert"[^>]*>The comment is not valid: Must not contain NUL characters', row
    )
    assert await _status(db, pending["id"]) == "pending"
    assert await _count(db, "action_reviews") == 0
    # the refusal left the session usable: a clean decision still goes through
    fine = await client.post(
        f"/actions/{pending['id']}/review",
        data={"decision": decision, "comment": "looks fine"},
        headers={**csrf_headers(client), **HX},
    )
    assert fine.status_code == 200, fine.text
    assert await _status(db, pending["id"]) == decision


# --- NUL in a login username -----------------------------------------------------------------------


async def test_login_with_a_nul_in_the_username_is_a_401_page_not_a_500(client, db, login, person):
    ana = await person("maker")
    response = await login(ana.user.username + "\x00", PASSWORD)
    assert response.status_code == 401, response.text
    assert "<html" in response.text
    assert LOGIN_FAILED_MESSAGE in response.text
    assert not client.cookies.get(SESSION_COOKIE)
    rows = await fetch(db, "SELECT actor_id FROM audit_events WHERE event_type = 'login_failed'")
    assert rows == [(None,)]  # audited as a failure of an unknown user; nobody's count moved
    assert (await fetch(db, "SELECT failed_logins FROM users WHERE id = :id", id=ana.user.id)) == [(0,)]


# --- bodies that are not UTF-8 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00",
        b'{"actionType": "create_promotion", "payload": {"name": "caf\xe9"}}',
    ],
    ids=["garbage", "latin1-inside-json"],
)
async def test_api_body_that_is_not_utf8_is_a_400_envelope(client, db, maker, body):
    response = await client.post(
        "/api/workflow/actions",
        content=body,
        headers={**maker.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    envelope = response.json()
    assert envelope["success"] is False
    assert envelope["error"]
    assert await _count(db, "workflow_actions") == 0


# --- an Authorization header does not switch off CSRF unless its token is valid --------------------


async def test_invalid_bearer_with_a_session_cookie_cannot_post_a_form_without_csrf(
    client, db, login, person
):
    ana = await person("maker")
    assert (await login(ana.user.username)).status_code == 303
    assert client.cookies.get(SESSION_COOKIE)
    payload = promotion_payload()
    payload.pop("description")
    response = await client.post(
        "/actions/new",
        data={"actionType": "create_promotion", **payload},
        headers={"Authorization": "Bearer invalid"},
        follow_redirects=False,
    )
    assert not 200 <= response.status_code < 300, response.text
    # judged by the bad token alone: not authenticated, so sent to log in (a page's 401)
    assert response.status_code in (303, 401, 403)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")
    assert await _count(db, "workflow_actions") == 0


@pytest.mark.parametrize("authorization", ["Bearer invalid", "Basic Zm9vOmJhcg==", "valid"])
async def test_an_authorization_header_does_not_skip_csrf_on_the_login_form(
    client, db, person, authorization
):
    """/login is outside authentication, so no token is ever accepted there: CSRF must still apply."""
    ana = await person("maker")
    header = f"Bearer {ana.token}" if authorization == "valid" else authorization
    await client.get("/login")
    assert client.cookies.get(CSRF_COOKIE)
    response = await client.post(
        "/login",
        data={"username": ana.user.username, "password": PASSWORD, "next": "/"},
        headers={"Authorization": header},
        follow_redirects=False,
    )
    assert response.status_code == 403, response.text
    assert not client.cookies.get(SESSION_COOKIE)
    assert await fetch(db, "SELECT 1 FROM audit_events WHERE event_type LIKE 'login_%'") == []


async def test_an_authorization_header_does_not_skip_csrf_on_activation(client, db, maker):
    newcomer = await make_actor(db, "checker")
    raw = await issue_activation(db, newcomer.user)
    path = f"/activate/{raw}"
    page = await client.get(path)
    assert page.status_code == 200
    csrf_from_page(page.text)
    good = "a long enough passphrase"
    for header in ["Bearer invalid", f"Bearer {maker.token}"]:
        response = await client.post(
            path, data={"password": good, "confirm": good}, headers={"Authorization": header}
        )
        assert response.status_code == 403, response.text
    assert (await client.get(path)).status_code == 200  # the link is not spent
    assert await fetch(db, "SELECT 1 FROM audit_events WHERE event_type = 'account_activated'") == []
    assert await fetch(db, "SELECT password_hash FROM users WHERE id = :id", id=newcomer.user.id) == [(None,)]


# --- security headers on every response ------------------------------------------------------------


def assert_security_headers(response, *, schema_page: bool = False) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where
    policy = headers.get("content-security-policy")
    assert policy, f"no CSP on {where}"
    directives = [part.strip() for part in policy.split(";")]
    assert "script-src 'self'" in directives, where
    assert "frame-ancestors 'none'" in directives, where
    # the OpenAPI viewers inject their own styles; no page may run inline or eval'd script
    inline_allowed = [d for d in directives if "unsafe-inline" in d or "unsafe-eval" in d]
    assert inline_allowed == (["style-src 'self' 'unsafe-inline'"] if schema_page else []), where


async def test_public_responses_carry_the_security_headers(client):
    login_page = await client.get("/login")
    assert login_page.status_code == 200
    assert_security_headers(login_page)

    redirect = await client.get("/queue", follow_redirects=False)
    assert redirect.status_code == 303
    assert redirect.headers["location"].startswith("/login")
    assert_security_headers(redirect)

    htmx_redirect = await client.get("/queue", headers=HX, follow_redirects=False)
    assert htmx_redirect.headers.get("hx-redirect", "").startswith("/login")
    assert_security_headers(htmx_redirect)

    static = await client.get("/static/css/app.css")
    assert static.status_code == 200
    assert static.headers["content-type"].startswith("text/css")
    assert_security_headers(static)

    api_401 = await client.get("/api/workflow/actions")
    assert api_401.status_code == 401
    assert api_401.json()["success"] is False
    assert_security_headers(api_401)

    health = await client.get("/health")
    assert health.status_code == 200
    assert_security_headers(health)

    no_csrf = await client.post("/login", data={"username": "x", "password": "y"})
    assert no_csrf.status_code == 403
    assert_security_headers(no_csrf)

    missing_link = await client.get("/activate/no-such-token")
    assert missing_link.status_code == 404
    assert_security_headers(missing_link)


async def test_signed_in_pages_and_errors_carry_the_security_headers(client, db, login, person, maker):
    bob = await person("checker")
    assert (await login(bob.user.username)).status_code == 303
    for path in ["/queue", "/history"]:
        page = await client.get(path)
        assert page.status_code == 200
        assert_security_headers(page)
        fragment = await client.get(path, headers=HX)
        assert fragment.status_code == 200
        assert_security_headers(fragment)

    not_found = await client.get("/no-such-page")
    assert not_found.status_code == 404
    assert "<html" in not_found.text
    assert_security_headers(not_found)

    no_action = await client.get("/actions/not-an-id")
    assert no_action.status_code == 404
    assert_security_headers(no_action)

    refused = await client.post(
        "/actions/new", data={"actionType": "create_promotion"}, headers=csrf_headers(client)
    )
    assert refused.status_code == 403  # a checker is no maker
    assert_security_headers(refused)

    undecodable = await client.post(
        "/api/workflow/actions",
        content=b"\xff",
        headers={**maker.headers, "Content-Type": "application/json"},
    )
    assert undecodable.status_code == 400
    assert_security_headers(undecodable)


async def test_schema_pages_get_the_headers_and_a_policy_fitted_to_them(client):
    """The OpenAPI viewers load their scripts from static/vendor; only their styles need an allowance."""
    for path in ["/schema", "/schema/swagger"]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response, schema_page=True)
    spec = await client.get("/schema/openapi.json")
    assert spec.status_code == 200
    assert_security_headers(spec, schema_page=True)
